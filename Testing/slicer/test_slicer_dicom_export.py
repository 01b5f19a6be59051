"""The module's Export of DICOM SEG, SR and PDF, on stand-in nodes holding the real QRM series as if Slicer's DICOM
module had loaded it (a stand-in DICOM database maps the volume's instance UIDs to the files): the objects reference
the CT's images and carry the same numbers as the core's result.json."""

from __future__ import annotations

import json
import os

import numpy as np
import pydicom
import pytest

from support import slicer_standins
from support.data import QRM, data_path
from support.pacs import assert_sr_equals_result, write_qrm_artery_mask

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
hd = pytest.importorskip("highdicom")

from support.slicer_standins.fixtures import _slicer_standins, module  # noqa: F401,E402  (pytest fixtures)


class DicomDatabase:
    """What the Logic asks of slicer.dicomDatabase: a file per instance UID and tag values of a file."""

    def __init__(self, files):
        self.files = {str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID): path for path in files}

    def fileForInstance(self, uid):
        return self.files.get(uid, "")

    def fileValue(self, path, group_element):
        group, element = (int(part, 16) for part in group_element.split(","))
        item = pydicom.dcmread(path, stop_before_pixels=True).get((group, element))
        return "" if item is None else str(item.value)


@pytest.fixture
def qrm_in_slicer(module, tmp_path, monkeypatch):
    import slicer
    import SimpleITK as sitk

    from CoronaryCalciumLib.io.ct import load_ct

    slicer_standins.reset_scene()
    ct = load_ct(data_path(QRM))
    files = sorted(os.path.join(data_path(QRM), name) for name in os.listdir(data_path(QRM)))
    monkeypatch.setattr(slicer, "dicomDatabase", DicomDatabase(files), raising=False)
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(ct.geometry.direction).reshape(3, 3) * np.asarray(ct.geometry.spacing)
    lps[:3, 3] = ct.geometry.origin
    volume = slicer.util.addVolumeFromArray(ct.array, np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps, "QRM")
    volume.SetAttribute("DICOM.instanceUIDs", " ".join(sorted(slicer.dicomDatabase.files)))
    labels = sitk.GetArrayFromImage(sitk.ReadImage(write_qrm_artery_mask(str(tmp_path / "mask.nii.gz"))))
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "arteries")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    for value, artery in ((2, "LAD"), (3, "LCX"), (4, "RCA")):
        segment_id = segmentation.GetSegmentation().AddEmptySegment("seg_" + artery, artery)
        slicer.util.updateSegmentBinaryLabelmapFromArray((labels == value).astype(np.uint8), segmentation, segment_id,
                                                         volume)
    return volume, segmentation


def test_export_writes_seg_sr_and_pdf_that_reference_the_slicer_volumes_dicom_images(module, qrm_in_slicer, tmp_path):
    volume, segmentation = qrm_in_slicer
    logic = module.CoronaryCalciumLogic()
    with pytest.raises(ValueError):
        logic.exportDicom(str(tmp_path / "nothing"), volume)
    logic.process(volume, segmentation, model=None)
    research = logic.exportResults(str(tmp_path / "out"))
    written = logic.exportDicom(str(tmp_path / "out" / "dicom"), volume)
    assert sorted(os.path.basename(p) for p in written) == ["report-pdf.dcm", "report.pdf", "seg.dcm", "sr.dcm"]
    with open([p for p in research if p.endswith("result.json")][0], encoding="utf-8") as stream:
        result = json.load(stream)
    seg = hd.seg.segread(str(tmp_path / "out" / "dicom" / "seg.dcm"))
    sr = hd.sr.srread(str(tmp_path / "out" / "dicom" / "sr.dcm"))
    assert_sr_equals_result(sr.content, result, seg)
    (series,) = seg.ReferencedSeriesSequence
    import slicer

    assert {str(i.ReferencedSOPInstanceUID) for i in series.ReferencedInstanceSequence} == set(
        slicer.dicomDatabase.files)


def test_a_volume_not_loaded_from_dicom_is_refused_by_the_dicom_export(module, qrm_in_slicer, tmp_path):
    volume, segmentation = qrm_in_slicer
    logic = module.CoronaryCalciumLogic()
    logic.process(volume, segmentation, model=None)
    volume.SetAttribute("DICOM.instanceUIDs", "")
    with pytest.raises(ValueError, match="not loaded from Slicer's DICOM database"):
        logic.exportDicom(str(tmp_path / "dicom"), volume)
    assert not os.path.exists(tmp_path / "dicom")

