"""DICOM SEG, SR (TID 1500) and PDF report of a real CT, written by `assess --dicom-out` and read back with highdicom,
pydicom and pypdf; every DICOM object checked with dciodvfy (dicom3tools) when it is installed."""

from __future__ import annotations

import glob
import json
import os
import subprocess

import pydicom
import pytest
import SimpleITK as sitk

from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.io.dicom import series_headers
from CoronaryCalciumLib.reporting.pdf import find_chromium
from support.data import QRM, data_path
from support.pacs import (assert_seg_equals_seg_nrrd, assert_sr_equals_result, require_tool, sr_groups, sr_values,
                          write_qrm_artery_mask)

hd = pytest.importorskip("highdicom")
CALIBRATION = "0.0008"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """One `assess` run on the real QRM series with the shipped classifier; research and DICOM folders."""
    if find_chromium() is None:
        require_tool("chromium")  # skips, or fails in CI: the PDF report needs it
    work = tmp_path_factory.mktemp("dicom-outputs")
    mask = write_qrm_artery_mask(str(work / "mask.nii.gz"))
    code = main(["assess", data_path(QRM), "--mask", mask, "--calibration", CALIBRATION, "--out", str(work / "research"),
                 "--dicom-out", str(work / "dicom"), "--no-progress"])
    assert code == 0
    (case_folder,) = glob.glob(str(work / "research" / "case-*"))
    case_id = os.path.basename(case_folder)
    with open(os.path.join(case_folder, "result.json"), encoding="utf-8") as stream:
        result = json.load(stream)
    return {"research": case_folder, "dicom": str(work / "dicom" / case_id), "result": result}


def _seg(outputs):
    return hd.seg.segread(os.path.join(outputs["dicom"], "seg.dcm"))


def _report(outputs):
    return hd.sr.srread(os.path.join(outputs["dicom"], "sr.dcm")).content


def test_dicom_outputs_go_to_their_own_folder_not_into_the_research_outputs(outputs):
    assert sorted(os.listdir(outputs["dicom"])) == ["report-pdf.dcm", "report.pdf", "seg.dcm", "sr.dcm"]
    assert not [name for name in os.listdir(outputs["research"]) if name.endswith((".dcm", ".pdf"))]


def test_the_seg_voxels_of_each_artery_equal_calcium_seg_nrrd(outputs):
    assert_seg_equals_seg_nrrd(_seg(outputs), os.path.join(outputs["research"], "calcium.seg.nrrd"))


def test_the_seg_also_holds_the_region_and_uses_the_slicer_terminology(outputs):
    seg = _seg(outputs)
    items = {str(item.SegmentLabel): item for item in seg.SegmentSequence}
    assert {"LAD region", "LCX region", "RCA region"} <= set(items)
    lad = items["LAD calcium"]
    assert lad.SegmentedPropertyTypeCodeSequence[0].CodeValue == "18115005"  # pathologic calcification
    assert lad.AnatomicRegionSequence[0].CodeValue == "59438005"  # left anterior descending artery
    assert items["LAD region"].SegmentedPropertyTypeCodeSequence[0].CodeValue == "59438005"


def test_the_seg_references_the_ct_images_it_was_computed_on(outputs):
    seg = _seg(outputs)
    ct_uids = {str(h.SOPInstanceUID) for h in series_headers(data_path(QRM))}
    first = series_headers(data_path(QRM))[0]
    (series,) = seg.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == first.SeriesInstanceUID
    assert {str(i.ReferencedSOPInstanceUID) for i in series.ReferencedInstanceSequence} == ct_uids
    assert seg.StudyInstanceUID == first.StudyInstanceUID and seg.PatientID == first.PatientID
    for frame in seg.PerFrameFunctionalGroupsSequence:
        source = frame.DerivationImageSequence[0].SourceImageSequence[0]
        assert str(source.ReferencedSOPInstanceUID) in ct_uids


def test_the_sr_numbers_equal_result_json_and_reference_the_seg_segments(outputs):
    assert_sr_equals_result(_report(outputs), outputs["result"], _seg(outputs))
    total = sr_values(sr_groups(_report(outputs))["total"])
    assert total["KVP"] == (120.0, "kV") and total["Calcium Scoring Calibration"][0] == float(CALIBRATION)


def test_the_sr_marks_the_classifier_as_research_with_model_name_and_hash(outputs):
    classifier, group = outputs["result"]["classifier"], sr_groups(_report(outputs))["classifier (research)"]
    assert sr_values(group)["Calcium classifier probability (research)"][0] == pytest.approx(classifier["probability"])
    verdict = {q.name.meaning: q.value.meaning for q in group.get_qualitative_evaluations()}
    assert verdict == {"Calcium classifier verdict (research)": classifier["label"]}
    texts = [(str(item.ConceptNameCodeSequence[0].CodeMeaning), str(item.TextValue))
             for item in group[0].ContentSequence if item.ValueType == "TEXT"]
    assert ("Algorithm Name", classifier["model_name"]) in texts
    parameters = [text for name, text in texts if name == "Algorithm Parameters"]
    assert "sha256=%s" % classifier["model_sha256"] in parameters
    assert any("research use only" in text for text in parameters)


def test_the_pdf_report_has_pages_with_the_total_and_the_disclaimer(outputs):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(os.path.join(outputs["dicom"], "report.pdf"))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 1
    assert "%.1f" % outputs["result"]["agatston"] in text
    assert "not a medical device" in text.lower()


def test_the_encapsulated_pdf_holds_the_pdf_in_the_ct_study(outputs):
    document = pydicom.dcmread(os.path.join(outputs["dicom"], "report-pdf.dcm"))
    with open(os.path.join(outputs["dicom"], "report.pdf"), "rb") as stream:
        pdf = stream.read()
    assert document.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1" and document.Modality == "DOC"
    assert document.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert bytes(document.EncapsulatedDocument)[:document.EncapsulatedDocumentLength] == pdf
    assert document.StudyInstanceUID == series_headers(data_path(QRM))[0].StudyInstanceUID


@pytest.mark.parametrize("name, iod", [("seg.dcm", "Segmentation"), ("sr.dcm", "Comprehensive3DSR"),
                                       ("report-pdf.dcm", "EncapsulatedPDF")])
def test_dciodvfy_finds_no_errors_in_the_dicom_outputs(outputs, name, iod):
    done = subprocess.run([require_tool("dciodvfy"), os.path.join(outputs["dicom"], name)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    report = done.stdout.decode("utf-8", "replace")
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert not errors, report
    assert iod in report.splitlines(), report  # dciodvfy recognised the object as this IOD


def test_dicom_outputs_of_a_nifti_ct_are_refused_with_one_line(tmp_path, capsys):
    ct = load_ct(data_path(QRM))
    image_path = str(tmp_path / "ct.nii.gz")
    sitk.WriteImage(ct.image, image_path)
    mask = write_qrm_artery_mask(str(tmp_path / "mask.nii.gz"))
    code = main(["score", image_path, "--mask", mask, "--model", "none", "--json", str(tmp_path / "r.json"),
                 "--dicom-out", str(tmp_path / "dicom")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "need a DICOM CT series" in err
    assert not os.path.exists(tmp_path / "dicom") and not os.path.exists(tmp_path / "r.json")
