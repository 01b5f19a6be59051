"""A real DICOM server: Orthanc on localhost holds the real QRM CT series; `assess --pacs --study --send` retrieves
it (C-FIND, C-GET), scores it and stores SEG, SR and Encapsulated PDF back (C-STORE); they are read back through
Orthanc's REST API and must equal result.json and calcium.seg.nrrd."""

from __future__ import annotations

import glob
import io
import json
import os

import pydicom
import pytest

from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.io.dicom import series_headers
from support.data import QRM, data_path
from support.orthanc import Orthanc
from support.pacs import assert_seg_equals_seg_nrrd, assert_sr_equals_result, sr_person_names, write_qrm_artery_mask

hd = pytest.importorskip("highdicom")
pytest.importorskip("pynetdicom")
CALLING_AE = "CACTEST"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    orthanc = Orthanc(str(tmp_path_factory.mktemp("orthanc")), CALLING_AE).start()
    try:
        for path in sorted(glob.glob(os.path.join(data_path(QRM), "*"))):
            orthanc.upload(path)
        yield orthanc
    finally:
        orthanc.stop()


@pytest.fixture(scope="module")
def round_trip(server, tmp_path_factory):
    work = tmp_path_factory.mktemp("round-trip")
    study_uid = str(series_headers(data_path(QRM))[0].StudyInstanceUID)
    mask = write_qrm_artery_mask(str(work / "mask.nii.gz"))
    code = main(["assess", "--pacs", server.node, "--calling-ae", CALLING_AE, "--study", study_uid, "--mask", mask,
                 "--calibration", "0.0008", "--out", str(work / "research"), "--send", "--no-progress"])
    assert code == 0
    (case_folder,) = glob.glob(str(work / "research" / "case-*"))
    with open(os.path.join(case_folder, "result.json"), encoding="utf-8") as stream:
        result = json.load(stream)
    stored = {modality: [pydicom.dcmread(io.BytesIO(data)) for data in server.instances_of_study(study_uid, modality)]
              for modality in ("SEG", "SR", "DOC", "CT")}
    return {"research": case_folder, "result": result, "stored": stored, "study_uid": study_uid}


def test_the_results_are_stored_in_the_ct_study_on_the_server(round_trip):
    stored = round_trip["stored"]
    assert [len(stored[m]) for m in ("SEG", "SR", "DOC")] == [1, 1, 1]
    assert len(stored["CT"]) == len(glob.glob(os.path.join(data_path(QRM), "*")))  # the CT is untouched
    assert not [name for name in os.listdir(round_trip["research"]) if name.endswith((".dcm", ".pdf"))]


def test_the_sr_read_back_from_the_server_has_the_numbers_of_result_json(round_trip):
    (sr,) = round_trip["stored"]["SR"]
    (seg,) = round_trip["stored"]["SEG"]
    assert_sr_equals_result(hd.sr.Comprehensive3DSR.from_dataset(sr).content, round_trip["result"], seg)


def test_the_seg_read_back_from_the_server_has_the_voxels_of_calcium_seg_nrrd(round_trip):
    (seg,) = round_trip["stored"]["SEG"]
    assert_seg_equals_seg_nrrd(hd.seg.Segmentation.from_dataset(seg),
                               os.path.join(round_trip["research"], "calcium.seg.nrrd"))


def test_the_encapsulated_pdf_on_the_server_is_a_pdf_with_the_total(round_trip):
    pypdf = pytest.importorskip("pypdf")
    (document,) = round_trip["stored"]["DOC"]
    pdf = bytes(document.EncapsulatedDocument)[:document.EncapsulatedDocumentLength]
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    assert "%.1f" % round_trip["result"]["agatston"] in " ".join(page.extract_text() for page in reader.pages)


def test_a_study_the_server_does_not_hold_is_refused_with_one_line(server, tmp_path, capsys):
    code = main(["assess", "--pacs", server.node, "--calling-ae", CALLING_AE, "--study", "1.2.3.4.5",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "1.2.3.4.5" in err and not os.path.exists(tmp_path / "out")


def test_an_unreachable_node_is_reported_in_one_line(tmp_path, capsys):
    from support.orthanc import free_port

    code = main(["assess", "--pacs", "NOBODY@127.0.0.1:%d" % free_port(), "--study", "1.2.3", "--out",
                 str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "refused or did not answer" in err and len(err.strip().splitlines()) == 1


def test_a_reviewed_result_sent_back_is_a_second_sr_with_the_reviewed_scores_and_the_reader(server, round_trip):
    automatic = round_trip["result"]
    largest = max(automatic["lesions"], key=lambda lesion: lesion["agatston"])
    code = main(["review", round_trip["research"], "--exclude", "%d:other" % largest["id"], "--reader", "Reader^Bob",
                 "--image", data_path(QRM), "--pacs", server.node, "--calling-ae", CALLING_AE, "--send", "--quiet"])
    assert code == 0
    with open(os.path.join(round_trip["research"], "result.json"), encoding="utf-8") as stream:
        reviewed = json.load(stream)
    stored = {modality: [pydicom.dcmread(io.BytesIO(data))
                         for data in server.instances_of_study(round_trip["study_uid"], modality)]
              for modality in ("SEG", "SR")}
    assert [len(stored[m]) for m in ("SEG", "SR")] == [2, 2]  # the automatic result stays; the review is added
    (sr,) = [s for s in stored["SR"] if "reviewed" in str(s.SeriesDescription)]
    (seg,) = [s for s in stored["SEG"] if str(s.SeriesInstanceUID) in
              {str(r.SeriesInstanceUID) for r in sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence}]
    assert reviewed["agatston"] < automatic["agatston"]
    assert_sr_equals_result(hd.sr.Comprehensive3DSR.from_dataset(sr).content, reviewed, seg)
    assert "Reader^Bob" in sr_person_names(sr)
