"""The module's parameter node on Slicer's real ``parameterNodeWrapper`` (from ../shared/slicer-python) and a real
scene: defaults, validators, how enums and node references are stored, and a scene save and reload."""

from __future__ import annotations

import os

import pytest


def test_defaults_are_the_documented_ones(module, scene):
    node = module.CoronaryCalciumLogic().getParameterNode()
    assert node.regionSource is module.RegionSource.HEART
    assert node.kvp is module.TubeVoltage.FROM_DICOM
    assert (node.thresholdHU, node.minAreaMm2, node.connectivity, node.device) == (130.0, 1.0, 8, "auto")
    assert node.runClassifier and node.fast and not node.allowContrast and not node.useCustomThreshold
    assert node.inputVolume is None and node.calciumSegmentation is None


@pytest.mark.parametrize("name, value", [("thresholdHU", 20.0), ("thresholdHU", 5000.0), ("device", "tpu"),
                                         ("connectivity", 6), ("calibrationFactor", -0.001)])
def test_values_outside_the_validators_are_refused(module, scene, name, value):
    node = module.CoronaryCalciumLogic().getParameterNode()
    before = getattr(node, name)
    with pytest.raises(ValueError):
        setattr(node, name, value)
    assert getattr(node, name) == before


def test_enums_and_node_references_survive_a_scene_save_and_reload(module, scene, severe, tmp_path):
    logic = module.CoronaryCalciumLogic()
    node = logic.getParameterNode()
    node.inputVolume = severe.ct
    node.inputSegmentation = severe.segmentation
    node.regionSource = module.RegionSource.SEGMENTATION
    node.kvp = module.TubeVoltage.KV100
    node.thresholdHU = 150.0
    node.inputSegmentIds = "a,b"
    raw = node.parameterNode
    # stored in the MRML node as Slicer's wrapper does it: node references by ID, enums as text
    assert raw.GetNodeReferenceID("inputVolume") == severe.ct.GetID()
    assert raw.GetNodeReferenceID("inputSegmentation") == severe.segmentation.GetID()
    assert raw.GetParameter("regionSource") and raw.GetParameter("kvp")

    path = str(tmp_path / "scene.mrml")
    scene.SetRootDirectory(str(tmp_path))
    scene.SetURL(path)
    assert scene.Commit()
    volumeName, segmentationName = severe.ct.GetName(), severe.segmentation.GetName()
    scene.Clear(1)
    assert scene.GetFirstNodeByName(volumeName) is None
    scene.SetURL(path)
    assert scene.Connect()

    reloaded = module.CoronaryCalciumLogic().getParameterNode()
    assert reloaded.regionSource is module.RegionSource.SEGMENTATION
    assert reloaded.kvp is module.TubeVoltage.KV100
    assert reloaded.thresholdHU == 150.0
    assert reloaded.inputSegmentIds == "a,b"
    assert reloaded.inputVolume is not None and reloaded.inputVolume.GetName() == volumeName
    assert reloaded.inputSegmentation is not None and reloaded.inputSegmentation.GetName() == segmentationName
    assert os.path.exists(path)


@pytest.mark.parametrize("stored, value", [("CORONARY", "coronary"), ("HEART", "heart"), ("SEGMENTATION", "mask")])
def test_the_region_source_is_stored_as_in_scenes_saved_before_and_is_the_cores_enum(module, scene, stored, value):
    """The region choice is the core's RegionSource (the command line's values); the text the parameter node keeps
    is the member name scenes have always stored, so they load unchanged."""
    from CoronaryCalciumLib.region.source import RegionSource

    node = module.CoronaryCalciumLogic().getParameterNode()
    raw = node.parameterNode
    raw.SetParameter("regionSource", stored)  # as a scene saved before holds it
    assert node.regionSource is RegionSource(value) and module.RegionSource is RegionSource
    node.regionSource = RegionSource.HEART
    node.regionSource = RegionSource(value)
    assert raw.GetParameter("regionSource") == stored
