"""Batch assessment: a folder of generated cases with bad files among them, resume after a kill, privacy, Dask."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import SimpleITK as sitk
import slicerio

from CoronaryCalciumLib.batch import BatchOptions, discover, pseudonym, run_batch
from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.reporting.case_files import CASE_FILES
from support.synthetic import write_dicom_series

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(path, array, spacing=(0.7, 0.7, 3.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def make_case(folder, name, seed, calcium=True):
    """A 24x96x96 CT: air border, soft tissue, an artery-labelled mask, calcified blobs in LAD and RCA."""
    rng = np.random.default_rng(seed)
    array = np.full((24, 96, 96), 40, dtype=np.int16) + rng.normal(0, 8, (24, 96, 96)).astype(np.int16)
    array[:, :6, :] = -1000
    mask = np.zeros(array.shape, dtype=np.uint8)
    mask[4:20, 20:45, 20:45] = 2  # LAD
    mask[4:20, 55:80, 50:80] = 4  # RCA
    if calcium:
        array[8:10, 28:28 + 3 + seed % 4, 30:34] = 350 + 50 * seed
        array[12:13, 60:64, 60:65] = 600
    _write(os.path.join(folder, name + ".nii.gz"), array)
    _write(os.path.join(folder, name + "_mask.nii.gz"), mask)


@pytest.fixture()
def cohort(tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    for index in range(4):
        make_case(str(folder), "case%d" % index, index, calcium=index != 3)
    (folder / "broken.nii.gz").write_bytes(b"\x1f\x8b not really gzip")
    mr = np.full((10, 40, 40), 300, dtype=np.int16)  # no air, no fat: not CT in HU
    _write(folder / "mr.nii.gz", mr)
    _write(folder / "mr_mask.nii.gz", np.ones(mr.shape, dtype=np.uint8))
    (folder / "notes.txt").write_text("not an image, ignored")
    return folder


def read_summary(out):
    with open(os.path.join(out, "summary.csv"), newline="") as stream:
        return list(csv.DictReader(stream))


def test_folder_with_good_and_bad_cases(cohort, tmp_path, capsys):
    out = str(tmp_path / "out")
    code = main(["assess", str(cohort), "--out", out, "--no-progress"])
    assert code == 1  # some cases failed
    rows = {row["id"]: row for row in read_summary(out)}
    assert len(rows) == 6
    good = {pseudonym(str(cohort / ("case%d.nii.gz" % i))) for i in range(4)}
    for case_id in good:
        assert rows[case_id]["status"] == "ok"
        for name in CASE_FILES:
            assert os.path.getsize(os.path.join(out, case_id, name)) > 0
    broken = rows[pseudonym(str(cohort / "broken.nii.gz"))]
    assert broken["status"] == "failed" and "cannot read <image>" in broken["error"]
    mr = rows[pseudonym(str(cohort / "mr.nii.gz"))]
    assert mr["status"] == "failed" and "does not look like CT in HU" in mr["error"]
    zero = rows[pseudonym(str(cohort / "case3.nii.gz"))]
    assert float(zero["agatston"]) == 0 and zero["classic"] == "none"
    assert not [name for name in os.listdir(out) if ".partial-" in name]
    overview = open(os.path.join(out, "overview.html")).read()
    assert "2 failed" in overview and "data:image/png;base64," in overview
    err = capsys.readouterr().err
    assert "broken" not in err and "case0" not in err  # logs carry IDs, not file names


def test_segmentations_and_report_read_back(cohort, tmp_path):
    out = str(tmp_path / "out")
    cases = [case for case in discover([str(cohort)]) if "case0" in case.image]
    report = run_batch(cases, out, BatchOptions(), progress_bar=False, log=lambda message: None)
    assert report.failed == []
    folder = os.path.join(out, cases[0].case_id)
    calcium = slicerio.read_segmentation(os.path.join(folder, "calcium.seg.nrrd"))
    assert sorted(s["name"] for s in calcium["segments"]) == ["LAD calcium", "RCA calcium"]
    lad = next(s for s in calcium["segments"] if s["name"] == "LAD calcium")
    assert lad["terminology"]["type"][1] == "18115005"  # pathologic calcification
    assert lad["terminology"]["anatomicRegion"][1] == "59438005"  # in the LAD
    region = slicerio.read_segmentation(os.path.join(folder, "region.seg.nrrd"))
    assert sorted(s["name"] for s in region["segments"]) == ["LAD region", "RCA region"]
    result = json.load(open(os.path.join(folder, "result.json")))
    # the calcium segments hold exactly the scored voxels
    calcium_voxels = int(np.count_nonzero(calcium["voxels"]))
    assert calcium_voxels == sum(lesion["voxel_count"] for lesion in result["lesions"])
    html = open(os.path.join(folder, "report.html")).read()
    images = html.split('src="data:image/png;base64,')[1:]
    assert len(images) >= 1
    assert base64.b64decode(images[0].split('"')[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Not for diagnosis" in html and "CAC-DRS" in html
    with open(os.path.join(folder, "lesions.csv")) as stream:
        assert len(list(csv.DictReader(stream))) == len(result["lesions"])


def test_a_calibrated_batch_writes_the_integrated_mass_to_every_output(cohort, tmp_path):
    out = str(tmp_path / "out")
    case = next(case for case in discover([str(cohort)]) if "case0" in case.image)
    assert main(["assess", case.image, "--mask", case.mask, "--out", out, "--no-progress", "--calibration", "0.00087",
                 "--model", "none"]) == 0
    row = read_summary(out)[0]
    result = json.load(open(os.path.join(out, row["id"], "result.json")))
    assert result["schema_version"] == 3 and result["integrated_mass_mg"] > 0
    assert float(row["integrated_mass_mg"]) == pytest.approx(result["integrated_mass_mg"], abs=0.005)
    assert result["integrated_mass_mg"] == pytest.approx(
        sum(entry["integrated_mass_mg"] for entry in result["per_artery"].values()))
    with open(os.path.join(out, row["id"], "lesions.csv")) as stream:
        lesions = list(csv.DictReader(stream))
    assert [float(item["integrated_mass_mg"]) for item in lesions] == [
        pytest.approx(item["integrated_mass_mg"], abs=1e-4) for item in result["lesions"]]
    html = open(os.path.join(out, row["id"], "report.html")).read()
    assert "Integrated-intensity mass (mg)" in html and "%.1f" % result["integrated_mass_mg"] in html


def test_manifest_ids_name_the_output_folders(cohort, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id,image,mask\nalpha,cohort/case0.nii.gz,cohort/case0_mask.nii.gz\n"
                        "beta,cohort/case1.nii.gz,cohort/case1_mask.nii.gz\n")
    out = str(tmp_path / "out")
    assert main(["assess", str(manifest), "--out", out, "--no-progress", "--no-report"]) == 0
    assert [row["id"] for row in read_summary(out)] == ["alpha", "beta"]
    assert os.path.isfile(os.path.join(out, "alpha", "result.json"))


def _assess_command(inputs, out, *extra):
    return [sys.executable, "-m", "CoronaryCalciumLib.cli.main", "assess", *inputs, "--out", out, "--no-progress", *extra]


def _tree(folder):
    """{relative path: bytes}; the write-time comment pynrrd puts in NRRD headers is left out."""
    files = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            content = open(path, "rb").read()
            if name.endswith(".nrrd"):
                content = re.sub(rb"\n# on [^\n]*\(GMT\)\.\n", b"\n", content, count=1)
            files[os.path.relpath(path, folder)] = content
    return files


def test_killed_run_resumes_and_equals_an_uninterrupted_run(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(6):
        make_case(str(folder), "c%d" % index, index)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "CoronaryCalcium"))
    reference = str(tmp_path / "reference")
    subprocess.run(_assess_command([str(folder)], reference, "-j", "2"), check=True, env=env, capture_output=True)

    out = str(tmp_path / "out")
    process = subprocess.Popen(_assess_command([str(folder)], out), env=env, stderr=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    finished = []
    while time.time() < deadline:
        finished = [n for n in os.listdir(out)] if os.path.isdir(out) else []
        finished = [n for n in finished if n.startswith("case-") and ".partial-" not in n]
        if finished:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 1 <= len(finished) < 6, "the run should be killed mid-way"
    before = {name: os.stat(os.path.join(out, name, "result.json")).st_mtime_ns for name in finished}

    result = subprocess.run(_assess_command([str(folder)], out), env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "already finished" in result.stderr
    for name, mtime in before.items():  # finished cases were not redone
        assert os.stat(os.path.join(out, name, "result.json")).st_mtime_ns == mtime
    resumed, uninterrupted = _tree(out), _tree(reference)
    assert sorted(resumed) == sorted(uninterrupted)
    for name in resumed:
        if name != "key.csv":  # the key differs only if paths differ; both runs saw the same inputs
            assert resumed[name] == uninterrupted[name], name


def test_a_rerun_removes_the_summary_temporary_file_a_killed_run_left_and_keeps_other_hidden_files(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    make_case(str(folder), "c0", 0)
    out = tmp_path / "out"
    assert main(["assess", str(folder), "--out", str(out), "--no-progress", "--model", "none"]) == 0
    leftover = out / ".summary.csv.k2j4x8.tmp.csv"  # what atomic_path leaves when killed mid-write
    leftover.write_text("id,agat")
    kept = out / ".notes"  # a user's own hidden file is not ours to remove
    kept.write_text("mine")
    assert main(["assess", str(folder), "--out", str(out), "--no-progress", "--model", "none"]) == 0
    assert not leftover.exists() and kept.read_text() == "mine"


def test_outputs_are_pseudonymous_unless_asked(tmp_path):
    series = str(tmp_path / "dicom" / "series")
    array = np.full((12, 64, 64), 40, dtype=np.int16)
    array[:, :4, :] = -1000
    array[5:7, 30:34, 30:34] = 500
    write_dicom_series(series, array, patient_name="DOE^JANE", patient_id="PID-12345")
    mask = np.zeros(array.shape, dtype=np.uint8)
    mask[2:10, 20:44, 20:44] = 1
    image = sitk.GetImageFromArray(mask)
    image.SetSpacing((0.7, 0.7, 3.0))
    image.SetOrigin((-100.0, -100.0, 0.0))
    sitk.WriteImage(image, str(tmp_path / "mask.nii.gz"))
    out = str(tmp_path / "out")
    process = subprocess.run(_assess_command([series], out, "--mask", str(tmp_path / "mask.nii.gz")),
                             env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "CoronaryCalcium")),
                             capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    for name, content in _tree(out).items():
        if name != "key.csv":
            assert b"DOE" not in content and b"PID-12345" not in content and b"dicom/series" not in content, name
    assert "DOE" not in process.stderr
    out_phi = str(tmp_path / "out_phi")
    main(["assess", series, "--mask", str(tmp_path / "mask.nii.gz"), "--out", out_phi, "--include-phi",
          "--no-progress"])
    row = read_summary(out_phi)[0]
    assert row["patient_name"] == "DOE^JANE" and row["patient_id"] == "PID-12345"


def test_dask_local_cluster_on_loopback(cohort, tmp_path):
    from dask.distributed import LocalCluster

    cases = [case for case in discover([str(cohort)]) if "case" in os.path.basename(case.image)]
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      processes=True) as cluster:
        report = run_batch(cases, str(tmp_path / "out"), BatchOptions(report=False),
                           scheduler=cluster.scheduler_address, progress_bar=False, log=lambda message: None)
    assert len(report.rows) == 4 and report.failed == []
    for case in cases:
        assert os.path.isfile(os.path.join(str(tmp_path / "out"), case.case_id, "result.json"))


def test_one_batch_loads_the_classifier_model_once_for_all_its_cases(cohort, tmp_path, monkeypatch):
    from CoronaryCalciumLib.classifier import step
    from CoronaryCalciumLib.errors import InputError

    loads = []

    def counting_load_model(spec, trust=False):  # counts the loads; refusing keeps the cases fast (no radiomics)
        loads.append(spec)
        raise InputError("model refused by the test")

    monkeypatch.setattr(step, "load_model", counting_load_model)
    cases = [case for case in discover([str(cohort)]) if os.path.basename(case.image).startswith("case")]
    options = BatchOptions(model="shipped")
    rows = run_batch(cases, str(tmp_path / "out"), options, workers=1, progress_bar=False).rows
    assert len(rows) == 4 and all(row["status"] == "ok" for row in rows)
    assert loads == ["shipped"]
    run_batch(cases, str(tmp_path / "again"), options, workers=1, progress_bar=False)
    assert loads == ["shipped", "shipped"]  # a new run loads it afresh


_WORKER_THREADS = ("import os, sys; from CoronaryCalciumLib.batch import limit_native_threads; "
                   "limit_native_threads(int(sys.argv[1])); "
                   "from threadpoolctl import threadpool_info; import SimpleITK as sitk; "
                   "print(os.environ['OMP_NUM_THREADS'], sorted({p['num_threads'] for p in threadpool_info()}), "
                   "sitk.ProcessObject.GetGlobalDefaultNumberOfThreads())")


def _worker_threads(threads: int, **variables: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                             "MKL_NUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")}
    env.update(variables, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-c", _WORKER_THREADS, str(threads)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_a_worker_process_runs_its_native_thread_pools_with_its_share_of_the_cores():
    """Each of N workers gets cores // N threads in OpenBLAS (already loaded), OpenMP and ITK (loaded later), so two
    workers on two cores do not run four busy thread pools; a thread count the user set stays."""
    from CoronaryCalciumLib.batch import worker_threads

    assert worker_threads(1) == (os.cpu_count() or 1) and worker_threads(10 ** 6) == 1
    assert _worker_threads(1) == "1 [1] 1"
    chosen = _worker_threads(1, OMP_NUM_THREADS="3", ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS="3")
    assert chosen.startswith("3 ") and chosen.endswith(" 3")
