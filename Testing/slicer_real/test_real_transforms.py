"""Parent transforms on the CT and its segmentation, on real MRML transform nodes: the score does not move, the outputs
overlay the CT in world space, the lesion positions (and the views' jumps) are world coordinates."""

from __future__ import annotations

import numpy as np


def _rigid(scene, angle_deg=17.0, axis=(0.3, 0.2, 1.0), shift=(41.0, -23.5, 12.0)):
    import vtk

    transform = vtk.vtkTransform()
    transform.Translate(*shift)
    transform.RotateWXYZ(angle_deg, *axis)
    node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "rigid")
    node.SetMatrixTransformToParent(transform.GetMatrix())
    return node, transform


def _scores(result):
    return {artery: (entry.agatston, entry.volume_mm3, entry.lesion_count)
            for artery, entry in result.score.per_artery.items()}


def _assess_moved(module, scene, case):
    """The case's CT and segmentation under one rigid transform, assessed: (logic, assessment)."""
    node, _transform = _rigid(scene)
    case.ct.SetAndObserveTransformNodeID(node.GetID())
    case.segmentation.SetAndObserveTransformNodeID(node.GetID())
    logic = module.CoronaryCalciumLogic()
    return logic, logic.process(case.ct, case.segmentation, model=None)


def test_score_is_unchanged_when_ct_and_segmentation_move_together(module, scene, severe):
    logic = module.CoronaryCalciumLogic()
    plain = logic.process(severe.ct, severe.segmentation, model=None)
    plainRows = [tuple(row["ras"]) for row in module.lesionRows(plain)]
    node, transform = _rigid(scene)
    severe.ct.SetAndObserveTransformNodeID(node.GetID())
    severe.segmentation.SetAndObserveTransformNodeID(node.GetID())
    moved = logic.process(severe.ct, severe.segmentation, model=None)
    assert _scores(moved) == _scores(plain)

    # the lesion table holds world positions: the untransformed ones moved by the rigid transform
    table = logic.outputs.lesionTable.GetTable()
    world = [tuple(table.GetValue(row, table.GetColumnIndex(axis)).ToDouble() for axis in "RAS")
             for row in range(table.GetNumberOfRows())]
    expected = [transform.TransformPoint(point) for point in plainRows]
    assert np.allclose(world, expected, atol=1e-6)


def test_outputs_overlay_the_ct_in_world_space_under_a_parent_transform(module, scene, severe):
    import slicer

    from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

    logic, result = _assess_moved(module, scene, severe)
    calcium = logic.outputs.calciumSegmentation
    assert calcium.GetTransformNodeID() == severe.ct.GetTransformNodeID()
    values = {artery: index for index, artery in enumerate(ARTERIES_AND_UNASSIGNED, start=1)}
    scored = result.score.artery_label_volume(values) > 0
    segments = calcium.GetSegmentation()
    ids = [segments.GetNthSegmentID(index) for index in range(segments.GetNumberOfSegments())]
    # resampled by Slicer onto the CT's grid through both nodes' transforms: the very voxels that were scored
    overlay = np.zeros(scored.shape, dtype=bool)
    for segmentId in ids:
        overlay |= slicer.util.arrayFromSegmentBinaryLabelmap(calcium, segmentId, severe.ct) > 0
    dice = 2.0 * np.logical_and(overlay, scored).sum() / (overlay.sum() + scored.sum())
    assert dice == 1.0


def test_lesion_click_jumps_the_views_to_the_lesion_in_world_coordinates(module, scene, severe):
    """The Widget passes a row's RAS to JumpAllSlices: those coordinates are where the lesion is in world space."""
    import vtk

    logic, result = _assess_moved(module, scene, severe)
    row = module.lesionRows(result, logic.toWorld(severe.ct))[0]
    # world -> the CT's own RAS -> IJK: a calcium voxel of that lesion
    local = vtk.vtkGeneralTransform()
    import slicer

    slicer.vtkMRMLTransformNode.GetTransformBetweenNodes(None, severe.ct.GetParentTransformNode(), local)
    matrix = vtk.vtkMatrix4x4()
    severe.ct.GetRASToIJKMatrix(matrix)
    ijk = [int(round(v)) for v in matrix.MultiplyPoint(list(local.TransformPoint(row["ras"])) + [1.0])[:3]]
    lesion = [item for item in result.score.lesions if item.id == row["id"]][0]
    assert np.allclose(local.TransformPoint(row["ras"]), module.lpsToRas(lesion.centroid_lps_mm), atol=1e-6)
    assert slicer.util.arrayFromVolume(severe.ct)[ijk[2], ijk[1], ijk[0]] >= 130


def test_a_hardened_segmentation_outside_the_cts_transform_is_resampled_by_slicer(module, scene, severe):
    """CT under a transform, its segmentation moved with it and then hardened (no parent transform): Slicer's export
    resamples it onto the CT grid, so the score is the untransformed one."""
    import slicer

    logic = module.CoronaryCalciumLogic()
    plain = _scores(logic.process(severe.ct, severe.segmentation, model=None))
    node, _transform = _rigid(scene, angle_deg=0.0, shift=(12.0, -8.0, 6.0))  # whole-voxel free shift: exact
    severe.ct.SetAndObserveTransformNodeID(node.GetID())
    severe.segmentation.SetAndObserveTransformNodeID(node.GetID())
    slicer.vtkSlicerTransformLogic().hardenTransform(severe.segmentation)
    assert severe.segmentation.GetParentTransformNode() is None
    moved = _scores(logic.process(severe.ct, severe.segmentation, model=None))
    assert moved == plain


def test_the_totalsegmentator_region_output_goes_under_the_cts_transform(module, scene, severe, monkeypatch):
    """The region node the Logic writes for a TotalSegmentator run (its region given here: TotalSegmentator itself is
    not run in this suite) overlays the CT in world space like the calcium."""
    import slicer

    from CoronaryCalciumLib.region.mask import load_region
    from CoronaryCalciumLib.io.ct import load_ct

    region = load_region(severe.mask, load_ct(severe.image))
    monkeypatch.setattr(module.CoronaryCalciumLogic, "regionFromTotalSegmentator",
                        lambda self, ct, *args, **kwargs: region)
    node, _transform = _rigid(scene)
    severe.ct.SetAndObserveTransformNodeID(node.GetID())
    logic = module.CoronaryCalciumLogic()
    logic.process(severe.ct, totalSegmentator=logic.totalSegmentatorSettings("coronary"), model=None)
    output = logic.outputs.regionSegmentation
    assert output.GetTransformNodeID() == severe.ct.GetTransformNodeID()
    segments = output.GetSegmentation()
    overlay = np.zeros(region.labels.shape, dtype=np.uint8)
    for index in range(segments.GetNumberOfSegments()):
        value = int(segments.GetNthSegmentID(index).split("_")[-1])
        voxels = slicer.util.arrayFromSegmentBinaryLabelmap(output, segments.GetNthSegmentID(index), severe.ct)
        overlay[voxels > 0] = value
    assert np.array_equal(overlay, region.labels)


def test_a_closed_scene_keeps_nothing_of_an_assessment(module, scene, severe):
    logic = module.CoronaryCalciumLogic()
    node = logic.getParameterNode()
    node.inputVolume, node.inputSegmentation = severe.ct, severe.segmentation
    node.regionSource, node.runClassifier = module.RegionSource.SEGMENTATION, False
    logic.processParameterNode(node)
    scene.Clear(0)
    # the module's parameter node is a singleton: Slicer keeps it over a scene close, emptied of its references
    kept = [scene.GetNthNode(index) for index in range(scene.GetNumberOfNodes())]
    names = [node.GetName() or "" for node in kept if node.GetSingletonTag() != "CoronaryCalcium"]
    assert not [name for name in names if "CAC" in name or "calcium" in name or "CoronaryCalcium" in name]
    parameters = module.CoronaryCalciumLogic().getParameterNode()
    assert parameters.calciumSegmentation is None and parameters.inputVolume is None
