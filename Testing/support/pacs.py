"""The real QRM scan as a small 'patient' for the DICOM outputs: its inserts as three 'arteries' in a labelled mask."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.scoring import qrm

from .data import QRM, data_path

# insert row (mg HA/cm3) -> label of the default numbering 1=LM, 2=LAD, 3=LCX, 4=RCA
ROW_LABELS = {800.0: 2, 400.0: 3, 200.0: 4}


def write_qrm_artery_mask(path: str) -> str:
    """Write a mask on the QRM CT grid (LAD = 800, LCX = 400, RCA = 200 mg HA/cm3 inserts) and return ``path``."""
    ct = load_ct(data_path(QRM))
    labels = np.zeros(ct.array.shape, dtype=np.uint8)
    for insert in qrm.locate_inserts(ct):
        labels[qrm.insert_region(ct, insert) > 0] = ROW_LABELS[insert.density_mg_cm3]
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(ct.image)
    sitk.WriteImage(image, path)
    return path


def require_tool(name: str) -> str:
    """The path of a system tool (dciodvfy, Orthanc...), or skip; fail instead when CORONARY_CALCIUM_REQUIRE_PACS=1
    (as in CI, which installs them)."""
    import os
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        message = "%s is not installed (apt-get install dicom3tools orthanc chromium)" % name
        if os.environ.get("CORONARY_CALCIUM_REQUIRE_PACS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def assert_seg_equals_seg_nrrd(seg, seg_nrrd_path: str) -> None:
    """Each calcium segment of a highdicom Segmentation of the QRM series has the voxels of the same-named segment
    of a calcium.seg.nrrd, frame by frame over the CT's SOP instances, and there is calcium in each."""
    from CoronaryCalciumLib.io.dicom import series_headers
    from CoronaryCalciumLib.io.seg_nrrd import read_segmentation

    uids = [str(h.SOPInstanceUID) for h in series_headers(data_path(QRM))]
    image, names = read_segmentation(seg_nrrd_path)
    expected = sitk.GetArrayFromImage(image)
    numbers = {str(item.SegmentLabel): int(item.SegmentNumber) for item in seg.SegmentSequence}
    assert sorted(names.values()) == ["LAD calcium", "LCX calcium", "RCA calcium"]
    for value, name in names.items():
        pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[numbers[name]],
                                                   combine_segments=False, assert_missing_frames_are_empty=True)
        assert pixels.shape == expected.shape + (1,)
        assert np.array_equal(pixels[..., 0] > 0, expected == value), name
        assert (expected == value).sum() > 0


def sr_values(group) -> dict:
    """{concept name: (value, UCUM unit)} of a TID 1500 measurement group."""
    return {m.name.meaning: (float(m.value), m.unit.value) for m in group.get_measurements()}


def sr_groups(report) -> dict:
    """{tracking identifier: measurement group} of a highdicom MeasurementReport."""
    groups = list(report.get_image_measurement_groups()) + list(report.get_volumetric_roi_measurement_groups())
    return {str(group.tracking_identifier): group for group in groups}


def assert_sr_equals_result(report, result: dict, seg) -> None:
    """The SR's total and per-artery scores, categories and settings equal result.json; its volumetric groups
    reference the SEG's calcium segment of their artery."""
    import pytest

    from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

    groups = sr_groups(report)
    total = sr_values(groups["total"])
    assert total["Calcium score"] == (pytest.approx(result["agatston"]), "1")
    assert total["Calcium Volume"] == (pytest.approx(result["volume_mm3"]), "mm3")
    assert total.get("Calcium Mass") == (None if result["mass_mg"] is None
                                         else (pytest.approx(result["mass_mg"]), "mg"))  # no mass without calibration
    assert total["Agatston Score Threshold"] == (result["settings"]["threshold_hu"], "[hnsf'U]")
    assert total["KVP"] == (result["settings"]["kvp"], "kV")
    factor = result["settings"]["calibration_factor_mg_per_mm3_hu"]
    assert total.get("Calcium Scoring Calibration") == (None if factor is None else (factor, "mg/(mm3.[hnsf'U])"))
    evaluations = {q.name.meaning: q.value.meaning for q in groups["total"].get_qualitative_evaluations()}
    assert evaluations["Agatston category (classic bands)"] == result["category"]["classic"]
    assert evaluations["CAC-DRS category"] == result["category"]["cac_drs"]
    for name in ARTERIES_AND_UNASSIGNED:
        artery, expected = sr_values(groups[name]), result["per_artery"][name]
        assert artery["Calcium score"][0] == pytest.approx(expected["agatston"])
        assert artery["Calcium Volume"][0] == pytest.approx(expected["volume_mm3"])
        assert artery.get("Calcium Mass", (None,))[0] == (None if expected["mass_mg"] is None
                                                          else pytest.approx(expected["mass_mg"]))
    assert result["per_artery"]["LAD"]["agatston"] > 0 and result["per_artery"]["LM"]["agatston"] == 0
    labels = {int(item.SegmentNumber): str(item.SegmentLabel) for item in seg.SegmentSequence}
    volumetric = {str(g.tracking_identifier): g for g in report.get_volumetric_roi_measurement_groups()}
    assert sorted(volumetric) == ["LAD", "LCX", "RCA"]
    for name, group in volumetric.items():
        reference = group.referenced_segment
        assert reference.referenced_sop_instance_uid == seg.SOPInstanceUID
        (number,) = reference.referenced_segment_numbers
        assert labels[int(number)] == "%s calcium" % name


def sr_person_names(dataset) -> list:
    """Every person name (PNAME content item) in an SR dataset's content tree, e.g. its person observers."""
    found = []
    for item in getattr(dataset, "ContentSequence", []):
        if item.ValueType == "PNAME":
            found.append(str(item.PersonName))
        found += sr_person_names(item)
    return found
