"""Regions of interest: label numbering, artery names, Slicer .seg.nrrd masks, resampling onto the CT grid."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.region.mask import load_region, parse_label_spec, region_from_array
from CoronaryCalciumLib.region.arteries import artery_for_name
from CoronaryCalciumLib.scoring.agatston import score
from CoronaryCalciumLib.io.seg_nrrd import Segment, read_segmentation, write_segmentation
from CoronaryCalciumLib.region.terminology import region_terminology
from support.synthetic import as_ct, blank_ct

SPACING = (0.5, 0.5, 3.0)


@pytest.mark.parametrize("name, artery", [
    ("LAD", "LAD"), ("Left anterior descending artery", "LAD"), ("left_main", "LM"), ("LM", "LM"),
    ("Circumflex", "LCX"), ("lcx calcium", "LCX"), ("Right coronary artery", "RCA"), ("rca", "RCA"),
    ("coronary_arteries", None), ("heart", None), ("calcium", None),
])
def test_artery_names(name, artery):
    assert artery_for_name(name) == artery


def test_label_spec_parsing():
    assert parse_label_spec("1=LAD,2=circumflex,3=RCA") == {1: "LAD", 2: "LCX", 3: "RCA"}
    assert parse_label_spec(None) is None
    with pytest.raises(InputError, match="not an artery"):
        parse_label_spec("1=liver")
    with pytest.raises(InputError, match="not understood"):
        parse_label_spec("LAD")


@pytest.mark.parametrize("values, expected", [
    ({1}, {1: "unassigned"}),
    ({255}, {255: "unassigned"}),
    ({2}, {2: "LAD"}),
    ({1, 2, 3, 4}, {1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"}),
    ({1, 4, 9}, {1: "LM", 4: "RCA", 9: "unassigned"}),
])
def test_automatic_label_numbering(values, expected):
    labels = np.zeros((2, 4, 4), dtype=np.uint8)
    for index, value in enumerate(sorted(values)):
        labels[0, index, 0] = value
    assert region_from_array(labels).names == expected


def test_explicit_numbering_overrides_the_default():
    labels = np.zeros((2, 4, 4), dtype=np.uint8)
    labels[0, 0, 0] = 1
    assert region_from_array(labels, "1=LM").names == {1: "LM"}


def _ct_with_calcium():
    array, meta = blank_ct(shape=(6, 40, 40))
    array[2, 10:14, 10:14] = 300  # in the LAD segment
    array[3, 25:29, 25:29] = 500  # in the RCA segment
    return as_ct(array, meta, SPACING)


def test_slicer_segmentation_mask_maps_segment_names_to_arteries(tmp_path):
    ct = _ct_with_calcium()
    lad = np.zeros(ct.array.shape, dtype=bool)
    lad[:, 8:16, 8:16] = True
    rca = np.zeros(ct.array.shape, dtype=bool)
    rca[:, 22:32, 22:32] = True
    heart = np.zeros(ct.array.shape, dtype=bool)
    heart[:, 5:35, 5:35] = True  # overlaps both: stored in a second layer, merged when read
    path = str(tmp_path / "arteries.seg.nrrd")
    write_segmentation(path, ct.geometry, [
        Segment("heart", heart, (0.8, 0.3, 0.3), region_terminology("", heart=True)),
        Segment("Left anterior descending", lad, (1, 0, 0), region_terminology("LAD")),
        Segment("RCA", rca, (0, 0, 1)),
    ])
    image, names = read_segmentation(path)
    assert sorted(names.values()) == ["Left anterior descending", "RCA", "heart"]
    region = load_region(path, ct)
    assert set(region.names.values()) == {"LAD", "RCA", "unassigned"}
    result = score(ct, region)
    assert {lesion.artery for lesion in result.lesions} == {"LAD", "RCA"}
    assert result.category.cac_drs_vessels == 2


def test_segmentation_written_on_the_ct_grid_reads_back_voxel_exact(tmp_path):
    ct = _ct_with_calcium()
    mask = np.zeros(ct.array.shape, dtype=bool)
    mask[1, 3, 7] = mask[4, 30, 2] = True
    path = str(tmp_path / "m.seg.nrrd")
    write_segmentation(path, ct.geometry, [Segment("LM", mask)])
    region = load_region(path, ct)
    assert not any("another grid" in w for w in region.warnings)
    assert np.array_equal(region.labels > 0, mask)


def test_mask_on_a_coarser_grid_is_resampled_nearest_neighbour(tmp_path):
    ct = _ct_with_calcium()
    coarse = np.zeros((6, 20, 20), dtype=np.uint8)
    coarse[:, 5:7, 5:7] = 2  # covers CT voxels 10-13 in y and x
    image = sitk.GetImageFromArray(coarse)
    image.SetSpacing((1.0, 1.0, 3.0))
    image.SetOrigin((0.25, 0.25, 0.0))  # centre of 2x2 CT voxels
    path = str(tmp_path / "coarse.nii.gz")
    sitk.WriteImage(image, path)
    region = load_region(path, ct)
    assert any("resampled nearest-neighbour" in w for w in region.warnings)
    assert region.labels.shape == ct.array.shape
    assert np.array_equal(np.argwhere(region.labels[2])[[0, -1]], [[10, 10], [13, 13]])
    assert region.names == {2: "LAD"}
