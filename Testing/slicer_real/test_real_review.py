"""Reader review in the Slicer Logic on Slicer's real MRML: edits made on the nodes (lesion ids of the table, points in
world RAS) give the core's ``Assessment.apply_review`` numbers, survive a saved and reopened scene (.mrb), and a bad
edit is a one-line error that changes nothing."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from support import slicer_real


def _column(table, name):
    column = table.GetTable().GetColumnByName(name)
    return [column.GetValue(row) for row in range(table.GetNumberOfRows())]


def _total(table, name):
    artery = _column(table, "Artery")
    return _column(table, name)[artery.index("Total")]


def _reviewed(module, case):
    """The severe phantom assessed through the parameter node (exact coronary mask, no classifier): the Logic, the
    parameter node and the automatic CalciumScore."""
    logic = module.CoronaryCalciumLogic()
    node = logic.getParameterNode()
    node.inputVolume = case.ct
    node.regionSource = module.RegionSource.SEGMENTATION
    node.inputSegmentation = case.segmentation
    node.runClassifier = False
    # the automatic score (the assessment itself becomes the reviewed one; its automatic score object is kept)
    return logic, node, logic.processParameterNode(node).score


def _seed(case, lesion_id, automatic):
    """A voxel of automatic lesion ``lesion_id``: its (i, j, k) and its LPS mm point by SimpleITK on the file."""
    import SimpleITK as sitk

    k, j, i = np.argwhere(automatic.lesion_label_volume() == lesion_id)[0]
    image = sitk.ReadImage(case.image)
    return (int(i), int(j), int(k)), image.TransformIndexToPhysicalPoint((int(i), int(j), int(k)))


def _ras_of_ijk(volume, ijk):
    import vtk

    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    return matrix.MultiplyPoint(list(ijk) + [1.0])[:3]


def _core_reviewed(case, edits):
    """What the core gives for the same edits on the same files (the CLI's path)."""
    from CoronaryCalciumLib.pipeline import assess_case
    from CoronaryCalciumLib.review.case_dir import settings_of

    direct = assess_case(case.image, case.mask)
    direct.apply_review(edits, settings_of(direct))
    return direct


def _edits(module, logic, node, case, automatic):
    """Exclude the largest lesion, move the second to another artery, add the largest back by a world RAS point in
    RCA, undo nothing yet; returns the core edits made."""
    from CoronaryCalciumLib.review.edits import Edit

    ordered = sorted(automatic.lesions, key=lambda lesion: -lesion.agatston)
    largest, second = ordered[0], ordered[1]
    other = "LCX" if second.artery != "LCX" else "LAD"
    logic.excludeLesion(largest.id, "aortic", reader="Dr Test")
    logic.setArtery(second.id, other, reader="Dr Test")
    ijk, lps = _seed(case, largest.id, automatic)
    logic.addLesionAt(_ras_of_ijk(case.ct, ijk), artery="RCA", reader="Dr Test")
    return [Edit("exclude", lesion=largest.id, reason="aortic"), Edit("artery", lesion=second.id, artery=other),
            Edit("add", point_lps_mm=tuple(lps), artery="RCA")]


def _assert_nodes_show(logic, node, expected):
    table = node.arteryTable
    assert _total(table, "Agatston") == pytest.approx(expected.score.agatston, abs=1e-6)
    for artery, entry in expected.score.per_artery.items():
        row = _column(table, "Artery").index(artery)
        assert _column(table, "Agatston")[row] == pytest.approx(entry.agatston, abs=1e-6), artery
        assert _column(table, "Lesions")[row] == entry.lesion_count, artery
    counted = sorted(lesion.id for lesion in expected.score.lesions)
    rows = [int(value) for value, artery in zip(_column(node.lesionTable, "Lesion"), _column(node.lesionTable, "Artery"))
            if not artery.startswith(("excluded", "not counted"))]
    assert sorted(rows) == counted
    segments = node.calciumSegmentation.GetSegmentation()
    names = sorted(segments.GetNthSegment(index).GetName() for index in range(segments.GetNumberOfSegments()))
    assert names == sorted("%s calcium" % artery for artery, entry in expected.score.per_artery.items()
                           if entry.lesion_count)


def test_edits_on_the_nodes_give_the_cores_reviewed_scores_and_undo_returns_to_them(module, severe):
    logic, node, automatic = _reviewed(module, severe)
    automaticAgatston = automatic.agatston
    assert automatic.lesions
    coreEdits = _edits(module, logic, node, severe, automatic)

    expected = _core_reviewed(severe, coreEdits)
    reviewed = logic.lastAssessment
    assert reviewed.reviewed and len(reviewed.review.edits) == 3
    assert reviewed.score.agatston == pytest.approx(expected.score.agatston, abs=1e-6)
    assert reviewed.score.volume_mm3 == pytest.approx(expected.score.volume_mm3, abs=1e-6)
    assert reviewed.score.category.cac_drs == expected.score.category.cac_drs
    # the added lesion is the excluded one grown back whole, now in RCA: the RCA score gained exactly its Agatston
    added = reviewed.review.edits[2].lesion
    largest = reviewed.review.edits[0].lesion
    lesions = {lesion.id: lesion for lesion in reviewed.score.lesions}
    assert lesions[added].artery == "RCA"
    assert lesions[added].agatston == pytest.approx({l.id: l for l in automatic.lesions}[largest].agatston, abs=1e-6)
    _assert_nodes_show(logic, node, expected)
    arteries = dict(zip(_column(node.lesionTable, "Lesion"), _column(node.lesionTable, "Artery")))
    assert arteries[float(largest)] == "excluded by reader: aortic"
    assert arteries[float(added)] == "RCA"
    summary = dict(zip(_column(node.summaryTable, "Item"), _column(node.summaryTable, "Value")))
    assert summary["Review"].startswith("reviewed by Dr Test on ") and summary["Review"].endswith("(3 edits)")
    assert _column(node.summaryTable, "Item").count("Edit") == 3
    kept = json.loads(node.reviewEdits)
    assert [edit["action"] for edit in kept] == ["exclude", "artery", "add"]
    assert all(edit["reader"] == "Dr Test" for edit in kept)

    logic.undo(2)
    expected = _core_reviewed(severe, coreEdits[:1])
    assert logic.lastAssessment.score.agatston == pytest.approx(expected.score.agatston, abs=1e-6)
    assert logic.lastAssessment.score.agatston < automaticAgatston
    _assert_nodes_show(logic, node, expected)
    logic.undo(1)
    assert not logic.lastAssessment.reviewed and node.reviewEdits == ""
    assert dict(zip(_column(node.summaryTable, "Item"), _column(node.summaryTable, "Value")))["Review"] == \
        "automatic (not reviewed)"
    assert _total(node.arteryTable, "Agatston") == pytest.approx(automaticAgatston, abs=1e-9)


def test_a_saved_scene_reopens_reviewed_and_exports_the_reviewed_result(module, scene, severe, tmp_path):
    logic, node, automatic = _reviewed(module, severe)
    coreEdits = _edits(module, logic, node, severe, automatic)
    expected = _core_reviewed(severe, coreEdits)
    keptEdits = node.reviewEdits

    bundle = str(tmp_path / "reviewed.mrb")
    assert scene.WriteToMRB(bundle)
    scene.Clear(1)
    assert scene.GetFirstNodeByClass("vtkMRMLTableNode") is None
    # opened as Slicer opens a .mrb (unpack, then read its scene; ReadFromMRB itself needs the application's cache)
    (tmp_path / "unpacked").mkdir()
    unpacked = scene.UnpackSlicerDataBundle(bundle, str(tmp_path / "unpacked"))
    assert unpacked and os.path.isfile(unpacked)
    scene.SetURL(unpacked)
    assert scene.Connect()

    reopened = module.CoronaryCalciumLogic()
    again = reopened.getParameterNode()
    assert again.reviewEdits == keptEdits
    assert again.lesionIds is not None
    # the saved tables show the reviewed score before anything is recomputed (Slicer's table file keeps 6 digits)
    assert _total(again.arteryTable, "Agatston") == pytest.approx(expected.score.agatston, rel=1e-5)
    restored = reopened.restoreReview()
    assert restored.reviewed and [edit.action for edit in restored.review.edits] == ["exclude", "artery", "add"]
    assert restored.score.agatston == pytest.approx(expected.score.agatston, abs=1e-6)
    assert restored.automatic_score.agatston == pytest.approx(automatic.agatston, abs=1e-9)
    _assert_nodes_show(reopened, again, expected)

    # the review goes on in the reopened scene, and Export writes the reviewed result with its edits
    reopened.undo(1)
    expected = _core_reviewed(severe, coreEdits[:2])
    assert reopened.lastAssessment.score.agatston == pytest.approx(expected.score.agatston, abs=1e-6)
    written = reopened.exportResults(str(tmp_path / "export"))
    with open([path for path in written if path.endswith("result.json")][0], encoding="utf-8") as stream:
        result = json.load(stream)
    assert result["reviewed"] is True and len(result["review"]["edits"]) == 2
    assert result["agatston"] == pytest.approx(expected.score.agatston, abs=1e-3)
    assert result["review"]["automatic"]["agatston"] == pytest.approx(automatic.agatston, abs=1e-3)
    assert os.path.isfile(os.path.join(str(tmp_path / "export"), "report.html"))


def _state(logic, node):
    return (node.reviewEdits, _column(node.arteryTable, "Agatston"), _column(node.lesionTable, "Artery"),
            logic.lastAssessment.score.agatston, len(logic.lastAssessment.review.edits))


def test_bad_edits_are_one_line_errors_and_change_nothing(module, severe):
    from CoronaryCalciumLib.errors import InputError

    logic, node, automatic = _reviewed(module, severe)
    first = automatic.lesions[0].id
    logic.excludeLesion(first, "noise")
    before = _state(logic, node)
    counts = slicer_real.node_counts(node.parameterNode.GetScene())
    air = _ras_of_ijk(severe.ct, (0, 0, 0))  # a corner voxel: air, below the threshold
    bad = [
        lambda: logic.setArtery(999, "LAD"),
        lambda: logic.setArtery(first, "LXX"),
        lambda: logic.excludeLesion(automatic.lesions[-1].id, "because"),
        lambda: logic.excludeLesion(first, "noise"),  # already excluded
        lambda: logic.includeLesion(automatic.lesions[-1].id),  # counted already
        lambda: logic.addLesionAt((5000.0, 5000.0, 5000.0)),  # outside the CT
        lambda: logic.addLesionAt(air),
        lambda: logic.undo(5),
    ]
    for attempt in bad:
        with pytest.raises(InputError) as error:
            attempt()
        assert "\n" not in str(error.value) and str(error.value)
        assert logic.isUserError(error.value)
        assert _state(logic, node) == before
    assert slicer_real.node_counts(node.parameterNode.GetScene()) == counts


def test_a_changed_ct_refuses_the_kept_review(module, scene, severe):
    from CoronaryCalciumLib.errors import InputError

    logic, node, automatic = _reviewed(module, severe)
    logic.excludeLesion(automatic.lesions[0].id, "noise")
    kept = node.reviewEdits
    import slicer

    slicer.util.arrayFromVolume(severe.ct)[0, 0, 0] += 1  # one voxel of the CT in the scene changed
    slicer.util.arrayFromVolumeModified(severe.ct)
    fresh = module.CoronaryCalciumLogic()  # as after reopening the scene: nothing in memory
    with pytest.raises(InputError, match="SHA-256"):
        fresh.restoreReview(node)
    with pytest.raises(InputError, match="SHA-256"):
        fresh.setArtery(automatic.lesions[-1].id, "RCA", parameterNode=node)
    assert node.reviewEdits == kept


def test_a_markups_point_on_a_ct_under_a_rigid_transform_adds_the_calcium_under_it(module, scene, severe):
    import vtk

    transform = vtk.vtkTransform()
    transform.Translate(41.0, -23.5, 12.0)
    transform.RotateWXYZ(17.0, 0.3, 0.2, 1.0)
    moved = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "rigid")
    moved.SetMatrixTransformToParent(transform.GetMatrix())
    severe.ct.SetAndObserveTransformNodeID(moved.GetID())
    severe.segmentation.SetAndObserveTransformNodeID(moved.GetID())
    logic, node, automatic = _reviewed(module, severe)
    largest = max(automatic.lesions, key=lambda lesion: lesion.agatston)
    logic.excludeLesion(largest.id, "other")
    ijk, _lps = _seed(severe, largest.id, automatic)
    point = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "click")
    point.AddControlPointWorld(vtk.vtkVector3d(*transform.TransformPoint(_ras_of_ijk(severe.ct, ijk))))

    reviewed = logic.addLesionAt(point, artery="LM")
    added = {lesion.id: lesion for lesion in reviewed.score.lesions}[reviewed.review.edits[-1].lesion]
    assert added.artery == "LM"
    assert added.agatston == pytest.approx(largest.agatston, abs=1e-6)
    assert added.volume_mm3 == pytest.approx(largest.volume_mm3, abs=1e-6)
    from CoronaryCalciumLib.errors import InputError

    with pytest.raises(InputError, match="no point"):
        logic.addLesionAt(scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "empty"))
