"""TotalSegmentator class masks held in memory (as the Slicer module exports a segmentation's segments onto the CT
grid) build the same region as the folder TotalSegmentator writes (`--totalseg-output`): one code path, on a
generated phantom and on the real LUNG1-001 chest CT with its shared heart and aorta masks."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from CoronaryCalciumLib.errors import RegionError
from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.region.totalseg_names import match_classes, totalseg_class
from CoronaryCalciumLib.region.totalseg_region import (TotalSegRegionSettings, read_labels_on_ct_grid,
                                                        region_from_class_masks, region_from_existing_output)
from support.data import DATA, LUNG1, data_path

LUNG1_MASKS = os.path.join(DATA, "lung1-001-chest-ct", "heart-aorta-masks")


def _assert_same_region(given, expected):
    assert np.array_equal(given.region.labels, expected.region.labels)
    assert given.region.names == expected.region.names
    assert np.array_equal(given.region.blood_pool, expected.region.blood_pool)
    assert np.array_equal(given.heart, expected.heart) and np.array_equal(given.aorta, expected.aorta)
    assert given.region.warnings == expected.region.warnings


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """A small severe phantom written as TotalSegmentator would lay out its heart and aorta (heart.nii.gz,
    aorta.nii.gz beside the image), and the generated case with its masks in memory."""
    from CoronaryCalciumLib.phantom import generate_case, small_config
    from CoronaryCalciumLib.phantom.writer import write_case

    folder = str(tmp_path_factory.mktemp("phantom"))
    case = generate_case(21, small_config(burden="severe", noise_sd_hu=20.0))
    write_case(case, folder)
    return folder, case, load_ct(os.path.join(folder, "image.nii.gz"))


def test_names_are_matched_as_totalsegmentator_and_its_slicer_extension_name_the_segments():
    assert totalseg_class("heart") == totalseg_class("Heart") == totalseg_class(" HEART ") == "heart"
    assert totalseg_class("aorta") == totalseg_class("Aorta") == "aorta"
    for name in ("coronary_arteries", "Coronary arteries", "coronary artery", "Coronary-Artery"):
        assert totalseg_class(name) == "coronary_arteries", name
    for name in ("heart region", "Heart region", "heart_myocardium", "aortic valve", "LAD", "Segment_1", ""):
        assert totalseg_class(name) is None, name
    assert match_classes(["liver", "Heart", "heart", "aorta"]) == {"heart": ["Heart", "heart"], "aorta": ["aorta"]}


def test_masks_in_memory_under_the_slicer_extension_names_give_the_folder_region_on_a_phantom(phantom):
    folder, case, ct = phantom
    settings = TotalSegRegionSettings(backend="heart", existing_output=folder)
    from_folder = region_from_existing_output(ct, settings)
    given = region_from_class_masks(ct, {"Heart": case.heart_mask, "Aorta": case.aorta_mask, "liver": case.heart_mask},
                                    TotalSegRegionSettings(backend="heart"), os.path.basename(folder))
    _assert_same_region(given, from_folder)
    assert given.region.source == from_folder.region.source
    assert set(given.region.names.values()) == {"LM", "LAD", "LCX", "RCA"}
    assert given.region.automatic and given.runs == []


def test_two_masks_of_one_class_are_joined(phantom):
    _folder, case, ct = phantom
    heart = case.heart_mask > 0
    upper, lower = heart.copy(), heart.copy()
    middle = heart.shape[0] // 2
    upper[:middle], lower[middle:] = False, False
    settings = TotalSegRegionSettings(backend="heart")
    split = region_from_class_masks(ct, {"heart": upper, "Heart": lower, "aorta": case.aorta_mask}, settings)
    whole = region_from_class_masks(ct, {"heart": heart, "aorta": case.aorta_mask}, settings)
    assert upper.any() and lower.any()
    _assert_same_region(split, whole)


def test_the_coronary_region_from_masks_in_memory_is_the_folder_one(phantom, tmp_path):
    folder, case, ct = phantom
    masks = tmp_path / "masks"
    masks.mkdir()
    shutil.copy(os.path.join(folder, "coronary_exact.nii.gz"), masks / "coronary_arteries.nii.gz")
    for name in ("heart.nii.gz", "aorta.nii.gz"):
        shutil.copy(os.path.join(folder, name), masks / name)
    settings = TotalSegRegionSettings(backend="coronary", existing_output=str(masks))
    from_folder = region_from_existing_output(ct, settings)
    given = region_from_class_masks(ct, {"coronary artery": case.coronary_labels_exact, "heart": case.heart_mask,
                                         "aorta": case.aorta_mask}, TotalSegRegionSettings(backend="coronary"), "masks")
    _assert_same_region(given, from_folder)
    grown = given.region.labels > 0
    assert grown.sum() > np.count_nonzero(case.coronary_labels_exact)  # the 2 mm margin
    assert grown[case.coronary_labels_exact > 0].all()


def test_a_missing_heart_is_a_one_line_error_naming_what_was_given(phantom):
    _folder, case, ct = phantom
    with pytest.raises(RegionError) as error:
        region_from_class_masks(ct, {"Aorta": case.aorta_mask, "liver": case.heart_mask},
                                TotalSegRegionSettings(backend="heart"), "segmentation 'Total'")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("segmentation 'Total' has no heart:")
    assert "found: Aorta, liver" in message


def test_an_empty_heart_or_a_mask_on_another_grid_is_refused(phantom):
    _folder, case, ct = phantom
    settings = TotalSegRegionSettings(backend="heart")
    with pytest.raises(RegionError, match="heart mask is empty"):
        region_from_class_masks(ct, {"heart": np.zeros_like(case.heart_mask), "aorta": case.aorta_mask}, settings)
    with pytest.raises(RegionError, match="on the CT grid"):
        region_from_class_masks(ct, {"heart": case.heart_mask[1:], "aorta": case.aorta_mask}, settings)


def test_the_coronary_region_needs_the_coronary_arteries(phantom):
    _folder, case, ct = phantom
    with pytest.raises(RegionError, match="has no coronary_arteries: the coronary region needs coronary_arteries"):
        region_from_class_masks(ct, {"heart": case.heart_mask, "aorta": case.aorta_mask},
                                TotalSegRegionSettings(backend="coronary"))


def test_masks_in_memory_give_the_folder_region_on_the_real_lung1_scan():
    ct = load_ct(data_path(LUNG1))
    folder = data_path(LUNG1_MASKS)
    from_folder = region_from_existing_output(ct, TotalSegRegionSettings(backend="heart", existing_output=folder))
    heart, aorta = (read_labels_on_ct_grid(os.path.join(folder, name), ct)[0] for name in ("heart.nii.gz",
                                                                                          "aorta.nii.gz"))
    given = region_from_class_masks(ct, {"heart": heart, "aorta": aorta}, TotalSegRegionSettings(backend="heart"),
                                    os.path.basename(folder))
    _assert_same_region(given, from_folder)
    assert given.region.source == from_folder.region.source
    assert np.count_nonzero(given.region.labels) > 100000
