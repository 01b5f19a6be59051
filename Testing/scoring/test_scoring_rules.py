"""Every scoring rule of docs/calcium-scoring.md at its edge, on synthetic volumes whose scores are known by hand.

Pixels are 0.5 x 0.5 mm (0.25 mm2) unless stated, so 4 pixels are exactly 1 mm2.
"""

from __future__ import annotations

import numpy as np
import pytest

from CoronaryCalciumLib.scoring.categories import cac_drs_grade, categorise, classic_category
from CoronaryCalciumLib.io.ct import CTMetadata, ct_from_array
from CoronaryCalciumLib.errors import ContrastError, InputError, RegionError
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.scoring.agatston import ScoringSettings, score
from CoronaryCalciumLib.scoring.protocol import ProtocolSettings
from support.synthetic import as_ct, blank_ct, full_region

SPACING = (0.5, 0.5, 3.0)


def score_array(array, meta, spacing=SPACING, settings=None, labels=None, names=None):
    ct = as_ct(array, meta, spacing)
    region = full_region(array.shape) if labels is None else region_from_array(labels, names)
    return score(ct, region, settings or ScoringSettings())


@pytest.mark.parametrize("value, expected", [(129, 0.0), (130, 4.0 * 1)])
def test_threshold_is_inclusive_at_130_hu(value, expected):
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = value  # 16 pixels = 4 mm2
    assert score_array(array, meta).agatston == pytest.approx(expected)


@pytest.mark.parametrize("pixels, expected", [(3, 0.0), (4, 1.0 * 3), (5, 1.25 * 3)])
def test_minimum_area_is_one_mm2_inclusive(pixels, expected):
    array, meta = blank_ct()
    array[2, 10, 10:10 + pixels] = 350  # weight 3
    result = score_array(array, meta)
    assert result.agatston == pytest.approx(expected)
    assert len(result.lesions) == (1 if expected else 0)


def test_minimum_area_with_non_square_pixel_area():
    # 0.6 mm pixels: 0.36 mm2 each, 2 pixels = 0.72 mm2 (dropped), 3 pixels = 1.08 mm2 (kept)
    spacing = (0.6, 0.6, 3.0)
    array, meta = blank_ct(spacing=spacing)
    array[1, 10, 10:12] = 450
    array[3, 20, 10:13] = 450
    result = score_array(array, meta, spacing)
    assert result.agatston == pytest.approx(1.08 * 4)
    assert [lesion.first_slice for lesion in result.lesions] == [3]


def test_custom_minimum_area_setting():
    array, meta = blank_ct()
    array[2, 10, 10:13] = 350  # 0.75 mm2
    assert score_array(array, meta, settings=ScoringSettings(min_area_mm2=0.5)).agatston == pytest.approx(0.75 * 3)


@pytest.mark.parametrize("peak, weight", [(199, 1), (200, 2), (299, 2), (300, 3), (399, 3), (400, 4), (1500, 4)])
def test_density_weight_from_peak_hu(peak, weight):
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = 150
    array[2, 11, 11] = peak
    assert score_array(array, meta).agatston == pytest.approx(4.0 * weight)


def test_weight_is_taken_per_slice_from_that_slices_peak():
    array, meta = blank_ct()
    array[1:4, 10:14, 10:14] = 150
    array[1, 11, 11] = 450  # slice 1: weight 4
    array[2, 11, 11] = 250  # slice 2: weight 2; slice 3 stays weight 1
    result = score_array(array, meta)
    assert result.agatston == pytest.approx(4.0 * (4 + 2 + 1))
    assert len(result.lesions) == 1
    lesion = result.lesions[0]
    assert (lesion.first_slice, lesion.last_slice) == (1, 3)
    assert lesion.agatston == pytest.approx(result.agatston)
    assert lesion.peak_hu == 450


@pytest.mark.parametrize("connectivity, expected", [(8, 1.5 * 3), (4, 0.0)])
def test_in_plane_connectivity(connectivity, expected):
    array, meta = blank_ct()
    array[2, 10, 10:13] = 350  # 3 pixels = 0.75 mm2
    array[2, 11, 13:16] = 350  # touches the first only at a corner
    result = score_array(array, meta, settings=ScoringSettings(connectivity=connectivity))
    assert result.agatston == pytest.approx(expected)
    assert result.settings["connectivity_2d"] == connectivity


def test_slices_touching_only_at_a_corner_form_one_3d_lesion():
    array, meta = blank_ct()
    array[1, 10:12, 10:12] = 300
    array[2, 12:14, 12:14] = 300  # diagonal neighbour of slice 1 across the slice boundary
    array[4, 10:12, 10:12] = 300  # not adjacent: a separate lesion
    result = score_array(array, meta)
    assert len(result.lesions) == 2
    assert sorted(lesion.voxel_count for lesion in result.lesions) == [4, 8]
    assert sum(lesion.agatston for lesion in result.lesions) == pytest.approx(result.agatston)


@pytest.mark.parametrize("increment, slices", [(3.0, 1), (1.5, 2), (1.0, 3)])
def test_increment_correction_makes_contiguous_reconstructions_agree(increment, slices):
    spacing = (0.5, 0.5, increment)
    array, meta = blank_ct(shape=(8, 40, 40), spacing=spacing)
    array[2:2 + slices, 10:14, 10:14] = 250  # 4 mm2, weight 2 in each slice
    as_documented = ScoringSettings(protocol=ProtocolSettings(thin_slices="off"))  # the rule itself, no 3 mm slabs
    result = score_array(array, meta, spacing, settings=as_documented)
    assert result.agatston == pytest.approx(8.0)
    assert result.settings["increment_factor"] == pytest.approx(increment / 3.0)
    assert result.volume_mm3 == pytest.approx(16 * slices * 0.25 * increment)


def test_overlapping_reconstruction_is_scaled_by_increment_not_thickness():
    # 3 mm thick slices every 1.5 mm: a calcification seen in 2 overlapping slices counts once
    spacing = (0.5, 0.5, 1.5)
    array, meta = blank_ct(shape=(8, 40, 40), spacing=spacing, thickness=3.0)
    array[3:5, 10:14, 10:14] = 250
    ct = as_ct(array, meta, spacing)
    from CoronaryCalciumLib.io.ct import validate_ct

    validate_ct(ct)
    result = score(ct, full_region(array.shape))
    assert result.agatston == pytest.approx(8.0)
    assert result.settings["slice_thickness_mm"] == 3.0
    assert any("overlapping reconstruction" in warning for warning in result.warnings)


def test_volume_and_mass_formulas():
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = 200
    array[3, 10:14, 10:14] = 400
    factor = 0.0008
    result = score_array(array, meta, settings=ScoringSettings(calibration_factor=factor))
    voxel_volume = 0.25 * 3.0
    assert result.volume_mm3 == pytest.approx(32 * voxel_volume)
    assert result.mass_mg == pytest.approx(factor * 32 * voxel_volume * 300.0)
    lesion = result.lesions[0]
    assert lesion.mean_hu == pytest.approx(300.0)
    assert lesion.mass_mg == pytest.approx(result.mass_mg)


def test_mass_is_absent_without_calibration_and_says_so():
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = 300
    result = score_array(array, meta)
    assert result.mass_mg is None
    assert result.per_artery["unassigned"].mass_mg is None
    assert any("mass not reported" in warning for warning in result.warnings)
    assert result.to_dict()["mass_mg"] is None


def test_artery_attribution_by_majority_and_per_artery_sums():
    array, meta = blank_ct()
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 5:20, 5:20] = 1  # LM
    labels[:, 5:20, 20:35] = 2  # LAD
    labels[:, 25:35, 5:35] = 4  # RCA
    array[2, 10:14, 17:24] = 300  # 3 columns in LM, 4 in LAD: the lesion goes to LAD
    array[3, 28:32, 10:14] = 450  # RCA
    result = score_array(array, meta, labels=labels)
    by_artery = {lesion.artery: lesion for lesion in result.lesions}
    assert set(by_artery) == {"LAD", "RCA"}
    assert result.per_artery["LAD"].agatston == pytest.approx(7 * 4 * 0.25 * 3)
    assert result.per_artery["RCA"].agatston == pytest.approx(4.0 * 4)
    assert result.per_artery["LM"].agatston == 0
    assert sum(entry.agatston for entry in result.per_artery.values()) == pytest.approx(result.agatston)
    assert result.category.cac_drs_vessels == 2
    assert result.category.cac_drs == "CAC-DRS A1/N2"


def test_calcium_outside_the_region_is_not_scored_and_unlabelled_calcium_is_unassigned():
    array, meta = blank_ct()
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 5:20, 5:20] = 7  # a label outside the default artery numbering
    labels[:, 25:35, 5:20] = 3  # LCX
    array[2, 10:14, 10:14] = 300  # in label 7
    array[2, 28:32, 10:14] = 300  # LCX
    array[2, 10:14, 25:30] = 1000  # outside the region
    result = score_array(array, meta, labels=labels)
    assert result.per_artery["unassigned"].lesion_count == 1
    assert result.per_artery["LCX"].lesion_count == 1
    assert result.agatston == pytest.approx(2 * 4.0 * 3)
    assert any("unassigned" in warning for warning in result.warnings)


def test_binary_region_gives_no_vessel_count():
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = 300
    result = score_array(array, meta)
    assert result.category.cac_drs_vessels is None
    assert result.category.cac_drs == "CAC-DRS A1"


def test_kvp_specific_thresholds_and_weights():
    array, meta = blank_ct(kvp=100.0)
    array[2, 10:14, 10:14] = 140  # below the 145 HU detection threshold at 100 kVp
    array[3, 10:14, 10:14] = 150
    array[3, 11, 11] = 215  # weight 1 at 100 kVp (222 HU bound), weight 2 at 120 kVp
    at_100 = score_array(array, meta)
    assert at_100.settings["threshold_hu"] == 145
    assert at_100.settings["kvp_source"] == "DICOM"
    assert at_100.agatston == pytest.approx(4.0 * 1)
    standard = score_array(array, meta, settings=ScoringSettings(kvp_specific=False))
    assert standard.agatston == pytest.approx(4.0 * 1 + 4.0 * 2)
    user = score_array(array, meta, settings=ScoringSettings(kvp=120))
    assert user.settings["kvp_source"] == "user" and user.agatston == pytest.approx(standard.agatston)


def test_unlisted_kvp_and_unknown_kvp_use_the_standard_rule_and_say_so():
    array, meta = blank_ct(kvp=135.0)
    array[2, 10:14, 10:14] = 135
    result = score_array(array, meta)
    assert result.settings["threshold_hu"] == 130 and result.agatston == pytest.approx(4.0)
    assert any("135 kVp" in warning for warning in result.warnings)
    array, meta = blank_ct(kvp=None)
    array[2, 10:14, 10:14] = 135
    unknown = score_array(array, meta)
    assert unknown.settings["kvp"] is None
    assert any("tube voltage unknown" in warning for warning in unknown.warnings)


def test_user_threshold_overrides_detection_threshold():
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = 120
    result = score_array(array, meta, settings=ScoringSettings(threshold_hu=100))
    assert result.agatston == pytest.approx(4.0)
    assert result.settings["threshold_hu"] == 100


def test_empty_region_is_an_error_not_a_zero():
    array, meta = blank_ct()
    with pytest.raises(RegionError, match="empty"):
        region_from_array(np.zeros(array.shape, dtype=np.uint8))


def test_region_on_another_grid_is_refused_by_score():
    array, meta = blank_ct()
    ct = as_ct(array, meta, SPACING)
    region = region_from_array(np.ones((2, 3, 4), dtype=np.uint8))
    with pytest.raises(RegionError, match="does not match"):
        score(ct, region)


def test_contrast_enhanced_surroundings_are_refused_unless_overridden():
    array, meta = blank_ct(background=300)  # blood at 300 HU
    array[2, 10:14, 10:14] = 900
    with pytest.raises(ContrastError, match="contrast-enhanced"):
        score_array(array, meta)
    result = score_array(array, meta, settings=ScoringSettings(allow_contrast=True))
    assert result.agatston > 0
    assert any("CONTRAST" in warning for warning in result.warnings)


def test_contrast_agent_in_header_is_refused():
    array, meta = blank_ct()
    meta.contrast_agent = "OMNIPAQUE"
    with pytest.raises(ContrastError, match="OMNIPAQUE"):
        score_array(array, meta)


@pytest.mark.parametrize("bad", [dict(connectivity=6), dict(min_area_mm2=-1), dict(calibration_factor=5.0)])
def test_invalid_settings_are_refused(bad):
    array, meta = blank_ct()
    with pytest.raises(InputError):
        score_array(array, meta, settings=ScoringSettings(**bad))


def test_lesion_centroid_in_lps_millimetres():
    array = np.full((5, 20, 20), 40, dtype=np.int16)
    array[:, 0, :] = -1000
    array[2, 6:8, 10:12] = 500
    # x axis flipped (as NIfTI files converted from RAS often are)
    ct = ct_from_array(array, (0.5, 0.5, 3.0), origin_xyz=(100.0, -50.0, 20.0),
                       direction=(-1, 0, 0, 0, 1, 0, 0, 0, 1), metadata=CTMetadata(kvp=120))
    result = score(ct, full_region(array.shape))
    x, y, z = result.lesions[0].centroid_lps_mm
    assert x == pytest.approx(100.0 - 10.5 * 0.5)
    assert y == pytest.approx(-50.0 + 6.5 * 0.5)
    assert z == pytest.approx(20.0 + 2 * 3.0)


def test_lesion_maps_cover_the_scored_voxels():
    array, meta = blank_ct()
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 2:20, :] = 2
    labels[:, 20:, :] = 4
    array[2, 10:14, 10:14] = 300
    array[3, 25:29, 10:14] = 300
    result = score_array(array, meta, labels=labels)
    lesion_map = result.lesion_label_volume()
    artery_map = result.artery_label_volume()
    assert lesion_map.shape == array.shape
    assert np.count_nonzero(lesion_map) == 32
    assert set(np.unique(artery_map)) == {0, 2, 4}


@pytest.mark.parametrize("value, classic", [(0, "none"), (0.01, "minimal"), (10, "minimal"), (10.01, "mild"),
                                            (100, "mild"), (100.5, "moderate"), (400, "moderate"), (400.1, "severe")])
def test_classic_categories_from_unrounded_score(value, classic):
    assert classic_category(value)[0] == classic


@pytest.mark.parametrize("value, grade", [(0, "A0"), (0.5, "A1"), (99.99, "A1"), (100, "A2"), (299.9, "A2"),
                                          (300, "A3")])
def test_cac_drs_grades_from_unrounded_score(value, grade):
    assert cac_drs_grade(value) == grade


def test_cac_drs_text():
    assert categorise(0.0, 0).cac_drs == "CAC-DRS A0"
    assert categorise(150.0, 3).cac_drs == "CAC-DRS A2/N3"
    assert categorise(150.0, None).cac_drs == "CAC-DRS A2"
