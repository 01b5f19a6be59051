"""Image statistics of a generated case fall in the ranges of real non-contrast chest and calcium-scoring CT.

Stated ranges (HU; real LUNG1-001 measured for comparison: lung -790 to -860, heart blood 37, fat about -100):
air -1010 to -990, lung -910 to -800, subcutaneous and epicardial fat -115 to -85, blood pool 30 to 50, cortical bone
above 500 and vertebral bodies above 130 (bone that must not be scored), noise SD within 8% of the setting.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from CoronaryCalciumLib.phantom import generate_case, small_config
from CoronaryCalciumLib.phantom import materials as hu

NOISE = 20.0


@pytest.fixture(scope="module")
def case():
    return generate_case(5, small_config(noise_sd_hu=NOISE, burden="mild"))


def _mean_where(case, low, high, erode=1):
    """Mean of the noisy image where the noise-free image lies in [low, high], eroded in plane to avoid edges."""
    region = (case.image_noise_free >= low) & (case.image_noise_free <= high)
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True
    region = ndimage.binary_erosion(region, structure=structure, iterations=erode)
    assert region.sum() > 200, "region [%s, %s] too small" % (low, high)
    return float(case.image[region].mean()), region


def test_air_lung_fat_blood_bone_ranges(case):
    image = case.image_noise_free
    air = image[:, :3, :3]  # corners of the field of view lie outside the body
    assert air.mean() == pytest.approx(hu.AIR, abs=10)
    lung, _ = _mean_where(case, -910, -800, erode=2)
    assert -910 <= lung <= -800
    fat, _ = _mean_where(case, -103, -97, erode=1)
    assert -115 <= fat <= -85
    blood_region = (case.heart_mask > 0) & (np.abs(image - hu.BLOOD) <= 2)
    blood = float(case.image[ndimage.binary_erosion(blood_region, iterations=2)].mean())
    assert 30 <= blood <= 50
    bone = image[image >= 500]
    assert bone.size > 1000, "ribs, sternum and spine should give cortical bone"
    assert (image >= 130).sum() > 5 * max(1, (case.lesion_labels > 0).sum())


def test_noise_sd_and_texture(case):
    noise = case.image.astype(np.float64) - case.image_noise_free
    body = case.image_noise_free > -900
    assert noise[body].std() == pytest.approx(NOISE, rel=0.08)
    # CT noise texture, not white noise: the noise power spectrum of filtered back-projection is low at zero frequency
    # (ramp filter), peaks at mid frequencies and falls towards the Nyquist limit (reconstruction kernel)
    power = np.zeros(case.grid.shape[1:])
    for k in range(case.grid.shape[0]):
        power += np.abs(np.fft.fft2(noise[k])) ** 2
    fy = np.fft.fftfreq(power.shape[0], d=case.grid.pixel_mm)[:, None]
    fx = np.fft.fftfreq(power.shape[1], d=case.grid.pixel_mm)[None, :]
    f = np.hypot(fx, fy)
    nyquist = 0.5 / case.grid.pixel_mm
    low, mid, high = (power[(f > a * nyquist) & (f <= b * nyquist)].mean() for a, b in ((0, 0.1), (0.3, 0.5), (0.9, 1.0)))
    assert mid > 2 * low and mid > 1.3 * high


def test_heart_and_vessels_are_where_anatomy_puts_them(case):
    heart = case.heart_mask > 0
    coronary = case.coronary_labels_exact > 0
    assert heart.sum() > 0 and coronary.sum() > 0
    # coronary arteries run on the heart surface: nearly all inside the pericardial heart outline
    assert (coronary & heart).sum() / coronary.sum() > 0.85
    assert set(np.unique(case.coronary_labels_exact)) == {0, 1, 2, 3, 4}
    # the aorta lies largely outside the heart and holds unenhanced blood
    aorta = case.aorta_mask > 0
    assert abs(float(np.median(case.image_noise_free[aorta])) - hu.BLOOD) < 5
