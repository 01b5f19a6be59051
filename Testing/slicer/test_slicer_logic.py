"""The module's Logic run end to end on stand-in MRML nodes (Testing/slicer_standins): volume and segmentation nodes
in, the core's scoring, nodes out.

The stand-ins hold voxels as numpy arrays and geometry as Slicer's IJK-to-RAS matrix, so these tests check what the
adapter adds: RAS <-> LPS conversion, segment-to-artery mapping, the output nodes and their content, errors, cancel, and
the TotalSegmentator subprocess streaming its log (with a stand-in TotalSegmentator program). They cannot check
Slicer's own behaviour (see the README, section Slicer module).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time

import numpy as np
import pytest

from CoronaryCalciumLib.reporting import display
from support import slicer_standins

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


from support.slicer_standins.fixtures import _slicer_standins, module  # noqa: F401,E402  (pytest fixtures)


@pytest.fixture
def scene(module):
    return slicer_standins.reset_scene()


def _ras_matrix(spacing, origin_ras, angle_deg=0.0):
    """IJK-to-RAS of an axial grid rotated in-plane by ``angle_deg`` (as a tilted reconstruction would be)."""
    a = np.radians(angle_deg)
    rotation = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    directions = np.diag([-1.0, -1.0, 1.0]) @ rotation  # LPS-aligned axes seen in RAS
    matrix = np.eye(4)
    matrix[:3, :3] = directions @ np.diag(spacing)
    matrix[:3, 3] = origin_ras
    return matrix


def _chest(shape=(12, 80, 80), background=40):
    array = np.full(shape, background, dtype=np.int16)
    array[:, :4, :] = -1000
    array[:, :, :4] = -1000
    return array


# plaques: (z range, y range, x range, HU); each sits in its artery's box below
PLAQUES = {"LAD": ((4, 6), (20, 24), (30, 34), 420), "LCX": ((6, 7), (44, 47), (56, 59), 260),
           "RCA": ((8, 10), (60, 63), (14, 17), 330)}
BOXES = {"LAD": (slice(None), slice(15, 30), slice(25, 40)), "LCX": (slice(None), slice(40, 52), slice(50, 64)),
         "RCA": (slice(None), slice(55, 70), slice(8, 22))}


def _case(module, names=None, angle=0.0, plaques=PLAQUES):
    """A volume node and a segmentation node with one segment per artery box, named ``names[artery]``."""
    import slicer

    array = _chest()
    for (z0, z1), (y0, y1), (x0, x1), hu in plaques.values():
        array[z0:z1, y0:y1, x0:x1] = hu
    volume = slicer.util.addVolumeFromArray(array, _ras_matrix((0.6, 0.6, 3.0), (20.0, -35.0, 110.0), angle), "CT")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "arteries")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    for artery, box in BOXES.items():
        mask = np.zeros(array.shape, dtype=np.uint8)
        mask[box] = 1
        segment_id = segmentation.GetSegmentation().AddEmptySegment("seg_" + artery, (names or {}).get(artery, artery))
        slicer.util.updateSegmentBinaryLabelmapFromArray(mask, segmentation, segment_id, volume)
    return volume, segmentation, array


def _core_assessment(array, matrix, names, settings=None):
    """The core alone on the same voxels: what the Logic must reproduce."""
    from CoronaryCalciumLib.io.ct import ct_from_array
    from CoronaryCalciumLib.pipeline import assess
    from CoronaryCalciumLib.region.mask import region_from_array

    lps = np.diag([-1.0, -1.0, 1.0]) @ matrix[:3, :3]
    spacing = np.linalg.norm(lps, axis=0)
    origin = np.diag([-1.0, -1.0, 1.0]) @ matrix[:3, 3]
    ct = ct_from_array(array, spacing, origin, tuple((lps / spacing).ravel()))
    labels = np.zeros(array.shape, dtype=np.uint8)
    mapping = {}
    for value, artery in enumerate(BOXES, start=1):
        labels[BOXES[artery]] = value
        mapping[value] = names.get(artery, artery)
    return assess(ct, region_from_array(labels, mapping), settings)


# --------------------------------------------------------------------------------------------------------------------
# geometry


def test_volume_geometry_matches_the_core_file_loader(module, scene, tmp_path):
    """A NRRD written in LPS (oblique, flipped axes) read by the core, and the same file as Slicer holds it (RAS =
    LPS with x and y negated), give the same CT grid through the Logic."""
    import SimpleITK as sitk
    import slicer
    from CoronaryCalciumLib.io.ct import load_ct

    array = _chest((6, 40, 50))
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.7, 0.8, 2.5))
    image.SetOrigin((12.0, -30.0, 100.0))
    a = np.radians(25)
    direction = np.array([[np.cos(a), 0, -np.sin(a)], [np.sin(a), 0, np.cos(a)], [0, -1, 0]])  # oblique, flipped
    image.SetDirection(tuple(direction.ravel()))
    path = str(tmp_path / "ct.nrrd")
    sitk.WriteImage(image, path)
    core_ct = load_ct(path)

    slicer_matrix = np.eye(4)
    slicer_matrix[:3, :3] = np.diag([-1.0, -1.0, 1.0]) @ direction @ np.diag(image.GetSpacing())
    slicer_matrix[:3, 3] = np.diag([-1.0, -1.0, 1.0]) @ np.array(image.GetOrigin())
    node = slicer.util.addVolumeFromArray(core_ct.array, slicer_matrix, "oblique")
    ct = module.CoronaryCalciumLogic().ctFromVolumeNode(node)

    assert np.allclose(ct.geometry.spacing, core_ct.geometry.spacing)
    assert np.allclose(ct.geometry.origin, core_ct.geometry.origin)
    assert np.allclose(ct.geometry.direction, core_ct.geometry.direction)
    assert np.shares_memory(ct.array, node._array), "the CT must share the node's voxels, not copy them"
    assert np.allclose(module.ijkToRasOfGeometry(core_ct.geometry), slicer_matrix)


def test_lesion_rows_give_the_ras_position_slicer_shows(module, scene):
    """Clicking a lesion row jumps to its centroid in RAS: it must be the RAS position of the plaque's voxels."""
    import slicer

    volume, segmentation, _array = _case(module, angle=30.0)
    logic = module.CoronaryCalciumLogic()
    assessment = logic.process(volume, segmentation, model=None)
    import vtk

    node_matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(node_matrix)
    matrix = slicer.util.arrayFromVTKMatrix(node_matrix)
    table = logic.outputs.lesionTable
    columns = {table.GetColumnName(c): c for c in range(table.GetNumberOfColumns())}
    rows = {table.GetCellText(r, columns["Artery"]): r for r in range(table.GetNumberOfRows())}
    for artery, ((z0, z1), (y0, y1), (x0, x1), _hu) in PLAQUES.items():
        centre_ijk = np.array([(x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, (z0 + z1 - 1) / 2, 1.0])
        expected = (matrix @ centre_ijk)[:3]
        row = rows[artery]
        got = [float(table.GetCellText(row, columns[axis])) for axis in "RAS"]
        assert np.allclose(got, expected, atol=1e-6), (artery, got, expected)
    shown = {row["artery"]: row["ras"] for row in module.lesionRows(assessment)}
    assert np.allclose(shown["LAD"], [float(table.GetCellText(rows["LAD"], columns[a])) for a in "RAS"])


# --------------------------------------------------------------------------------------------------------------------
# scoring through the Logic


def test_process_scores_as_the_core_and_writes_the_nodes(module, scene):
    import slicer
    from CoronaryCalciumLib.region.arteries import ARTERY_COLORS

    volume, segmentation, array = _case(module)
    logic = module.CoronaryCalciumLogic()
    progress = []
    from CoronaryCalciumLib.scoring.agatston import scoring_settings

    assessment = logic.process(volume, segmentation, scoring=scoring_settings(kvp=120.0, calibration_factor=0.0008),
                               model=None, progress=lambda f, m: progress.append(f))
    matrix = _ras_matrix((0.6, 0.6, 3.0), (20.0, -35.0, 110.0))
    from CoronaryCalciumLib.scoring.agatston import ScoringSettings

    direct = _core_assessment(array, matrix, {}, ScoringSettings(kvp=120.0, calibration_factor=0.0008))

    score = assessment.score
    assert score.agatston == pytest.approx(direct.score.agatston, abs=1e-9) and score.agatston > 0
    assert score.volume_mm3 == pytest.approx(direct.score.volume_mm3)
    assert score.mass_mg == pytest.approx(direct.score.mass_mg)
    for artery in ("LM", "LAD", "LCX", "RCA", "unassigned"):
        assert score.per_artery[artery].agatston == pytest.approx(direct.score.per_artery[artery].agatston)
    assert {lesion.artery for lesion in score.lesions} == {"LAD", "LCX", "RCA"}
    assert score.category.cac_drs.endswith("/N3")
    assert progress == sorted(progress) and progress[-1] == 1.0

    outputs = logic.outputs
    assert outputs.regionSegmentation is segmentation
    calcium = outputs.calciumSegmentation.GetSegmentation()
    assert [calcium.GetNthSegmentID(i) for i in range(calcium.GetNumberOfSegments())] == \
        ["calcium_LAD", "calcium_LCX", "calcium_RCA"]
    values = {"LM": 1, "LAD": 2, "LCX": 3, "RCA": 4, "unassigned": 5}
    by_artery = score.artery_label_volume(values)
    codes = {"LAD": "59438005", "LCX": "57396003", "RCA": "13647002"}
    for artery in ("LAD", "LCX", "RCA"):
        segment = calcium.GetSegment("calcium_" + artery)
        assert segment.GetName() == "%s calcium" % artery
        assert segment.GetColor() == pytest.approx(ARTERY_COLORS[artery])
        assert np.array_equal(segment.labelmap, (by_artery == values[artery]).astype(np.uint8))
        terminology = segment._tags[slicer.vtkSegment.GetTerminologyEntryTagName()]
        assert "SCT^18115005^" in terminology and "SCT^%s^" % codes[artery] in terminology

    arteries = outputs.arteryTable
    assert arteries.GetNumberOfRows() == 6
    assert [arteries.GetCellText(r, 0) for r in range(6)] == ["LM", "LAD", "LCX", "RCA", "unassigned", "Total"]
    assert float(arteries.GetCellText(5, 1)) == pytest.approx(score.agatston, rel=1e-5)
    assert arteries.GetColumnUnitLabel("Volume") == "mm3" and arteries.GetColumnUnitLabel("Mass") == "mg"
    assert arteries.GetColumnUnitLabel("Integrated mass") == "mg"
    integrated = [arteries.GetColumnName(c) for c in range(arteries.GetNumberOfColumns())].index("Integrated mass")
    assert float(arteries.GetCellText(5, integrated)) == pytest.approx(score.integrated_mass_mg, rel=1e-5)
    assert outputs.lesionTable.GetNumberOfRows() == len(score.lesions) == 3
    summary = outputs.summaryTable
    items = {summary.GetCellText(r, 0): summary.GetCellText(r, 1) for r in range(summary.GetNumberOfRows())}
    assert items["CAC-DRS"] == score.category.cac_drs and items["Setting: threshold_hu"] == "130.0"
    assert outputs.featureTable is None and outputs.featureChart is None  # classifier off
    assert logic.lastAssessment is assessment


def test_segment_names_choose_the_artery(module, scene):
    """Long artery names map to LAD/LCX/RCA; a segment that names no artery is scored as unassigned calcium."""
    volume, segmentation, _array = _case(module, names={"LAD": "Left anterior descending artery", "LCX": "Circumflex",
                                                        "RCA": "heart"})
    assessment = module.CoronaryCalciumLogic().process(volume, segmentation, model=None)
    arteries = sorted(lesion.artery for lesion in assessment.score.lesions)
    assert arteries == ["LAD", "LCX", "unassigned"]
    assert assessment.score.per_artery["unassigned"].agatston > 0


def test_only_the_selected_segments_are_the_region(module, scene):
    volume, segmentation, _array = _case(module)
    assessment = module.CoronaryCalciumLogic().process(volume, segmentation, segmentIds=["seg_LAD", "seg_RCA"],
                                                       model=None)
    assert sorted(lesion.artery for lesion in assessment.score.lesions) == ["LAD", "RCA"]


def test_parameter_node_choices_reach_the_core_and_outputs_are_reused(module, scene):

    volume, segmentation, _array = _case(module)
    logic = module.CoronaryCalciumLogic()
    node = logic.getParameterNode()
    node.inputVolume = volume
    node.regionSource = module.RegionSource.SEGMENTATION
    node.inputSegmentation = segmentation
    node.inputSegmentIds = "seg_LAD,seg_LCX,seg_RCA"
    node.kvp = module.TubeVoltage.KV100
    node.runClassifier = False
    first = logic.processParameterNode(node)
    assert first.score.settings["threshold_hu"] == 145.0 and first.score.settings["kvp_source"] == "user"
    tables = scene.GetNumberOfNodesByClass("vtkMRMLTableNode")
    ids = (node.calciumSegmentation.GetID(), node.lesionTable.GetID(), node.arteryTable.GetID())

    node.useCustomThreshold = True
    node.thresholdHU = 300.0
    second = logic.processParameterNode(node)
    assert second.score.settings["threshold_hu"] == 300.0
    assert len(second.score.lesions) == 2  # the 260 HU plaque is below 300 HU
    assert (node.calciumSegmentation.GetID(), node.lesionTable.GetID(), node.arteryTable.GetID()) == ids
    assert scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == tables
    assert node.lesionTable.GetNumberOfRows() == 2
    assert node.regionSegmentation is None  # the input segmentation is the region: no copy is written
    assert module.CoronaryCalciumLogic.missingInput(node) == ""
    node.inputSegmentation = None
    assert "segmentation" in module.CoronaryCalciumLogic.missingInput(node)


def test_a_cancel_raised_by_the_progress_callback_stops_before_any_output(module, scene):
    volume, segmentation, _array = _case(module)

    def progress(fraction, message):
        if fraction >= 0.6:
            raise module.AssessmentCancelled()

    with pytest.raises(module.AssessmentCancelled):
        module.CoronaryCalciumLogic().process(volume, segmentation, model=None, progress=progress)
    assert scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == 0
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == 1  # only the input
    assert scene.GetNumberOfNodesByClass("vtkMRMLLabelMapVolumeNode") == 0  # temporary export node removed


# --------------------------------------------------------------------------------------------------------------------
# bad input


def test_bad_inputs_raise_the_cores_one_line_errors(module, scene):
    import slicer
    from CoronaryCalciumLib.errors import ContrastError, InputError, RegionError

    logic = module.CoronaryCalciumLogic()
    volume, segmentation, array = _case(module)
    with pytest.raises(InputError):
        logic.process(None, segmentation)
    empty = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "empty")
    with pytest.raises(RegionError, match="no segments"):
        logic.process(volume, empty)
    blank = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "blank")
    blank.GetSegmentation().AddEmptySegment("s", "LAD")
    blank.GetSegmentation().GetSegment("s").labelmap = np.zeros(array.shape, dtype=np.uint8)
    with pytest.raises(RegionError, match="empty"):
        logic.process(volume, blank)
    node = logic.getParameterNode()
    node.inputVolume = volume
    node.regionSource = module.RegionSource.SEGMENTATION
    with pytest.raises(RegionError, match="needs a segmentation"):
        logic.processParameterNode(node)
    with pytest.raises(RegionError):
        logic.process(volume, segmentation, segmentIds=["no_such_segment"])

    enhanced = array.copy()
    enhanced[enhanced == 40] = 300  # blood and soft tissue above 130 HU: a contrast CT
    contrast = slicer.util.addVolumeFromArray(enhanced, _ras_matrix((0.6, 0.6, 3.0), (0, 0, 0)), "CTA")
    with pytest.raises(ContrastError):
        logic.process(contrast, segmentation, model=None)
    from CoronaryCalciumLib.scoring.agatston import scoring_settings

    forced = logic.process(contrast, segmentation, scoring=scoring_settings(allow_contrast=True), model=None)
    assert any("CONTRAST" in warning for warning in forced.warnings)
    assert logic.isUserError(RegionError("x")) and not logic.isUserError(ValueError("x"))


# --------------------------------------------------------------------------------------------------------------------
# classifier


def test_classifier_that_cannot_run_leaves_the_scores_and_says_why(module, scene, monkeypatch, tmp_path):
    """No usable model: the scores stand, the verdict says the classifier did not run, and why."""
    monkeypatch.setenv("CORONARY_CALCIUM_MODELS", str(tmp_path))  # an empty models folder: no shipped model
    volume, segmentation, _array = _case(module)
    assessment = module.CoronaryCalciumLogic().process(volume, segmentation)
    assert assessment.classifier is None and assessment.score.agatston > 0
    reason = assessment.classifier_not_run.reason
    assert "model" in reason and "classifier not run: " + reason in assessment.warnings
    verdict, detail = display.classifier_texts(assessment)
    assert verdict == "Classifier: not run: %s" % reason and detail == ""
    assert display.top_features(assessment) == []


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """A small classifier trained here on fabricated cases (classifier_cohort), the way a researcher trains one; the
    training run records it in a private trust registry. Returns (model folder, config folder)."""
    pytest.importorskip("radiomics")
    from support.classifier_cohort import train_small_model

    root = tmp_path_factory.mktemp("slicer_cohort")
    config = str(root / "config")
    out = train_small_model(str(root), 24, 3, config, "Slicer module test cohort", ["--bootstrap", "50"])
    return os.path.join(out, "binary"), config


def test_classifier_verdict_and_feature_chart(module, scene, trained_model, monkeypatch):
    """With a trusted model: the verdict with its probability and the model's name, and a bar chart of the case's
    top feature contributions backed by a table node."""
    import slicer
    from support.classifier_cohort import make_case

    model_dir, config = trained_model
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", config)
    ct, region = make_case(9003, 3)  # a heavily calcified fabricated case
    volume = slicer.util.addVolumeFromArray(ct.array, module.ijkToRasOfGeometry(ct.geometry), "fabricated")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tube")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    segmentation.GetSegmentation().AddEmptySegment("lad", "LAD")
    slicer.util.updateSegmentBinaryLabelmapFromArray((region.labels > 0).astype(np.uint8), segmentation, "lad", volume)

    logic = module.CoronaryCalciumLogic()
    assessment = logic.process(volume, segmentation, model=model_dir)
    prediction = assessment.classifier
    assert prediction is not None, assessment.warnings
    assert prediction.label in ("zero", "non-zero") and 0.0 <= prediction.probability <= 1.0
    verdict, detail = display.classifier_texts(assessment)
    assert "%.2f" % prediction.probability in verdict and prediction.model_name in detail
    assert "synthetic" in detail  # trained with --synthetic: the panel says it is not clinically validated
    features = display.top_features(assessment)
    assert 0 < len(features) <= 10
    assert [value for _name, value in features] == [c.contribution for c in prediction.top_contributions[:10]]
    table, chart = logic.outputs.featureTable, logic.outputs.featureChart
    assert table.GetNumberOfRows() == len(features)
    assert table.GetColumnUnitLabel("Contribution") == prediction.contribution_units
    series = chart.GetPlotSeriesNode()
    assert series.settings["table"] == table.GetID()
    assert series.settings["type"] == slicer.vtkMRMLPlotSeriesNode.PlotTypeBar
    assert series.settings["label"] == "Feature" and series.settings["y"] == "Contribution"

    # a scene reopened with a kept review rebuilds the assessment from its JSON: the same verdict and features
    from CoronaryCalciumLib.result import Assessment

    reopened = Assessment.from_dict(json.loads(assessment.to_json()))
    assert display.classifier_texts(reopened) == (verdict, detail)
    assert [name for name, _value in display.top_features(reopened)] == [name for name, _value in features]
    assert [value for _name, value in display.top_features(reopened)] == pytest.approx([v for _n, v in features])
    assert display.feature_units(reopened) == prediction.contribution_units


# --------------------------------------------------------------------------------------------------------------------
# TotalSegmentator in a subprocess: streamed log, cancel


FAKE_TOTALSEGMENTATOR = """\
#!{python}
# Stand-in for PythonSlicer running TotalSegmentator: prints a line every 0.3 s, records its PID, then would run long.
import os, sys, time
with open({pid_file!r}, "w") as stream:
    stream.write(str(os.getpid()))
for step in range(1, 50):
    print("TotalSegmentator step %d" % step, flush=True)
    time.sleep(0.3)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped) is not running
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().split()[2] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shebang script as the Python launcher")
def test_totalsegmentator_log_streams_while_it_runs_and_cancel_stops_it(module, scene, tmp_path, monkeypatch):
    """The Widget keeps Slicer responsive by processing events in the log callback: lines must arrive while the
    subprocess runs, and raising AssessmentCancelled from the callback must stop the subprocess."""
    from CoronaryCalciumLib.region import totalseg_runner

    # TotalSegmentator itself is not installed here: skip its installation check and its config file
    monkeypatch.setattr(totalseg_runner, "require_installed", lambda: None)
    monkeypatch.setattr(totalseg_runner, "prepare_subprocess", lambda settings=None, python=None: None)
    pid_file = tmp_path / "pid"
    launcher = tmp_path / "PythonSlicer"
    launcher.write_text(FAKE_TOTALSEGMENTATOR.format(python=sys.executable, pid_file=str(pid_file)))
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(module.CoronaryCalciumLogic, "pythonExecutable", staticmethod(lambda: str(launcher)))

    volume, _segmentation, _array = _case(module)
    arrivals = []

    def log(line):
        arrivals.append((time.monotonic(), line))
        if len(arrivals) == 3:
            raise module.AssessmentCancelled()

    started = time.monotonic()
    with pytest.raises(module.AssessmentCancelled):
        logic = module.CoronaryCalciumLogic()
        logic.process(volume, totalSegmentator=logic.totalSegmentatorSettings("heart", device="cpu"), model=None,
                      log=log)
    elapsed = time.monotonic() - started
    assert [line for _t, line in arrivals] == ["TotalSegmentator step %d" % i for i in (1, 2, 3)]
    assert arrivals[2][0] - arrivals[0][0] > 0.4, "lines arrived together: the log is not streamed"
    assert elapsed < 10
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "TotalSegmentator kept running after cancel"


# --------------------------------------------------------------------------------------------------------------------
# dependencies


def test_missing_requirements_reflect_this_python(module):
    import importlib.util

    missing = module.CoronaryCalciumLogic.missingRequirements("segmentation", runClassifier=False)
    expected = [req for name, req in module.CORE_REQUIREMENTS if importlib.util.find_spec(name) is None]
    assert missing == expected
    with_ts = module.CoronaryCalciumLogic.missingRequirements("heart", runClassifier=False)
    assert ("torch" in with_ts) == (importlib.util.find_spec("torch") is None)
    assert ("TotalSegmentator" in with_ts) == (importlib.util.find_spec("totalsegmentator") is None)


def test_install_order_and_options(module, scene, monkeypatch):
    """numpy first, pyradiomics without build isolation, torch only through the PyTorch extension; a package still
    not importable afterwards asks for a restart."""
    import types

    import slicer

    logic = module.CoronaryCalciumLogic()
    installed = []

    class TorchLogic:
        def torchInstalled(self):
            return False

        def installTorch(self, askConfirmation=False, torchVersionRequirement=None, **kwargs):
            installed.append(("torch", askConfirmation, torchVersionRequirement))
            return object()

    monkeypatch.setitem(sys.modules, "PyTorchUtils", types.SimpleNamespace(PyTorchUtilsLogic=TorchLogic))
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: object())  # everything importable afterwards
    logic.installRequirements(["pyradiomics", "numpy", "torch", "scikit-learn"], log=lambda line: None)
    assert slicer.util.pipInstallCalls == ["numpy", "pyradiomics==3.0.1 --no-build-isolation", "scikit-learn"]
    assert installed == [("torch", False, ">=2.0.0")]

    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: None)  # nothing importable: restart needed
    with pytest.raises(module.DependencyError) as raised:
        logic.installRequirements(["scikit-learn"], log=lambda line: None)
    assert raised.value.restartRequired

    monkeypatch.delitem(sys.modules, "PyTorchUtils")
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: object())
    import builtins

    real_import = builtins.__import__

    def no_pytorchutils(name, *args, **kwargs):
        if name == "PyTorchUtils":
            raise ModuleNotFoundError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pytorchutils)
    with pytest.raises(module.DependencyError, match="PyTorch"):
        logic.installRequirements(["torch"], log=lambda line: None)


def test_totalsegmentator_install_keeps_slicers_packages(module, scene, monkeypatch):
    """TotalSegmentator is installed without its dependencies first, then each missing dependency, never torch,
    SimpleITK or requests (Slicer's own builds) nor the PyPI package "slicer" (it would shadow Slicer's module)."""
    import importlib.metadata

    import slicer

    requires = ["torch>=2.1.2", "numpy", "SimpleITK", "nnunetv2>=2.2.1", "requests==2.27.1", "tqdm", "slicer",
                "xvfbwrapper; extra == 'enhanced'", "brand-new-package>=1.0"]
    monkeypatch.setattr(importlib.metadata, "requires", lambda dist: requires)

    def version(name):
        if name in ("nnunetv2", "brand-new-package", "slicer"):
            raise importlib.metadata.PackageNotFoundError(name)
        return "1.0"

    monkeypatch.setattr(importlib.metadata, "version", version)
    module.CoronaryCalciumLogic.installWithoutProtectedPackages("TotalSegmentator", log=lambda line: None)
    assert slicer.util.pipInstallCalls == ["TotalSegmentator --no-deps", "nnunetv2>=2.2.1", "brand-new-package>=1.0"]


# --------------------------------------------------------------------------------------------------------------------
# export and batch


def test_export_writes_the_cores_case_files(module, scene, tmp_path):
    pytest.importorskip("matplotlib")
    volume, segmentation, _array = _case(module)
    logic = module.CoronaryCalciumLogic()
    with pytest.raises(ValueError):
        logic.exportResults(str(tmp_path / "nothing"))
    logic.process(volume, segmentation, model=None)
    written = logic.exportResults(str(tmp_path / "out"))
    names = sorted(os.path.basename(path) for path in written)
    assert names == ["calcium.seg.nrrd", "lesion_ids.nrrd", "lesions.csv", "region.seg.nrrd", "report.html",
                     "result.json"]
    import json

    with open(tmp_path / "out" / "result.json", encoding="utf-8") as stream:
        result = json.load(stream)
    assert result["agatston"] == pytest.approx(logic.lastAssessment.score.agatston)
    assert len(result["lesions"]) == 3


def test_batch_assesses_files_and_adds_nothing_to_the_scene(module, scene, tmp_path):
    import SimpleITK as sitk

    pytest.importorskip("tqdm")
    array = _chest()
    for (z0, z1), (y0, y1), (x0, x1), hu in PLAQUES.values():
        array[z0:z1, y0:y1, x0:x1] = hu
    labels = np.zeros(array.shape, dtype=np.uint8)
    for value, artery in ((2, "LAD"), (3, "LCX"), (4, "RCA")):
        labels[BOXES[artery]] = value
    folder = tmp_path / "cases"
    folder.mkdir()
    for name, data in (("case1.nii.gz", array), ("case1_mask.nii.gz", labels)):
        image = sitk.GetImageFromArray(data)
        image.SetSpacing((0.6, 0.6, 3.0))
        sitk.WriteImage(image, str(folder / name))
    report = module.CoronaryCalciumLogic().processFiles([str(folder)], str(tmp_path / "out"), log=lambda line: None)
    assert len(report.rows) == 1 and not report.failed, report.rows
    assert float(report.rows[0]["agatston"]) > 0
    assert scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == 0


# --------------------------------------------------------------------------------------------------------------------
# the module's own self-test (what Slicer's "Reload and Test" runs)


def test_module_self_test_passes_on_the_standins(module, scene):
    """CoronaryCalciumTest generates a phantom, runs the Logic with the phantom's coronary mask, and checks the scores
    against the core and the phantom's truth and that the nodes exist. Here it runs on the stand-ins."""
    module.CoronaryCalciumTest().runTest()


def test_the_lesion_table_lists_lesions_left_out_as_not_coronary_and_the_category_flag(module):
    """A reader sees what a lesion filter took out of the score, and an unreliable category says so."""
    from CoronaryCalciumLib.result import Assessment
    from CoronaryCalciumLib.scoring.agatston import score
    from support.chest_lesions import build, chest, place_lesions

    array, labels, heart, aorta, blood = chest()
    place_lesions(array)
    ct, region = build(array, labels, heart, aorta, blood)
    result = score(ct, region)
    assessment = Assessment(case_id="filters", ct=ct.metadata, score=result)
    rows = module.lesionRows(assessment)
    assert len(rows) == len(result.lesions) + len(result.excluded_lesions)
    shown = [row["artery"] for row in rows]
    assert shown[:len(result.lesions)] == [l.artery for l in sorted(result.lesions, key=lambda l: -l.agatston)]
    assert {"not counted: air_rim", "not counted: soft_tissue_noise", "not counted: aortic_wall"} <= set(shown)
    assert "UNRELIABLE" not in display.score_texts(assessment)["category"]
    result.image_quality.reasons.append("image noise 45 HU in the blood pool is above 30 HU")
    assert "UNRELIABLE" in display.score_texts(assessment)["category"]
