"""The image-quality gate: noise in the blood pool, and a category flagged unreliable in every output when it is high."""

from __future__ import annotations

import numpy as np
import pytest

from CoronaryCalciumLib.io.ct import ct_from_array, CTMetadata
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.reporting.html_report import render_report
from CoronaryCalciumLib.reporting.text_summary import format_summary
from CoronaryCalciumLib.result import Assessment
from CoronaryCalciumLib.scoring.agatston import score
from CoronaryCalciumLib.scoring.image_quality import MAX_NOISE_HU, measure, robust_sd


def noisy_case(noise_sd, seed=0):
    """A 3 mm soft-tissue CT with a calcification and a blood pool of known noise."""
    rng = np.random.default_rng(seed)
    array = np.full((6, 60, 60), 40.0, dtype=np.float32)
    array[:, :2, :] = -1000
    array[:, 30:50, 30:50] += rng.normal(0, noise_sd, size=(6, 20, 20))
    array[2, 10:14, 10:14] = 450
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 5:20, 5:20] = 1
    blood = np.zeros(array.shape, dtype=np.uint8)
    blood[:, 30:50, 30:50] = 1
    ct = ct_from_array(array, (0.5, 0.5, 3.0), metadata=CTMetadata(source="synthetic", kvp=120.0,
                                                                    slice_thickness_mm=3.0, slice_increment_mm=3.0))
    return ct, region_from_array(labels, {1: "LAD"}, blood_pool=blood)


def test_the_robust_noise_ignores_a_few_bright_voxels():
    values = np.random.default_rng(1).normal(40, 20, size=20000)
    values[:50] = 900
    assert robust_sd(values) == pytest.approx(20, rel=0.05)


def test_noise_is_measured_in_the_blood_pool_and_a_quiet_scan_is_reliable():
    ct, region = noisy_case(15)
    result = score(ct, region)
    assert result.image_quality.noise_hu == pytest.approx(15, rel=0.1)
    assert result.image_quality.reliable and result.to_dict()["category"]["reliable"] is True


def test_a_noisy_scan_gets_its_category_flagged_unreliable_in_json_text_and_html():
    ct, region = noisy_case(MAX_NOISE_HU * 1.5)
    result = score(ct, region)
    assert not result.image_quality.reliable
    data = result.to_dict()
    assert data["category"]["reliable"] is False and data["image_quality"]["noise_hu"] > MAX_NOISE_HU
    assert any(w.startswith("CATEGORY UNRELIABLE") for w in result.warnings)
    case = Assessment(case_id="noisy", ct=ct.metadata, score=result, ct_volume=ct, region_of_interest=region)
    assert "UNRELIABLE" in format_summary(case)
    assert "category UNRELIABLE" in render_report(case)


def test_without_a_blood_pool_the_noise_is_not_measured_and_says_why():
    quality = measure(np.zeros((2, 4, 4)), None)
    assert quality.noise_hu is None and "no blood-pool" in quality.noise_region and quality.reliable
