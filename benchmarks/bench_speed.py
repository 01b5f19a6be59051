"""Issue 15's speed table: each step as a ratio to reading the same DICOM series with SimpleITK, in one run.

Run: .venv/bin/python benchmarks/bench_speed.py [--data ../shared/data] [--repeats 3] [--cases 4]
Scan: the real 512x512x134 chest CT lung1-001 with a heart-sized box region of 42x160x180 voxels (z, y, x). Every
command runs as a fresh `coronary-calcium` process (imports included, as a user sees it); each figure is the best of
``--repeats``. "assess per case" is the wall time of `assess` on ``--cases`` copies of the case divided by the case
count, with 1 and 2 worker processes. Peak memory is the command's resident high-water mark (os.wait4), as a ratio to
the CT's voxel bytes. Goals (issue 15): score --model none <= 1.5x the read, score with the classifier <= 6x, per-case
cost with -j 2 <= 0.55x of -j 1, peak memory of score <= 3x the CT's bytes.

Two read figures are printed: reading the series inside this process (SimpleITK already imported: the file reading and
decoding alone) and reading it as a fresh process (`python -c "import SimpleITK; read the series"`: interpreter start
and the import included). The goals are judged on the fresh-process read ("x read process"), since every command timed
here is a fresh process too and pays the same start; "x read" (in process) is printed beside it as the stricter floor.
CPU seconds (user + system, the command and its workers) are printed because wall times mean little on a loaded
machine. Peak RSS includes the libraries a command loads: the line under the table gives the resident size of a process
that only imports what `score --model none` imports, and what the command holds beyond it.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SERIES = os.path.join("lung1-001-chest-ct", "LUNG1-001", "image")
BOX_ZYX = (42, 160, 180)
CENTRE_ZYX = (52, 250, 265)  # the heart of lung1-001 (voxel indices), as in bench_scoring.py


def _read_seconds(folder: str, repeats: int) -> float:
    """Best in-process read time, measured in a child process (see ``_in_child``)."""
    return float(_in_child("read", folder, str(repeats)))


def _in_child(*args: str) -> str:
    """Run this script's helper ``args[0]`` in a child process and return what it printed. The work that loads the CT
    runs there, never in this process: Linux carries a process's peak RSS across fork and exec, so a command started
    from a parent holding the CT would report the parent's peak as its own."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "CoronaryCalcium"))
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--helper"] + list(args), env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("helper %s failed:\n%s" % (args[0], done.stderr[-2000:]))
    return done.stdout.strip()


def _helper(args) -> None:
    if args[0] == "read":
        import SimpleITK as sitk

        best = float("inf")
        for _ in range(int(args[2])):
            reader = sitk.ImageSeriesReader()
            start = time.perf_counter()
            reader.SetFileNames(reader.GetGDCMSeriesFileNames(args[1]))
            reader.Execute()
            best = min(best, time.perf_counter() - start)
        print(best)
    elif args[0] == "mask":
        print(_write_box_mask(args[1], args[2]))


def _write_box_mask(folder: str, path: str) -> int:
    """A NIfTI box region of BOX_ZYX voxels on the CT's grid; returns the CT's voxel bytes."""
    import numpy as np
    import SimpleITK as sitk

    sys.path.insert(0, os.path.join(REPO, "CoronaryCalcium"))
    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.io.geometry import apply_geometry

    ct = load_ct(folder)
    mask = np.zeros(ct.array.shape, dtype=np.uint8)
    box = tuple(slice(max(0, c - n // 2), max(0, c - n // 2) + n) for c, n in zip(CENTRE_ZYX, BOX_ZYX))
    mask[box] = 1
    assert mask.sum() == np.prod(BOX_ZYX), "the box does not fit the scan"
    image = sitk.GetImageFromArray(mask)
    apply_geometry(image, ct.geometry)
    sitk.WriteImage(image, path)
    return int(ct.array.nbytes)


READ_SCRIPT = ("import sys, SimpleITK as sitk; r = sitk.ImageSeriesReader(); "
               "r.SetFileNames(r.GetGDCMSeriesFileNames(sys.argv[1])); r.Execute()")
# what `score --model none` loads (checked with sys.modules after a run), imported and nothing else done
LIBRARIES_SCRIPT = ("import numpy, SimpleITK, pydicom, nibabel, scipy.ndimage, scipy.stats; "
                    "import CoronaryCalciumLib.pipeline, CoronaryCalciumLib.cli.main")


def _run(args) -> tuple:
    """(seconds, peak resident MB, CPU seconds) of one command."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "CoronaryCalcium"))
    start = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit("command failed (%d): %s\n%s" % (process.returncode, " ".join(args), error[-2000:]))
    # ru_maxrss: the command's own peak (the assess workers' memory is not in it); CPU time includes reaped workers
    return seconds, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def _best(repeats: int, run) -> tuple:
    """(best seconds, largest peak MB, CPU seconds of the best run)."""
    results = [run() for _ in range(repeats)]
    best = min(results, key=lambda r: r[0])
    return best[0], max(r[1] for r in results), best[2]


def _load(values) -> str:
    return " ".join("%.2f" % v for v in values)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--helper"]:
        _helper(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", type=int, default=4, help="copies of the case for assess (default 4)")
    options = parser.parse_args(argv)
    folder = os.path.join(options.data, SERIES)
    if not os.path.isdir(folder):
        raise SystemExit("real CT not found: %s (pass --data)" % folder)
    cli = [sys.executable, "-m", "CoronaryCalciumLib.cli.main"]
    # byte-compile the package once, as an install does: with PYTHONDONTWRITEBYTECODE set, every command would
    # otherwise compile its modules from source again (0.2 s a command here)
    import compileall

    compileall.compile_dir(os.path.join(REPO, "CoronaryCalcium", "CoronaryCalciumLib"), quiet=1)
    work = tempfile.mkdtemp(prefix="bench-speed-")
    try:
        mask = os.path.join(work, "box_mask.nii.gz")
        ct_bytes = int(_in_child("mask", folder, mask))
        manifest = os.path.join(work, "cases.csv")
        with open(manifest, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(("id", "image", "mask"))
            for index in range(options.cases):
                writer.writerow(("case%d" % index, folder, mask))

        load_before = os.getloadavg()
        read = _read_seconds(folder, options.repeats)
        read_process, read_peak, read_cpu = _best(options.repeats, lambda: _run([sys.executable, "-c", READ_SCRIPT,
                                                                                 folder]))
        _seconds, libraries_peak, _cpu = _run([sys.executable, "-c", LIBRARIES_SCRIPT])
        rows = [("read the series (SimpleITK, in process)", read, None, None),
                ("read the series (SimpleITK, fresh process)", read_process, read_peak, read_cpu)]
        for label, model in (("score --model none", "none"), ("score (radiomics + classifier)", "shipped")):
            seconds, peak, cpu = _best(options.repeats, lambda: _run(cli + ["score", folder, "--mask", mask,
                                                                            "--model", model, "--quiet"]))
            rows.append((label, seconds, peak, cpu))
        for jobs in (1, 2):
            def assess():
                out = os.path.join(work, "out-j%d" % jobs)
                shutil.rmtree(out, ignore_errors=True)
                return _run(cli + ["assess", manifest, "--out", out, "-j", str(jobs), "--model", "shipped",
                                   "--no-report", "--no-progress"])
            seconds, _peak, cpu = _best(options.repeats, assess)
            rows.append(("assess -j %d, per case (%d cases)" % (jobs, options.cases), seconds / options.cases, None,
                         cpu / options.cases))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("lung1-001 (512x512x134), box region %dx%dx%d voxels, best of %d; CT voxels %.1f MB; %d cores, load "
          "average %s before, %s after" % (BOX_ZYX + (options.repeats, ct_bytes / 2**20, os.cpu_count() or 0,
                                                      _load(load_before), _load(os.getloadavg()))))
    print("| step | time s | x read | x read process | CPU s | peak RSS MB | x CT bytes |")
    print("|---|---|---|---|---|---|---|")
    for label, seconds, peak, cpu in rows:
        memory = ("%.0f | %.1f" % (peak, peak * 2**20 / ct_bytes)) if peak is not None else "- | -"
        print("| %s | %.2f | %.2f | %.2f | %s | %s |" % (label, seconds, seconds / read, seconds / read_process,
                                                         "%.2f" % cpu if cpu is not None else "-", memory))
    none_peak = rows[2][2]
    print("libraries alone (a process importing what score --model none imports): %.0f MB; score --model none holds "
          "%.0f MB beyond them (%.1fx the CT's bytes)" % (libraries_peak, none_peak - libraries_peak,
                                                          (none_peak - libraries_peak) * 2**20 / ct_bytes))
    one, two = (seconds for label, seconds, _peak, _cpu in rows if label.startswith("assess"))
    print("assess per case, -j 2 / -j 1: %.2f" % (two / one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
