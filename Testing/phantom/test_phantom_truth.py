"""The truth JSON is what scoring the noise-free image in the lesion truth masks gives, read back from the written files,
and the physical truth (volume, mass) is conserved by the rendering."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.phantom import generate_case, small_config, write_case
from CoronaryCalciumLib.phantom import materials
from CoronaryCalciumLib.phantom.calcium import CalciumObject, occupancy_integral_mm3, render_object
from CoronaryCalciumLib.phantom.grid import make_grid
from CoronaryCalciumLib.region.mask import load_region
from CoronaryCalciumLib.scoring.agatston import ScoringSettings, score


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    case = generate_case(21, small_config(burden="severe", noise_sd_hu=20.0))
    folder = str(tmp_path_factory.mktemp("phantom"))
    write_case(case, folder, noise_free=True)
    return case, folder


def test_rescoring_written_files_reproduces_truth_json(written):
    case, folder = written
    with open(os.path.join(folder, "truth.json"), encoding="utf-8") as stream:
        truth = json.load(stream)
    reference = truth["reference"]
    assert reference["agatston"] > 100, "a severe case should score well above zero"
    ct = load_ct(os.path.join(folder, "image_noise_free.nii.gz"))
    ct.metadata.kvp = truth["config"]["kvp"]  # NIfTI carries no kVp
    region = load_region(os.path.join(folder, "lesions.nii.gz"), ct)
    result = score(ct, region, ScoringSettings(calibration_factor=materials.CALIBRATION_FACTOR_MG_PER_MM3_HU))
    assert result.agatston == pytest.approx(reference["agatston"], rel=1e-5)
    assert result.volume_mm3 == pytest.approx(reference["volume_mm3"], rel=1e-5)
    assert result.mass_mg == pytest.approx(reference["mass_mg"], rel=1e-5)
    for artery in ("LM", "LAD", "LCX", "RCA"):
        assert result.per_artery[artery].agatston == pytest.approx(reference["per_artery"][artery]["agatston"], abs=1e-3)
    assert truth["label"] == 1
    assert truth["physical"]["coronary_count"] == sum(1 for o in truth["objects"] if o["coronary"])


def test_exact_coronary_mask_scores_like_the_lesion_masks(written):
    """Inside the exact coronary mask nothing but the plaques reaches 130 HU on the noise-free image."""
    case, _folder = written
    by_mask = score(case.ct_noise_free, case.coronary_region(exact=True), ScoringSettings())
    assert by_mask.agatston == pytest.approx(case.truth.reference.agatston, rel=1e-6)


def test_noisy_score_is_close_to_the_reference(written):
    case, _folder = written
    noisy = score(case.ct, case.coronary_region(exact=True), ScoringSettings())
    assert noisy.agatston == pytest.approx(case.truth.reference.agatston, rel=0.35)


def test_truth_lists_every_plaque_with_physical_units(written):
    case, _folder = written
    objects = case.truth.objects
    assert objects and all(o["volume_mm3"] > 0 and o["mass_mg"] > 0 for o in objects)
    for item in objects:
        a, b, c = item["semi_axes_mm"]
        volume = 4.0 / 3.0 * np.pi * a * b * c
        assert item["volume_mm3"] == pytest.approx(volume, rel=5e-3)  # semi-axes are rounded to 1 micrometre
        assert item["mass_mg"] == pytest.approx(volume * item["density_mg_ha_cm3"] / 1000.0, rel=5e-3)
        if item["coronary"]:
            assert item["artery"] in ("LM", "LAD", "LCX", "RCA")
            index = case.grid.geometry.lps_to_index(item["position_lps_mm"])
            z, y, x = (int(round(v)) for v in index)
            assert case.coronary_labels_exact[z, y, x] > 0, "plaque centre outside the coronary mask"


@pytest.mark.parametrize("semi_axes", [(0.3, 0.4, 0.6), (1.0, 1.5, 3.0), (2.5, 2.5, 2.5)])
@pytest.mark.parametrize("thickness, increment", [(3.0, 3.0), (2.5, 1.25), (0.625, 0.5)])
def test_partial_volume_conserves_mass(semi_axes, thickness, increment):
    """Summed occupancy x voxel volume equals the object's volume: partial volume spreads calcium, never loses it."""
    grid = make_grid(128, 64.0, (0.0, 0.0), 20.0, int(40 / increment), increment, thickness)
    axes = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    obj = CalciumObject(1, "coronary", "LAD", np.array([0.3, -0.2, 0.7]), axes, semi_axes, 400.0)
    rendered = render_object(obj, grid, psf_sigma_px=0.8)
    assert occupancy_integral_mm3(rendered, grid) == pytest.approx(obj.volume_mm3, rel=0.02)
    assert rendered.occupancy.max() <= 1.0 + 1e-5
