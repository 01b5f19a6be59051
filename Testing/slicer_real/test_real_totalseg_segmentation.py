"""An existing TotalSegmentator segmentation as the heart region's source, on Slicer's real MRML: the real LUNG1-001
chest CT read by Slicer's volume reader, the shared heart and aorta masks imported into a segmentation node the way
Slicer's TotalSegmentator extension imports its per-class files (segment ID = TotalSegmentator's class name, display
name from its terminology), and the Logic run end to end without TotalSegmentator; the score must be the command line's
`--region heart --totalseg-output` score on the same CT and masks."""

from __future__ import annotations

import json
import os

import pytest

from support import slicer_real
from support.data import DATA, LUNG1, data_path

MASKS = os.path.join(DATA, "lung1-001-chest-ct", "heart-aorta-masks")


@pytest.fixture(scope="module")
def lung1_files(tmp_path_factory):
    """LUNG1-001 as NIfTI (Slicer's volume reader here cannot read DICOM without the DICOM module), and the CLI's
    result on that file with the shared masks."""
    import SimpleITK as sitk

    from CoronaryCalciumLib.cli import main
    from CoronaryCalciumLib.io.ct import load_ct

    folder = tmp_path_factory.mktemp("lung1")
    image = str(folder / "LUNG1-001.nii.gz")
    sitk.WriteImage(load_ct(data_path(LUNG1)).image, image)
    out = folder / "cli.json"
    code = main(["score", image, "--region", "heart", "--totalseg-output", data_path(MASKS), "--model", "none",
                 "--json", str(out), "--quiet"])
    assert code == 0
    return image, json.loads(out.read_text())


def _segment_from_file(segmentation, path: str, segmentId: str, name: str) -> None:
    """A segment with ID ``segmentId`` filled from a mask file, as the TotalSegmentator extension's folder reader
    does (an empty segment, then the labelmap imported into it); ``name`` is the segment's display name."""
    import slicer
    import vtk

    labelmap = slicer_real.read_volume(path, labelmap=True)
    segmentation.GetSegmentation().AddEmptySegment(segmentId, name)
    ids = vtk.vtkStringArray()
    ids.InsertNextValue(segmentId)
    assert slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelmap, segmentation, ids)
    slicer.mrmlScene.RemoveNode(labelmap)


@pytest.fixture
def totalseg(scene, lung1_files):
    """The CT volume node and a 'TotalSegmentator' segmentation: heart (display name Heart), aorta (renamed by the
    user, found by its ID) and a class the region does not use."""
    import slicer

    image, _cli = lung1_files
    volume = slicer_real.read_volume(image)
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "TotalSegmentator")
    folder = data_path(MASKS)
    _segment_from_file(segmentation, os.path.join(folder, "heart.nii.gz"), "heart", "Heart")
    _segment_from_file(segmentation, os.path.join(folder, "aorta.nii.gz"), "aorta", "Aorta from TotalSegmentator")
    _segment_from_file(segmentation, os.path.join(folder, "aorta.nii.gz"), "liver", "liver")
    return volume, segmentation


def test_the_logic_scores_lung1_from_an_existing_totalsegmentator_segmentation_as_the_cli_does(module, scene, totalseg,
                                                                                              lung1_files):
    volume, segmentation = totalseg
    _image, cli = lung1_files
    logic = module.CoronaryCalciumLogic()
    node = logic.getParameterNode()
    node.inputVolume = volume
    node.regionSource = module.RegionSource.HEART
    node.totalSegmentatorSegmentation = segmentation
    node.runClassifier = False
    assert not logic.runsTotalSegmentator(node)
    before = slicer_real.node_counts(scene)
    result = logic.processParameterNode(node)

    assert cli["agatston"] > 4000  # the scan's heavy coronary calcium
    assert result.score.agatston == pytest.approx(cli["agatston"], abs=1e-6)
    assert result.score.volume_mm3 == pytest.approx(cli["volume_mm3"], abs=1e-6)
    assert len(result.score.lesions) == len(cli["lesions"])
    assert len(result.score.excluded_lesions) == len(cli["excluded_lesions"])
    for artery, entry in cli["per_artery"].items():
        assert result.score.per_artery[artery].agatston == pytest.approx(entry["agatston"], abs=1e-6), artery
    assert result.score.settings["lesion_filters_applied"] is True  # an automatic region, as on the command line

    warnings = " ".join(result.warnings)
    assert "TotalSegmentator was not run" in warnings and "Heart" in warnings
    assert result.region.source.startswith("heart shell from existing TotalSegmentator masks")
    region = node.regionSegmentation  # the heart shell written into the scene, as when TotalSegmentator runs
    assert region is not None and region is not segmentation
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 3  # the input is left as it was
    after = slicer_real.node_counts(scene)
    assert after.get("vtkMRMLLabelMapVolumeNode", 0) == before.get("vtkMRMLLabelMapVolumeNode", 0) + 1  # lesion ids
    assert after.get("vtkMRMLColorTableNode", 0) == before.get("vtkMRMLColorTableNode", 0)


def test_a_segmentation_without_a_heart_is_a_one_line_error_naming_its_segments(module, scene, lung1_files):
    import slicer

    from CoronaryCalciumLib.errors import RegionError

    image, _cli = lung1_files
    volume = slicer_real.read_volume(image)
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Other")
    _segment_from_file(segmentation, os.path.join(data_path(MASKS), "aorta.nii.gz"), "aorta", "Aorta")
    before = slicer_real.node_counts(scene)
    logic = module.CoronaryCalciumLogic()
    with pytest.raises(RegionError) as error:
        logic.process(volume, totalSegmentatorSegmentation=segmentation, model=None)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("segmentation 'Other' has no heart") and "found: Aorta" in message
    assert slicer_real.node_counts(scene) == before
