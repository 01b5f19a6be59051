"""`review --dicom-out`: the reviewed result of a real DICOM CT as SEG, SR and PDF for the PACS, the reader named in
the SR; read back with highdicom and checked with dciodvfy."""

from __future__ import annotations

import glob
import json
import os
import subprocess

import pytest

from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.reporting.pdf import find_chromium
from support.data import QRM, data_path
from support.pacs import (assert_seg_equals_seg_nrrd, assert_sr_equals_result, require_tool, sr_person_names,
                          write_qrm_artery_mask)

hd = pytest.importorskip("highdicom")
READER = "Reader^Alice"


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """The real QRM series assessed (no classifier), then its largest lesion excluded by a named reader."""
    if find_chromium() is None:
        require_tool("chromium")
    work = tmp_path_factory.mktemp("review-dicom")
    mask = write_qrm_artery_mask(str(work / "mask.nii.gz"))
    assert main(["assess", data_path(QRM), "--mask", mask, "--calibration", "0.0008", "--model", "none",
                 "--out", str(work / "research"), "--no-progress"]) == 0
    (case_dir,) = glob.glob(str(work / "research" / "case-*"))
    automatic = _result(case_dir)
    largest = max(automatic["lesions"], key=lambda lesion: lesion["agatston"])
    assert main(["review", case_dir, "--exclude", "%d:other" % largest["id"], "--reader", READER,
                 "--image", data_path(QRM), "--dicom-out", str(work / "dicom"), "--quiet"]) == 0
    return {"case": case_dir, "dicom": os.path.join(str(work / "dicom"), os.path.basename(case_dir)),
            "automatic": automatic, "reviewed": _result(case_dir)}


def _result(case_dir):
    with open(os.path.join(case_dir, "result.json"), encoding="utf-8") as stream:
        return json.load(stream)


def test_the_sr_and_seg_carry_the_reviewed_scores_not_the_automatic_ones(reviewed):
    assert reviewed["reviewed"]["reviewed"] and reviewed["reviewed"]["agatston"] < reviewed["automatic"]["agatston"]
    seg = hd.seg.segread(os.path.join(reviewed["dicom"], "seg.dcm"))
    sr = hd.sr.srread(os.path.join(reviewed["dicom"], "sr.dcm"))
    assert_sr_equals_result(sr.content, reviewed["reviewed"], seg)
    assert_seg_equals_seg_nrrd(seg, os.path.join(reviewed["case"], "calcium.seg.nrrd"))


def test_the_sr_names_the_reader_and_says_reviewed(reviewed):
    sr = hd.sr.srread(os.path.join(reviewed["dicom"], "sr.dcm"))
    assert "reviewed" in sr.SeriesDescription
    assert sr.VerificationFlag == "UNVERIFIED"  # a login name is not an attestation
    assert READER in sr_person_names(sr)


@pytest.mark.parametrize("name, iod", [("seg.dcm", "Segmentation"), ("sr.dcm", "Comprehensive3DSR")])
def test_dciodvfy_finds_no_errors_in_the_reviewed_dicom_outputs(reviewed, name, iod):
    done = subprocess.run([require_tool("dciodvfy"), os.path.join(reviewed["dicom"], name)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    report = done.stdout.decode("utf-8", "replace")
    assert not [line for line in report.splitlines() if line.startswith("Error")], report
    assert iod in report.splitlines(), report


def test_dicom_outputs_of_a_case_assessed_on_nifti_are_refused_before_any_edit(tmp_path, capsys):
    from CoronaryCalciumLib.io.ct import load_ct
    import SimpleITK as sitk
    from CoronaryCalciumLib.io.geometry import apply_geometry

    ct = load_ct(data_path(QRM))
    image = sitk.GetImageFromArray(ct.array)
    apply_geometry(image, ct.geometry)
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    mask = write_qrm_artery_mask(str(tmp_path / "mask.nii.gz"))
    assert main(["assess", str(tmp_path / "ct.nii.gz"), "--mask", mask, "--model", "none", "--out",
                 str(tmp_path / "out"), "--no-progress", "--no-report"]) == 0
    (case_dir,) = glob.glob(str(tmp_path / "out" / "case-*"))
    before = _result(case_dir)
    capsys.readouterr()
    code = main(["review", case_dir, "--exclude", "1", "--image", str(tmp_path / "ct.nii.gz"), "--dicom-out",
                 str(tmp_path / "dicom"), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1 and "DICOM series" in error
    assert _result(case_dir) == before and not os.path.exists(tmp_path / "dicom")
