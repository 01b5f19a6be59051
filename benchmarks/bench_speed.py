"""Issue 15's speed table: each step as a ratio to reading the same DICOM series with SimpleITK, in one run.

Run: .venv/bin/python benchmarks/bench_speed.py [--data ../shared/data] [--repeats 3] [--cases 4]
Scan: the real 512x512x134 chest CT lung1-001 with a heart-sized box region of 42x160x180 voxels (z, y, x). Every
command runs as a fresh `coronary-calcium` process (imports included, as a user sees it); each figure is the best of
``--repeats``. "assess per case" is the wall time of `assess` on ``--cases`` copies of the case divided by the case
count, with 1 and 2 worker processes. Peak memory is the command's resident high-water mark (os.wait4), as a ratio to
the CT's voxel bytes. Goals (issue 15): score --model none <= 1.5x the read, score with the classifier <= 6x, per-case
cost with -j 2 <= 0.55x of -j 1, peak memory of score <= 3x the CT's bytes.
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


def _read_seconds(folder: str) -> float:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    start = time.perf_counter()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    reader.Execute()
    return time.perf_counter() - start


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


def _run(args) -> tuple:
    """(seconds, peak resident MB) of one command."""
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
    return seconds, usage.ru_maxrss / 1024.0  # children only: the assess workers' memory is not in this figure


def _best(repeats: int, run) -> tuple:
    results = [run() for _ in range(repeats)]
    return min(r[0] for r in results), max(r[1] for r in results)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", type=int, default=4, help="copies of the case for assess (default 4)")
    options = parser.parse_args(argv)
    folder = os.path.join(options.data, SERIES)
    if not os.path.isdir(folder):
        raise SystemExit("real CT not found: %s (pass --data)" % folder)
    cli = [sys.executable, "-m", "CoronaryCalciumLib.cli.main"]
    work = tempfile.mkdtemp(prefix="bench-speed-")
    try:
        mask = os.path.join(work, "box_mask.nii.gz")
        ct_bytes = _write_box_mask(folder, mask)
        manifest = os.path.join(work, "cases.csv")
        with open(manifest, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(("id", "image", "mask"))
            for index in range(options.cases):
                writer.writerow(("case%d" % index, folder, mask))

        read = min(_read_seconds(folder) for _ in range(options.repeats))
        rows = [("read the series (SimpleITK)", read, None)]
        for label, model in (("score --model none", "none"), ("score (radiomics + classifier)", "shipped")):
            seconds, peak = _best(options.repeats, lambda: _run(cli + ["score", folder, "--mask", mask, "--model",
                                                                       model, "--quiet"]))
            rows.append((label, seconds, peak))
        for jobs in (1, 2):
            def assess():
                out = os.path.join(work, "out-j%d" % jobs)
                shutil.rmtree(out, ignore_errors=True)
                return _run(cli + ["assess", manifest, "--out", out, "-j", str(jobs), "--model", "shipped",
                                   "--no-report", "--no-progress"])
            seconds, peak = _best(options.repeats, assess)
            rows.append(("assess -j %d, per case (%d cases)" % (jobs, options.cases), seconds / options.cases, None))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("lung1-001 (512x512x134), box region %dx%dx%d voxels, best of %d; CT voxels %.1f MB; %d cores, load %s"
          % (BOX_ZYX + (options.repeats, ct_bytes / 2**20, os.cpu_count() or 0,
                        " ".join("%.2f" % v for v in os.getloadavg()))))
    print("| step | time s | x read | peak RSS MB | x CT bytes |")
    print("|---|---|---|---|---|")
    for label, seconds, peak in rows:
        memory = ("%.0f | %.1f" % (peak, peak * 2**20 / ct_bytes)) if peak is not None else "- | -"
        print("| %s | %.2f | %.2f | %s |" % (label, seconds, seconds / read, memory))
    per_case = {label: seconds for label, seconds, _ in rows if label.startswith("assess")}
    one, two = list(per_case.values())
    print("assess per case, -j 2 / -j 1: %.2f" % (two / one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
