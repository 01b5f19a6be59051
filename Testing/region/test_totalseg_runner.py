"""Running TotalSegmentator: device and fast-mode choice, command line, environment, licence format, progress from its
log, and the translation of its failures, checked without TotalSegmentator installed (real subprocesses stand in for
its process where the exit matters). The real run is in test_totalseg_end_to_end.py."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from CoronaryCalciumLib.region import totalseg_region
from CoronaryCalciumLib.region import totalseg_runner
from CoronaryCalciumLib.errors import RegionError

# TotalSegmentator 2.18's log of a fast 'total' run with roi_subset, as its python_api and nnU-Net print it
FAST_ROI_SUBSET_LOG = """\
If you use this tool please cite: https://pubs.rsna.org/doi/10.1148/ryai.230024
Using 'fast' option: resampling to lower resolution (3mm)
Generating rough segmentation for cropping...
Resampling...
  Resampled in 0.00s
Predicting...
  0%|          | 0/1 [00:00<?, ?it/s]
100%|##########| 1/1 [00:00<00:00,  4.42it/s]
  Predicted in 7.07s
Resampling...
  cropping from (113, 107, 87) to (85, 71, 77)
Resampling...
Predicting...
  0%|          | 0/4 [00:00<?, ?it/s]
 50%|#####     | 2/4 [00:00<00:00,  3.31it/s]
100%|##########| 4/4 [00:00<00:00,  3.31it/s]
  Predicted in 5.87s
Resampling...
Saving segmentations...
  Saved in 0.00s""".splitlines()

# what TotalSegmentator prints before sys.exit(1) when a licensed task has no licence number in its config
MISSING_LICENCE_LOG = """\
In contrast to the other tasks this task is not openly available.
It requires a license. For non-commercial usage a free license can be
acquired here:
https://backend.totalsegmentator.com/license-academic/""".splitlines()


def test_device_values_are_checked_and_auto_resolves_to_an_available_device():
    assert totalseg_runner.resolve_device("cpu") == "cpu"
    assert totalseg_runner.resolve_device("GPU:1") == "gpu:1"
    assert totalseg_runner.resolve_device("cuda") == "gpu"
    assert totalseg_runner.resolve_device("auto") in ("cpu", "gpu", "mps")
    with pytest.raises(RegionError, match="device 'tpu' not understood"):
        totalseg_runner.resolve_device("tpu")


def test_fast_mode_is_used_on_cpu_where_the_task_has_it():
    assert totalseg_runner.resolve_fast("total", "cpu", None) is True
    assert totalseg_runner.resolve_fast("total", "gpu", None) is False
    assert totalseg_runner.resolve_fast("total", "cpu", False) is False
    assert totalseg_runner.resolve_fast("coronary_arteries", "cpu", None) is False
    with pytest.raises(RegionError, match="has no fast mode"):
        totalseg_runner.resolve_fast("coronary_arteries", "cpu", True)
    assert totalseg_runner.task_is_licensed("coronary_arteries") and not totalseg_runner.task_is_licensed("total")


def test_command_line_for_the_subprocess():
    settings = totalseg_runner.TotalSegSettings(device="cpu", fast=None, license_number="aca_TESTLICENCE123", threads=2)
    command = totalseg_runner.build_command("in.nii", "out.nii.gz", "total", settings, roi_subset=["heart", "aorta"],
                                     python="/opt/slicer/bin/PythonSlicer")
    assert command[:3] == ["/opt/slicer/bin/PythonSlicer", "-m", "totalsegmentator.bin.TotalSegmentator"]
    assert command[command.index("-i") + 1] == "in.nii" and command[command.index("-o") + 1] == "out.nii.gz"
    assert "--ml" in command and command[command.index("--task") + 1] == "total"
    assert command[command.index("--device") + 1] == "cpu" and "--fast" in command
    assert command[command.index("--roi_subset") + 1:] == ["heart", "aorta"]
    assert command[command.index("--nr_thr_saving") + 1] == "2"
    # the licence goes into the config beforehand: on the command line TotalSegmentator would validate it online
    assert not any("aca_" in part for part in command) and "-l" not in command
    coronary = totalseg_runner.build_command("in.nii", "out.nii.gz", "coronary_arteries", settings)
    assert "--fast" not in coronary and "--roi_subset" not in coronary
    assert "--fastest" in totalseg_runner.build_command("in.nii", "o.nii.gz", "total", settings, fastest=True)


def test_subprocess_environment_sets_folders_and_unbuffered_output(tmp_path):
    settings = totalseg_runner.TotalSegSettings(home_dir=str(tmp_path / "home"), weights_dir=str(tmp_path / "w"))
    env = totalseg_runner.subprocess_environment(settings, base={"PATH": "/usr/bin"})
    assert env["TOTALSEG_HOME_DIR"] == str(tmp_path / "home")
    assert env["TOTALSEG_WEIGHTS_PATH"] == str(tmp_path / "w")
    assert env["PYTHONUNBUFFERED"] == "1" and env["PATH"] == "/usr/bin"
    assert totalseg_runner.weights_dir(settings) == str(tmp_path / "w")
    assert totalseg_runner.weights_dir(totalseg_runner.TotalSegSettings(home_dir=str(tmp_path / "h"))) == \
        os.path.join(str(tmp_path / "h"), "nnunet", "results")


def test_licence_number_format_is_checked_offline():
    assert totalseg_runner.check_license_format("  aca_TESTLICENCE123 ") == "aca_TESTLICENCE123"
    with pytest.raises(RegionError, match="must be 18 characters \\(got 9\\)"):
        totalseg_runner.check_license_format("aca_12345")
    with pytest.raises(RegionError, match="18 characters"):
        totalseg_region.set_license("", python_executable=sys.executable)


def test_progress_follows_totalsegmentators_log():
    seen = []
    tracker = totalseg_runner.ProgressTracker(lambda fraction, message: seen.append((round(fraction, 6), message)))
    for line in FAST_ROI_SUBSET_LOG:
        tracker.feed(line)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert seen[0] == (0.05, "TotalSegmentator: rough segmentation for cropping")
    assert (0.25, "TotalSegmentator: cropped") in seen
    assert (0.6, "TotalSegmentator: predicting") in seen  # 50 % of the main prediction window 0.3-0.9
    assert seen[-1] == (0.95, "TotalSegmentator: saving")


def test_progress_splits_the_prediction_between_model_parts():
    seen = []
    tracker = totalseg_runner.ProgressTracker(lambda fraction, message: seen.append((round(fraction, 3), message)))
    for line in ("Predicting part 1 of 5 ...", "100%|#| 1/1", "Predicting part 2 of 5 ...", "Saving segmentations..."):
        tracker.feed(line)
    assert seen == [(0.3, "TotalSegmentator: predicting part 1 of 5"), (0.42, "TotalSegmentator: predicting"),
                    (0.42, "TotalSegmentator: predicting part 2 of 5"), (0.95, "TotalSegmentator: saving")]


@pytest.mark.parametrize("log, error, returncode, expected", [
    (MISSING_LICENCE_LOG, None, 1, "task 'coronary_arteries' needs a licence number"),
    (["ERROR: Invalid license number (aca_short). Please check your license number or contact support."], None, 1,
     "rejected the licence number"),
    (["Predicting..."], MemoryError("Unable to allocate 3.1 GiB"), None, "ran out of memory"),
    (["Predicting...", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"], None, 1,
     "ran out of memory"),
    (["Predicting..."], None, -9, "ran out of memory"),
    (["RuntimeError: Background workers died. Look for the error message further up!"], None, 1, "ran out of memory"),
    (["Downloading model for Task 509 ..."],
     OSError("HTTPSConnectionPool(host='github.com', port=443): Max retries exceeded (NameResolutionError)"), None,
     "are not in .* and cannot be downloaded"),
    ([], FileNotFoundError("[Errno 2] No such file or directory: '/w/Dataset298_x/t__p__c/fold_0/"
                           "checkpoint_final.pth'"), None, "are incomplete"),
    ([], ImportError("No module named 'nnunetv2'"), None, "pip install 'coronary-calcium\\[totalsegmentator\\]'"),
    (["Traceback (most recent call last):", "ValueError: something unexpected"], None, 1,
     "task 'coronary_arteries' failed \\(exit code 1\\): .*ValueError: something unexpected"),
])
def test_failures_become_one_actionable_region_error(log, error, returncode, expected):
    translated = totalseg_runner.translate_failure("coronary_arteries", log, error, returncode)
    assert isinstance(translated, RegionError)
    assert "\n" not in str(translated)
    assert re.search(expected, str(translated)), str(translated)


def _python(code):
    return [sys.executable, "-c", code]


def test_stream_command_yields_lines_as_printed_including_carriage_returns():
    code = ("import sys\nprint('Generating rough segmentation for cropping...')\n"
            "sys.stderr.write(' 50%|#  | 1/2\\r100%|##| 2/2\\n')\nprint('Saving segmentations...')")
    lines = list(totalseg_runner.stream_command(_python(code)))
    assert lines == ["Generating rough segmentation for cropping...", " 50%|#  | 1/2", "100%|##| 2/2",
                     "Saving segmentations..."]


def test_a_process_killed_by_the_os_is_reported_as_out_of_memory():
    code = "import os, signal\nprint('Predicting...', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)"
    stream = totalseg_runner.stream_command(_python(code), task="total")
    assert next(stream) == "Predicting..."
    with pytest.raises(RegionError, match="ran out of memory"):
        list(stream)


def test_a_licence_exit_in_the_subprocess_is_translated():
    code = "import sys\nprint(%r)\nsys.exit(1)" % "\n".join(MISSING_LICENCE_LOG)
    with pytest.raises(RegionError, match="needs a licence number"):
        list(totalseg_runner.stream_command(_python(code), task="coronary_arteries"))


def test_closing_the_stream_early_stops_the_process(tmp_path):
    marker = tmp_path / "finished"
    code = "import time\nprint('started', flush=True)\ntime.sleep(30)\nopen(%r, 'w').write('x')" % str(marker)
    stream = totalseg_runner.stream_command(_python(code))
    assert next(stream) == "started"
    stream.close()  # what happens when the Slicer log callback raises to cancel
    assert not marker.exists()


def test_missing_totalsegmentator_says_how_to_install(monkeypatch):
    real_find_spec = totalseg_runner.importlib.util.find_spec
    monkeypatch.setattr(totalseg_runner.importlib.util, "find_spec",
                        lambda name, *a: None if name == "totalsegmentator" else real_find_spec(name, *a))
    assert not totalseg_runner.is_installed()
    from support.synthetic import as_ct, blank_ct

    ct = as_ct(*blank_ct(), spacing=(0.5, 0.5, 3.0))
    with pytest.raises(RegionError, match="TotalSegmentator is not installed: pip install 'coronary-calcium"):
        totalseg_region.region_from_totalsegmentator(ct, backend="heart")


def test_region_options_are_checked():
    with pytest.raises(RegionError, match="backend 'lungs' not known"):
        totalseg_region.TotalSegRegionSettings(backend="lungs").validate()
    with pytest.raises(RegionError, match="shell_outside_mm must be between 0 and 50 mm"):
        totalseg_region.TotalSegRegionSettings(shell_outside_mm=80).validate()
    with pytest.raises(RegionError, match="crossing threshold must be between 60 and 1000 HU"):
        totalseg_region.TotalSegRegionSettings(crossing_threshold_hu=40).validate()
    from support.synthetic import as_ct, blank_ct

    ct = as_ct(*blank_ct(), spacing=(0.5, 0.5, 3.0))
    with pytest.raises(TypeError, match="unknown TotalSegmentator region options: colour"):
        totalseg_region.region_from_totalsegmentator(ct, colour="red")


def test_usage_statistics_switch_and_licence_reach_totalsegmentators_config(tmp_path):
    pytest.importorskip("totalsegmentator")
    home = tmp_path / "home"
    totalseg_runner.prepare_subprocess(totalseg_runner.TotalSegSettings(home_dir=str(home), usage_stats=False,
                                                          license_number="aca_TESTLICENCE123"))
    config = json.loads((home / "config.json").read_text())
    assert config["send_usage_stats"] is False and config["license_number"] == "aca_TESTLICENCE123"


def _wrapper_interpreter(tmp_path):
    """A launcher script standing in for another interpreter (as Slicer's PythonSlicer is for Slicer's GUI)."""
    script = tmp_path / "other-python"
    script.write_text("#!/bin/sh\nexec %s \"$@\"\n" % sys.executable)
    script.chmod(0o755)
    return str(script)


def test_licence_through_another_interpreter_reports_its_failure(tmp_path, monkeypatch):
    # an interpreter without TotalSegmentator: its licence tool cannot run, and the message says what happened
    monkeypatch.setenv("PYTHONPATH", "")
    python = _wrapper_interpreter(tmp_path)
    code = "import importlib.util,sys; sys.exit(importlib.util.find_spec('totalsegmentator') is None)"
    import subprocess

    if subprocess.run([python, "-c", code]).returncode == 0:
        pytest.skip("TotalSegmentator is installed here; the success path is tested end to end")
    with pytest.raises(RegionError, match="licence tool failed: .*No module named 'totalsegmentator'"):
        totalseg_region.set_license("aca_TESTLICENCE123", python_executable=python,
                                 settings=totalseg_runner.TotalSegSettings(home_dir=str(tmp_path / "home")))
