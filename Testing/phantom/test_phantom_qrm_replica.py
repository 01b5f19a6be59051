"""The QRM calcification-insert replica: exact calibration truth, inserts where the real scan has them, and the project's
calibration and insert locator working on it as on the real scan."""

from __future__ import annotations

import numpy as np
import pytest

from CoronaryCalciumLib.scoring.calibration import calibrate_auto, calibrate_with_masks
from CoronaryCalciumLib.phantom import generate_qrm_case
from CoronaryCalciumLib.phantom import materials
from CoronaryCalciumLib.scoring.qrm import locate_inserts, physical_truth


@pytest.fixture(scope="module")
def replica():
    return generate_qrm_case(seed=2, matrix=256)


def test_insert_truth_matches_the_manufacturer_table(replica):
    table = physical_truth()
    inserts = {item["location"]: item for item in replica.truth["inserts"]}
    assert len(inserts) == 9
    for name, item in inserts.items():
        density, size = name[2:].split("-")
        expected = table["%s-%s" % (size, density)]
        assert item["volume_mm3"] == pytest.approx(expected["volume_mm3"], rel=1e-3)
        assert item["mass_mg"] == pytest.approx(expected["mass_mg"], rel=1e-3)


def test_calibration_from_the_rod_recovers_the_exact_factor(replica):
    labels = replica.calibration_labels
    exact = materials.CALIBRATION_FACTOR_MG_PER_MM3_HU
    # the rod is HA in the water-equivalent base (as on the real scan): the water rod is the water reference
    clean = calibrate_with_masks(replica.ct_noise_free, labels == 1, labels == 3, 200.0)
    assert clean.factor_mg_per_mm3_hu == pytest.approx(exact, rel=0.005)
    noisy = calibrate_with_masks(replica.ct, labels == 1, labels == 3, 200.0)
    assert noisy.factor_mg_per_mm3_hu == pytest.approx(exact, rel=0.03)
    automatic = calibrate_auto(replica.ct)
    assert automatic.water_reference == "water-equivalent rod" and not automatic.warnings
    assert automatic.factor_mg_per_mm3_hu == pytest.approx(exact, rel=0.03)
    resin = calibrate_with_masks(replica.ct_noise_free, labels == 1, labels == 2, 200.0)
    assert resin.factor_mg_per_mm3_hu == pytest.approx(replica.truth["calibration"]["factor_vs_resin_mg_per_mm3_hu"],
                                                      rel=0.01)
    assert resin.factor_mg_per_mm3_hu > 1.15 * exact


def test_insert_locator_finds_the_replica_inserts(replica):
    found = {item.name: item for item in locate_inserts(replica.ct)}
    geometry = replica.ct.geometry
    for item in replica.truth["inserts"]:
        density, size = item["location"][2:].split("-")
        if size == "small":
            continue  # placed, not found, by the locator
        centre = geometry.index_to_lps(found["%s-%s" % (size, density)].centre_zyx)
        assert np.hypot(centre[0] - item["position_lps_mm"][0], centre[1] - item["position_lps_mm"][1]) < 1.5


def test_small_inserts_vanish_and_large_ones_score(replica):
    reference = replica.truth["reference"]
    large = [reference["HA%d-large" % density]["agatston"] for density in (800, 400, 200)]
    assert large[0] > large[1] > large[2] > 0
    assert reference["HA200-small"]["agatston"] == 0 and reference["HA400-small"]["agatston"] == 0


def test_without_a_water_rod_the_resin_around_the_rod_is_the_reference_and_a_warning_says_so(replica):
    from scipy import ndimage

    from CoronaryCalciumLib.io.ct import ct_from_array

    water_rod = ndimage.binary_dilation(replica.calibration_labels == 3, structure=np.ones((1, 3, 3), dtype=bool),
                                        iterations=6)
    array = replica.ct.array.copy()
    array[water_rod] += 40  # the water-equivalent rod (35 HU) raised to the resin's 75 HU, its noise kept
    geometry = replica.ct.geometry
    ct = ct_from_array(array, geometry.spacing, geometry.origin, geometry.direction)
    calibration = calibrate_auto(ct)
    assert calibration.water_rod is None and calibration.water_reference.startswith("annulus")
    assert any("no water-equivalent rod" in warning for warning in calibration.warnings)
    assert calibration.factor_mg_per_mm3_hu == pytest.approx(
        replica.truth["calibration"]["factor_vs_resin_mg_per_mm3_hu"], rel=0.03)
