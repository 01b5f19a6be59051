"""Real chest CTs through the free heart-shell region, against a reader's list of the calcifications on the scans.

LUNG1-001 (3 mm, Siemens B19f, non-gated, heavily calcified), with the heart and aorta masks shared beside it. The
reader's list below was made for this project by reading the scan slice by slice (centroids in LPS mm of the lesions
the scoring finds there; slice numbers 0-based): each is a coronary calcification, with the artery it lies in.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings, region_from_existing_output
from CoronaryCalciumLib.scoring.agatston import score
from support.data import DATA, LUNG1, data_path

LUNG1_MASKS = os.path.join(DATA, "lung1-001-chest-ct", "heart-aorta-masks")

# (artery, LPS centroid mm, where): the reader's coronary calcifications on LUNG1-001
READER_LUNG1 = [
    ("RCA", (-10, -272, -526), "proximal-mid RCA in the right AV groove, anterior, slices 49-57"),
    ("RCA", (-1, -248, -497), "proximal RCA right of the aortic root, slices 60-63"),
    ("RCA", (-5, -231, -497), "proximal RCA at the root, slices 60-63"),
    ("RCA", (5, -236, -556), "distal RCA towards the crux, inferior, slices 40-44"),
    ("RCA", (-12, -269, -547), "mid RCA, lower right AV groove, slices 44-45"),
    ("RCA", (-16, -270, -546), "mid RCA, slice 45"),
    ("LCX", (70, -212, -533), "distal LCX / posterolateral branch, the largest plaque, slices 47-52"),
    ("LCX", (60, -216, -506), "mid LCX in the left AV groove, slices 56-60"),
    ("LCX", (52, -214, -519), "LCX, slices 53-55"),
    ("LCX", (73, -203, -519), "posterolateral LCX, slices 53-55"),
    ("LCX", (48, -223, -496), "proximal LCX, slices 61-63"),
    ("LCX", (38, -227, -491), "proximal LCX below the left main, slices 63-64"),
    ("LAD", (56, -254, -492), "proximal LAD, slices 62-64"),
    ("LAD", (50, -263, -494), "proximal LAD, slices 62-63"),
    ("LAD", (53, -271, -498), "LAD / first diagonal, slice 61"),
    ("LM", (45, -248, -489), "left main, slices 64-65"),
    ("LM", (37, -240, -486), "left main at the ostium, slice 65"),
]


@pytest.fixture(scope="module")
def lung1():
    ct = load_ct(data_path(LUNG1))
    region = region_from_existing_output(ct, TotalSegRegionSettings(existing_output=data_path(LUNG1_MASKS))).region
    return ct, score(ct, region)


def reader_total(artery, geometry, result):
    """The reader's score of an artery: the Agatston of the lesions found at the reader's positions in it."""
    labels = result.lesion_label_volume()
    by_id = {lesion.id: lesion for lesion in result.lesions + result.excluded_lesions}
    ids = {int(labels[_voxel(geometry, lps, labels)]) for name, lps, _where in READER_LUNG1 if name == artery}
    return sum(by_id[lesion_id].agatston for lesion_id in ids)


def _voxel(geometry, lps, labels):
    """The lesion voxel nearest the reader's point (within 4 mm), as a (z, y, x) index."""
    centre = np.rint(geometry.lps_to_index(lps)).astype(int)
    z0, y0, x0 = centre
    window = labels[max(z0 - 1, 0):z0 + 2, max(y0 - 4, 0):y0 + 5, max(x0 - 4, 0):x0 + 5]
    found = np.argwhere(window > 0)
    assert len(found), "no lesion within 4 mm of the reader's calcification at %s" % (lps,)
    offset = np.array([max(z0 - 1, 0), max(y0 - 4, 0), max(x0 - 4, 0)])
    spacing = np.array([geometry.spacing[2], geometry.spacing[1], geometry.spacing[0]])
    nearest = found[np.argmin((((found + offset - centre) * spacing) ** 2).sum(axis=1))]
    return tuple(nearest + offset)


def test_every_coronary_calcification_the_reader_sees_on_lung1_is_kept(lung1):
    ct, result = lung1
    labels = result.lesion_label_volume()
    counted = {lesion.id for lesion in result.lesions}
    for artery, lps, where in READER_LUNG1:
        lesion_id = int(labels[_voxel(ct.geometry, lps, labels)])
        assert lesion_id in counted, "the reader's %s calcification (%s) was left out" % (artery, where)


def test_lung1_non_coronary_lesions_are_under_5_percent_of_the_total(lung1):
    ct, result = lung1
    labels = result.lesion_label_volume()
    reader_ids = {int(labels[_voxel(ct.geometry, lps, labels)]) for _a, lps, _w in READER_LUNG1}
    others = sum(lesion.agatston for lesion in result.lesions if lesion.id not in reader_ids)
    assert others < 0.05 * result.agatston, "%.0f of %.0f Agatston is not on the reader's list" % (
        others, result.agatston)
    assert result.excluded_lesions  # noise in the myocardium, aortic wall: left out, with reasons
    assert all(lesion.excluded for lesion in result.excluded_lesions)


@pytest.mark.parametrize("artery", ["RCA", "LCX"])
def test_lung1_rca_and_lcx_totals_are_within_30_percent_of_the_reader(lung1, artery):
    ct, result = lung1
    reader = reader_total(artery, ct.geometry, result)
    measured = result.per_artery[artery].agatston
    assert reader > 500
    assert abs(measured - reader) <= 0.3 * reader, "%s: %.0f measured, %.0f by the reader" % (artery, measured,
                                                                                              reader)


@pytest.mark.parametrize("artery", ["LM", "LAD"])
def test_lung1_left_main_and_lad_calcifications_get_the_readers_artery(lung1, artery):
    ct, result = lung1
    labels = result.lesion_label_volume()
    by_id = {lesion.id: lesion for lesion in result.lesions}
    for name, lps, where in READER_LUNG1:
        if name == artery:
            lesion = by_id[int(labels[_voxel(ct.geometry, lps, labels)])]
            assert lesion.artery == artery, "the reader's %s (%s) went to the %s" % (artery, where, lesion.artery)
    reader = reader_total(artery, ct.geometry, result)
    assert abs(result.per_artery[artery].agatston - reader) <= 0.3 * reader


def test_lung1_soft_3_mm_scan_is_scored_as_it_is(lung1):
    _ct, result = lung1
    protocol = result.settings["protocol"]
    assert protocol["kernel_sharpness"] == "soft" and protocol["slices_per_slab"] == 1
    assert protocol["kernel_smoothing_sigma_mm"] is None
    assert result.image_quality.noise_hu is not None and result.image_quality.reliable


# LIDC-IDRI-0314 (1 mm, Philips D sharp kernel, non-gated; little or no coronary calcium), with the heart and aorta
# masks made for it without deep learning (Testing/data/lidc-idri-0314-heart-aorta, see its README).
LIDC_MASKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                          "lidc-idri-0314-heart-aorta")


@pytest.fixture(scope="module")
def lidc():
    from support.data import LIDC_THIN

    ct = load_ct(data_path(LIDC_THIN))
    region = region_from_existing_output(ct, TotalSegRegionSettings(existing_output=LIDC_MASKS)).region
    return ct, region


def test_lidc_thin_sharp_scan_is_scored_on_smoothed_3_mm_slabs_and_not_above_minimal(lidc):
    from CoronaryCalciumLib.scoring.agatston import scoring_settings

    ct, region = lidc
    as_scanned = score(ct, region, scoring_settings(thin_slices="off", sharp_kernel="off", lesion_filters="off"))
    assert as_scanned.category.classic == "severe" and len(as_scanned.lesions) > 100  # the failure class
    assert not as_scanned.image_quality.reliable  # a sharp kernel left as it is
    result = score(ct, region)
    protocol = result.settings["protocol"]
    assert protocol["kernel_sharpness"] == "sharp" and protocol["slices_per_slab"] == 3
    assert result.agatston < 0.1 * as_scanned.agatston
    assert result.category.classic in ("none", "minimal") and result.agatston <= 10
    assert result.image_quality.reliable and result.image_quality.noise_hu < 30
    assert all(lesion.peak_hu < 200 for lesion in result.lesions)  # what is left is faint (weight 1)
    # the faint spots in the oesophageal wall behind the heart, between its air and the lung
    walls = [l for l in result.excluded_lesions if l.excluded.startswith("between_air")]
    assert sum(l.agatston for l in walls) > 20
    assert all(l.centroid_lps_mm[1] > 170 for l in walls)  # posterior, behind the left atrium
