"""Files across the doors: the CLI's .seg.nrrd read by Slicer's own segmentation storage node, the module's exported
files read back by the CLI, and the console batch leaving the scene untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from support import slicer_real


def _assess_cli(image, mask, out):
    """The `coronary-calcium assess` command, as a user runs it (this venv's Python, no classifier)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(slicer_real.REPO_DIR, "CoronaryCalcium"))
    run = subprocess.run([sys.executable, "-m", "CoronaryCalciumLib.cli.main", "assess", image, "--mask", mask,
                          "--out", out, "--model", "none", "--no-progress", "--no-report"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    [case] = [name for name in os.listdir(out) if os.path.isdir(os.path.join(out, name))]
    return os.path.join(out, case)


def test_the_clis_seg_nrrd_is_read_by_slicers_storage_node_with_names_colours_terminology_voxels(
        module, scene, severe, tmp_path):
    import slicer

    from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

    folder = _assess_cli(severe.image, severe.mask, str(tmp_path / "cli"))
    with open(os.path.join(folder, "result.json"), encoding="utf-8") as stream:
        perArtery = json.load(stream)["per_artery"]
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "calcium from the CLI")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    scene.AddNode(storage)
    storage.SetFileName(os.path.join(folder, "calcium.seg.nrrd"))
    assert storage.ReadData(node)
    segments = node.GetSegmentation()
    withCalcium = [artery for artery in ARTERIES_AND_UNASSIGNED if perArtery[artery]["lesion_count"]]
    names = [segments.GetNthSegment(index).GetName() for index in range(segments.GetNumberOfSegments())]
    assert len(names) == len(withCalcium) >= 2

    # the module, on the same CT, writes the same voxels under the same names and colours
    logic = module.CoronaryCalciumLogic()
    logic.process(severe.ct, severe.segmentation, model=None)
    ours = logic.outputs.calciumSegmentation.GetSegmentation()
    for index in range(segments.GetNumberOfSegments()):
        segment = segments.GetNthSegment(index)
        artery = [a for a in withCalcium if segment.GetName().startswith(a)]
        assert artery, segment.GetName()
        mine = ours.GetSegment(ours.GetSegmentIdBySegmentName("%s calcium" % artery[0]))
        assert mine is not None
        assert segment.GetColor() == pytest.approx(mine.GetColor(), abs=1e-3)
        assert slicer_real.resolves(segment.GetTerminology()), segment.GetTerminology()
        fromFile = slicer.util.arrayFromSegmentBinaryLabelmap(node, segments.GetNthSegmentID(index), severe.ct)
        fromModule = slicer.util.arrayFromSegmentBinaryLabelmap(
            logic.outputs.calciumSegmentation, ours.GetSegmentIdBySegmentName("%s calcium" % artery[0]), severe.ct)
        assert np.array_equal(fromFile > 0, fromModule > 0), segment.GetName()


def test_the_modules_exported_files_give_the_cli_the_same_score(module, scene, severe, tmp_path):
    logic = module.CoronaryCalciumLogic()
    result = logic.process(severe.ct, severe.segmentation, model=None)
    written = logic.exportResults(str(tmp_path / "export"))
    region = [path for path in written if path.endswith("region.seg.nrrd")][0]
    folder = _assess_cli(severe.image, region, str(tmp_path / "again"))
    with open(os.path.join(folder, "result.json"), encoding="utf-8") as stream:
        score = json.load(stream)
    assert score["agatston"] == pytest.approx(result.score.agatston, abs=1e-3)
    for artery, entry in result.score.per_artery.items():
        assert score["per_artery"][artery]["agatston"] == pytest.approx(entry.agatston, abs=1e-3), artery


def test_the_console_batch_writes_files_and_leaves_the_scene_untouched(module, scene, phantoms, tmp_path):
    folder = phantoms["severe"]
    before = slicer_real.node_counts(scene)
    report = module.CoronaryCalciumLogic().processFiles([os.path.join(folder, "image.nii.gz")], str(tmp_path / "b"),
                                                        mask=os.path.join(folder, "coronary_exact.nii.gz"),
                                                        model=None)
    assert not report.failed and len(report.rows) == 1
    assert os.path.exists(str(tmp_path / "b" / "summary.csv"))
    assert slicer_real.node_counts(scene) == before
