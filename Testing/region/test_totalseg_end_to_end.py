"""End to end through the real ``totalsegmentator()`` code path (no mocking), with tiny nnU-Net models.

The models (``tiny_nnunet``) sit in a temporary weights folder laid out as TotalSegmentator expects, so it skips its
download and runs nnU-Net on them: its crop model, its part models and its label mapping are all exercised. Their
weights decide each voxel's class from its HU value, so the expected masks are known exactly on the synthetic scene.

Needs the ``totalsegmentator`` extra (torch, nnU-Net); skipped without it unless CORONARY_CALCIUM_REQUIRE_TOTALSEG=1
(as in CI), which makes its absence a failure. Runs in about 3-4 minutes on 2 cores (each TotalSegmentator
prediction starts nnU-Net worker processes: about 10 s each).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from CoronaryCalciumLib.region import totalseg_region
from CoronaryCalciumLib.region import totalseg_runner
from CoronaryCalciumLib.errors import RegionError

pytestmark = pytest.mark.slow

LICENCE = "aca_TESTLICENCE123"  # 18 characters: passes TotalSegmentator's offline check; never sent anywhere


def _require_totalsegmentator():
    if totalseg_runner.is_installed():
        return
    message = "TotalSegmentator extra not installed (%s)" % totalseg_runner.EXTRA_INSTALL
    if os.environ.get("CORONARY_CALCIUM_REQUIRE_TOTALSEG") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    _require_totalsegmentator()
    from support import tiny_nnunet

    folder = str(tmp_path_factory.mktemp("totalseg_weights"))
    specs = tiny_nnunet.build_weights(folder)
    return folder, specs


def _home(tmp_path, licence=None):
    from support import tiny_nnunet

    home = str(tmp_path / "totalseg_home")
    tiny_nnunet.write_totalseg_config(home, license_number=licence)
    return home


def _settings(backend, weights_dir, home, fast=False, **changes):
    ts = totalseg_runner.TotalSegSettings(device="cpu", fast=fast, home_dir=home, weights_dir=weights_dir)
    return totalseg_region.TotalSegRegionSettings(backend=backend, totalseg=ts, **changes)


def test_weights_folder_is_laid_out_as_totalsegmentator_expects(weights):
    from totalsegmentator.map_tasks_config import TASK_ID_WEIGHTS_CONFIGS

    folder, specs = weights
    for task_id, spec in specs.items():
        dataset = os.path.join(folder, TASK_ID_WEIGHTS_CONFIGS[task_id]["foldername"])
        assert os.path.isdir(dataset), task_id  # TotalSegmentator downloads only when this folder is missing
        model = os.path.join(folder, spec.model_folder)
        for name in ("plans.json", "dataset.json", os.path.join("fold_0", "checkpoint_final.pth")):
            assert os.path.isfile(os.path.join(model, name)), (task_id, name)
    assert specs[509].trainer == "nnUNetTrainerSkeletonRecall"
    assert specs[509].configuration == "3d_fullres_high"
    assert specs[293].labels[1] == "heart" and specs[293].labels[2] == "aorta"


def test_heart_backend_reads_maps_and_builds_the_shell(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    # flipped y and z axes: the CT -> NIfTI -> TotalSegmentator (canonical RAS) -> back round trip must keep the grid
    ct, truth = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(), direction=(1, 0, 0, 0, -1, 0, 0, 0, -1))
    result = totalseg_region.build_region(ct, _settings("heart", folder, _home(tmp_path)))

    # TotalSegmentator's cardiac part labels heart 1 and aorta 2; its output numbers them 51 and 52 (the 'total' map);
    # our reading must give back exactly the scene's heart and aorta on the CT grid
    assert result.region.labels.shape == ct.array.shape
    assert np.array_equal(result.heart, truth["heart"])
    assert np.array_equal(result.aorta, truth["aorta"])
    assert [run.task for run in result.runs] == ["total"] and not result.runs[0].fast

    expected = totalseg_region.heart_shell(truth["heart"], truth["aorta"], ct.geometry, _settings("heart", folder, "x"),
                                        image=ct.array)
    assert np.array_equal(result.region.labels > 0, expected)
    assert set(result.region.names.values()) <= {"LM", "LAD", "LCX", "RCA"}
    margin = totalseg_region.TotalSegRegionSettings().aorta_margin_mm
    near_aorta = totalseg_region.dilate_mm(truth["aorta"], ct.geometry, margin)
    assert not np.any((result.region.labels > 0) & near_aorta)
    assert result.region.blood_pool is not None
    assert np.all(truth["aorta"][result.region.blood_pool > 0])


def test_fast_mode_on_a_finer_grid_is_resampled_onto_the_ct_grid(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    ct, truth = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(), spacing_xyz=(0.75, 0.75, 1.5))
    settings = _settings("heart", folder, _home(tmp_path), fast=None, working_spacing_mm=1.5)
    result = totalseg_region.build_region(ct, settings)

    assert result.runs[0].fast  # None on the CPU -> the 3 mm model, which the total task has
    assert any("resampled nearest-neighbour onto the CT grid" in w for w in result.region.warnings)
    assert any("resampled to 1.5x1.5x1.5 mm" in w for w in result.region.warnings)
    assert result.region.labels.shape == ct.array.shape == result.heart.shape
    overlap = np.count_nonzero(result.heart & truth["heart"])
    dice = 2 * overlap / (np.count_nonzero(result.heart) + np.count_nonzero(truth["heart"]))
    assert dice > 0.93  # 3 mm prediction of a 68 x 60 x 52 mm ellipsoid, brought back to 0.75 mm voxels


def test_coronary_backend_with_licence_covers_the_vessel(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    ct, truth = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(vessel=True))
    result = totalseg_region.build_region(ct, _settings("coronary", folder, _home(tmp_path, LICENCE), margin_mm=2.0))

    assert [run.task for run in result.runs] == ["coronary_arteries", "total"]
    assert result.runs[1].fastest  # heart and aorta from the 6 mm model the coronary task already needs
    region = result.region.labels > 0
    vessel = truth["vessel"]
    assert np.all(region[vessel])
    # the region is the vessel grown by 2 mm: nothing beyond 2 mm plus one voxel of resampling slack
    assert not np.any(region & ~totalseg_region.dilate_mm(vessel, ct.geometry, 2.0 + 1.5))
    assert np.count_nonzero(region) > 2 * np.count_nonzero(vessel)
    assert result.heart is not None and result.region.blood_pool is not None


def test_coronary_task_without_licence_is_a_region_error(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(vessel=True))
    with pytest.raises(RegionError, match="needs a licence number"):
        totalseg_region.build_region(ct, _settings("coronary", folder, _home(tmp_path)))


def test_invalid_stored_licence_is_a_region_error(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    home = _home(tmp_path, licence="aca_short")  # written by hand, as an old or mistyped config would hold it
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(vessel=True))
    with pytest.raises(RegionError, match="rejected the licence"):
        totalseg_region.build_region(ct, _settings("coronary", folder, home))


def test_set_license_writes_totalsegmentator_config_offline(tmp_path):
    _require_totalsegmentator()
    home = str(tmp_path / "fresh_home")
    path = totalseg_runner.set_license(LICENCE, totalseg_runner.TotalSegSettings(home_dir=home))
    with open(path) as handle:
        config = json.load(handle)
    assert config["license_number"] == LICENCE
    assert "totalseg_id" in config  # created by TotalSegmentator's own setup


def test_no_heart_is_a_region_error_for_both_backends(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    home = _home(tmp_path, LICENCE)
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(heart=False, aorta=False))
    with pytest.raises(RegionError, match="found no heart.*crop was empty"):
        totalseg_region.build_region(ct, _settings("heart", folder, home))
    with pytest.raises(RegionError, match="found no heart"):
        totalseg_region.build_region(ct, _settings("coronary", folder, home))


def test_coronary_task_finding_nothing_is_a_region_error(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(vessel=False))
    with pytest.raises(RegionError, match="found no coronary arteries"):
        totalseg_region.build_region(ct, _settings("coronary", folder, _home(tmp_path, LICENCE), with_reference=False))


def test_subprocess_runner_streams_progress_and_matches_in_process(weights, tmp_path):
    from support import tiny_nnunet

    folder, _ = weights
    ct, truth = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene())
    fractions, messages, lines = [], [], []

    def progress(fraction, message):
        fractions.append(fraction)
        messages.append(message)

    region = totalseg_region.region_from_totalsegmentator(
        ct, backend="heart", fast=False, device="cpu", in_process=False, python_executable=sys.executable,
        home_dir=_home(tmp_path), weights_dir=folder, progress=progress, log=lines.append)

    assert any(line.startswith("Generating rough segmentation") for line in lines)
    assert any("Predicting part 1 of 1" in line for line in lines)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("predicting part 1 of 1" in m for m in messages)
    expected = totalseg_region.heart_shell(truth["heart"], truth["aorta"], ct.geometry,
                                        totalseg_region.TotalSegRegionSettings(), image=ct.array)
    assert np.array_equal(region.labels > 0, expected)


def test_missing_weights_without_network_is_a_region_error(tmp_path, monkeypatch):
    _require_totalsegmentator()
    from support import tiny_nnunet

    # a proxy on a closed loopback port: any download attempt fails at once, with or without network on this machine
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene())
    empty = str(tmp_path / "no_weights")
    with pytest.raises(RegionError, match="not in .*no_weights and cannot be downloaded"):
        totalseg_region.build_region(ct, _settings("heart", empty, _home(tmp_path)))


def test_licence_is_stored_by_totalsegmentators_tool_in_another_interpreter(tmp_path):
    _require_totalsegmentator()
    script = tmp_path / "other-python"  # stands in for Slicer's PythonSlicer
    script.write_text("#!/bin/sh\nexec %s \"$@\"\n" % sys.executable)
    script.chmod(0o755)
    lines = []
    home = str(tmp_path / "home")
    path = totalseg_region.set_license(LICENCE, python_executable=str(script), log=lines.append,
                                    settings=totalseg_runner.TotalSegSettings(home_dir=home))
    with open(path) as handle:
        assert json.load(handle)["license_number"] == LICENCE
    assert any("License has been successfully saved" in line for line in lines)


def test_an_exception_from_the_log_callback_stops_the_run_unchanged(weights, tmp_path):
    from support import tiny_nnunet

    class Cancelled(Exception):
        pass

    def log(line):
        if line.startswith("Predicting"):
            raise Cancelled("user pressed cancel")

    folder, _ = weights
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene())
    for in_process in (True, False):
        settings = _settings("heart", folder, _home(tmp_path), in_process=in_process,
                             python_executable=None if in_process else sys.executable)
        with pytest.raises(Cancelled):
            totalseg_region.build_region(ct, settings, log=log)


def test_assess_command_with_the_heart_region_writes_a_complete_case(weights, tmp_path):
    """The CLI path: `assess --region heart` builds the region with TotalSegmentator, scores it, writes the files."""
    import SimpleITK as sitk
    from support import tiny_nnunet

    from CoronaryCalciumLib.cli.main import main

    folder, _ = weights
    ct, truth = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene())
    image = sitk.GetImageFromArray(ct.array)
    image.SetSpacing(ct.geometry.spacing)
    image.SetOrigin(ct.geometry.origin)
    image.SetDirection(ct.geometry.direction)
    path = str(tmp_path / "scene.nii.gz")
    sitk.WriteImage(image, path)
    out = str(tmp_path / "out")
    code = main(["assess", path, "--out", out, "--region", "heart", "--device", "cpu", "--no-fast",
                 "--totalseg-weights", folder, "--totalseg-home", _home(tmp_path), "--no-progress", "--no-report",
                 "--allow-contrast"])  # the tiny models' scene has 250 HU blood: it is contrast-enhanced
    assert code == 0
    case = os.path.join(out, sorted(n for n in os.listdir(out) if n.startswith("case-"))[0])
    result = json.load(open(os.path.join(case, "result.json")))
    expected = totalseg_region.heart_shell(truth["heart"], truth["aorta"], ct.geometry, _settings("heart", folder, "x"),
                                        image=ct.array)
    assert result["region"]["voxels"] == int(expected.sum())
    assert set(result["region"]["labels"].values()) <= {"LM", "LAD", "LCX", "RCA"}
    assert os.path.isfile(os.path.join(case, "region.seg.nrrd"))
    # contrast was judged on TotalSegmentator's blood pool (heart/aorta), not on the shell
    assert any("CONTRAST" in w and "blood pool" in w for w in result["warnings"])
