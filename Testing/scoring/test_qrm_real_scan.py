"""The real QRM Cardiac Calcification Insert scan (Canon, 120 kVp, 3 mm) against its physical truth.

Tolerances and why:
- Volume: the thresholded volume of a 3 mm and 5 mm insert lies between its physical volume and the slab of slices it
  touches, widened by 1 mm of in-plane blur: V_true <= V <= pi (r + 1 mm)^2 x (slices touched x 3 mm). With 3 mm slices
  each touched slice counts whole, so dense inserts measure 2-4x their physical volume: a property of the volume score,
  not a bug.
- Mass: the Agatston-style mass c x V x mean HU uses raw HU (docs/calcium-scoring.md), so every voxel carries the insert
  body's own ~67 HU and the partial-volume voxels above threshold; on this scan that biases mass up by 29-49%. We assert
  -10% <= error <= +60% for large and medium inserts, which would catch a wrong factor, unit or region (those miss by
  2x or more) while admitting the method's known bias.
- Small (1 mm) inserts: partial volume leaves them near zero on every scanner: Agatston < 10.
- Agatston per insert is pinned exactly, so a change in the rules cannot pass unnoticed.
- Integrated-intensity mass (scoring/integrated_mass.py, default settings): pinned per insert (0.01 mg), closer to the
  physical mass than the Agatston-style mass for all six large and medium inserts, and within -10% to +40% of it. The
  issue's targets (10% / 20%) are not met on this scan: its inserts read about 20% more HU excess per mg HA than the
  calibration rod (the central slice of each large insert integrates to ~1.2x its cross-section x density, whatever the
  grown region), so every mass from the rod's factor is ~20% high; on the replica, whose calibration is exact, the
  same code meets the targets (test_integrated_mass.py). The medium inserts also carry ~0.8 mg of noise (1 SD).
- The rod itself: factor and background recover its mass per mm of length within 8% in every plateau slice.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import SimpleITK as sitk

from CoronaryCalciumLib.scoring import qrm
from CoronaryCalciumLib.scoring.calibration import calibrate_auto, calibrate_with_masks, rod_regions
from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.scoring.agatston import ScoringSettings, score
from CoronaryCalciumLib.scoring.qrm_mass import insert_masses, rod_mass_per_length
from support.data import QRM, data_path

PINNED_AGATSTON = {
    "large-800": 401.987072,
    "medium-800": 87.160704,
    "small-800": 6.191744,
    "large-400": 238.382144,
    "medium-400": 69.538048,
    "small-400": 0.0,
    "large-200": 138.599808,
    "medium-200": 22.861824,
    "small-200": 0.0,
}
# (integrated mass mg, its noise SD mg at calcium-free spots of the insert's shape); small-400/200 are seeded
# (no lesion found there)
PINNED_INTEGRATED = {
    "large-800": (93.5662, 1.4052),
    "medium-800": (22.0486, 0.7791),
    "small-800": (1.4299, 0.4089),
    "large-400": (46.3768, 1.4052),
    "medium-400": (11.5871, 0.7791),
    "small-400": (0.4434, 0.4089),
    "large-200": (24.7395, 1.4052),
    "medium-200": (4.5073, 0.7791),
    "small-200": (0.6030, 0.4089),
}


@pytest.fixture(scope="module")
def scan():
    return load_ct(data_path(QRM))


@pytest.fixture(scope="module")
def calibration(scan):
    return calibrate_auto(scan)


@pytest.fixture(scope="module")
def insert_scores(scan, calibration):
    results = {}
    for insert in qrm.locate_inserts(scan):
        region = region_from_array(qrm.insert_region(scan, insert))
        results[insert.name] = (insert, score(scan, region, ScoringSettings(
            calibration_factor=calibration.factor_mg_per_mm3_hu)))
    return results


def test_calibration_factor_is_measured_on_the_rod(calibration):
    # 200 mg HA/cm3 rod against the resin around it; c_HA typically 0.00072-0.00091 mg/(mm3 HU) at 120 kVp
    assert 280 < calibration.rod_hu < 340
    assert 40 < calibration.water_hu < 100
    assert 0.00072 <= calibration.factor_mg_per_mm3_hu <= 0.00091
    assert calibration.factor_mg_per_mm3_hu == pytest.approx(0.2 / (calibration.rod_hu - calibration.water_hu))
    assert calibration.rod.radius_mm == pytest.approx(10, abs=2.5)
    assert len(calibration.rod.slices) >= 2


def test_calibration_with_masks_equals_automatic_on_the_same_regions(scan, calibration):
    rod_mask, water_mask = rod_regions(scan, calibration.rod)
    manual = calibrate_with_masks(scan, rod_mask, water_mask)
    assert manual.factor_mg_per_mm3_hu == pytest.approx(calibration.factor_mg_per_mm3_hu)


def test_nine_inserts_are_located_in_three_density_groups(insert_scores, scan):
    assert set(insert_scores) == set(PINNED_AGATSTON)
    large = {name: item[0] for name, item in insert_scores.items() if name.startswith("large")}
    means = {name: item[1].lesions[0].mean_hu for name, item in insert_scores.items() if name.startswith("large")}
    assert means["large-800"] > means["large-400"] > means["large-200"]
    for insert in large.values():
        assert 20 <= insert.centre_zyx[0] <= 24  # the inserts lie mid-stack, apart from the rod's slices


@pytest.mark.parametrize("name", ["large-800", "medium-800", "large-400", "medium-400", "large-200", "medium-200"])
def test_volume_lies_between_truth_and_the_touched_slab(insert_scores, scan, name):
    insert, result = insert_scores[name]
    slices = {z for lesion in result.lesions for z in range(lesion.first_slice, lesion.last_slice + 1)}
    slab = math.pi * (insert.diameter_mm / 2 + 1.0) ** 2 * len(slices) * scan.metadata.slice_increment_mm
    assert insert.volume_mm3 <= result.volume_mm3 <= slab
    assert len(result.lesions) == 1


@pytest.mark.parametrize("name", ["large-800", "medium-800", "large-400", "medium-400", "large-200", "medium-200"])
def test_mass_agrees_with_physical_truth_within_the_methods_bias(insert_scores, name):
    insert, result = insert_scores[name]
    error = result.mass_mg / insert.mass_mg - 1
    assert -0.10 <= error <= 0.60, "%s: %.1f mg vs %.1f mg" % (name, result.mass_mg, insert.mass_mg)


@pytest.mark.parametrize("name", ["small-800", "small-400", "small-200"])
def test_one_millimetre_inserts_score_about_zero(insert_scores, name):
    assert insert_scores[name][1].agatston < 10


@pytest.mark.parametrize("name", sorted(PINNED_AGATSTON))
def test_agatston_per_insert_is_pinned(insert_scores, name):
    assert insert_scores[name][1].agatston == pytest.approx(PINNED_AGATSTON[name], abs=1e-4)


def _insert_mask(scan, name, folder) -> str:
    """The named insert's region of interest written as NIfTI on the scan's grid; returns its path."""
    insert = next(i for i in qrm.locate_inserts(scan) if i.name == name)
    mask = sitk.GetImageFromArray(qrm.insert_region(scan, insert))
    mask.SetSpacing(scan.geometry.spacing)
    mask.SetOrigin(scan.geometry.origin)
    mask.SetDirection(scan.geometry.direction)
    path = str(folder / ("%s.nii.gz" % name))
    sitk.WriteImage(mask, path)
    return path


def test_calibrate_then_score_through_the_command_line(scan, tmp_path, capsys):
    calibration_json = tmp_path / "calibration.json"
    assert main(["calibrate", QRM, "--json", str(calibration_json)]) == 0
    factor = json.loads(calibration_json.read_text())["factor_mg_per_mm3_hu"]
    out = tmp_path / "score.json"
    assert main(["score", QRM, "--mask", _insert_mask(scan, "large-800", tmp_path),
                 "--calibration", str(calibration_json), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["settings"]["calibration_factor_mg_per_mm3_hu"] == pytest.approx(factor)
    assert result["agatston"] == pytest.approx(PINNED_AGATSTON["large-800"], abs=1e-4)
    assert result["mass_mg"] == pytest.approx(factor * sum(l["volume_mm3"] * l["mean_hu"] for l in result["lesions"]))
    assert "calibration factor c_HA" in capsys.readouterr().out


def test_noise_islands_fill_a_loose_region(scan):
    # the scan's README warns: a large region at 130 HU collects noise; a tight region does not
    loose = np.zeros(scan.array.shape, dtype=np.uint8)
    loose[14:20, 150:300, 200:350] = 1  # insert body without inserts or rod
    result = score(scan, region_from_array(loose))
    assert len(result.lesions) >= 1 and all(lesion.peak_hu < 250 for lesion in result.lesions)


@pytest.fixture(scope="module")
def masses(scan, calibration):
    return {item.name: item for item in insert_masses(scan, calibration.factor_mg_per_mm3_hu)}


@pytest.mark.parametrize("name", sorted(PINNED_INTEGRATED))
def test_integrated_mass_per_insert_is_pinned(masses, name):
    mass, noise = PINNED_INTEGRATED[name]
    assert masses[name].integrated_mass_mg == pytest.approx(mass, abs=0.01)
    assert masses[name].noise_sd_mg == pytest.approx(noise, abs=0.01)
    assert masses[name].seeded == (name in ("small-400", "small-200"))


@pytest.mark.parametrize("name", ["large-800", "medium-800", "large-400", "medium-400", "large-200", "medium-200"])
def test_integrated_mass_is_closer_to_the_physical_mass_than_the_agatston_mass(masses, name):
    item = masses[name]
    message = "%s: integrated %.1f, Agatston-style %.1f, truth %.1f" % (
        name, item.integrated_mass_mg, item.agatston_mass_mg, item.physical_mg)
    assert abs(item.integrated_error) < abs(item.agatston_error), message
    assert -0.10 <= item.integrated_error <= 0.40


def test_the_factor_and_background_recover_the_rods_mass_per_length(scan, calibration):
    check = rod_mass_per_length(scan, calibration)
    assert len(check.measured_mg_per_mm) >= 2
    for measured in check.measured_mg_per_mm:
        assert measured == pytest.approx(check.expected_mg_per_mm, rel=0.08)


def test_the_integrated_mass_reaches_the_json_of_the_command_line(scan, tmp_path):
    out = tmp_path / "score.json"
    assert main(["score", QRM, "--mask", _insert_mask(scan, "medium-800", tmp_path), "--calibration", "0.000831",
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["schema_version"] == 3
    assert result["integrated_mass_mg"] == pytest.approx(sum(l["integrated_mass_mg"] for l in result["lesions"]))
    assert result["per_artery"]["unassigned"]["integrated_mass_mg"] == pytest.approx(result["integrated_mass_mg"])
    assert result["integrated_mass_mg"] == pytest.approx(PINNED_INTEGRATED["medium-800"][0], rel=0.01)
    assert result["settings"]["integrated_mass"]["background_estimator"] == "local"
