"""Throughput of `assess` (cases per minute) on 20 generated 512x512 cases with 1 and 2 workers, and the speed-up.

Run: .venv/bin/python benchmarks/bench_batch.py [--cases 20] [--keep DIR]
The cohort (512x512, 3 mm, 60 slices, one protocol) is generated once into a temporary folder (or --keep DIR, reused on
later runs); each timing assesses every case from scratch (per-case JSON, CSV, two .seg.nrrd and an HTML report) with
the per-artery coronary mask and the shipped classifier (radiomics), into a fresh output folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))

from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch  # noqa: E402
from CoronaryCalciumLib.phantom import PhantomConfig, generate_cohort  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--keep", help="folder to generate the cohort into and reuse")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="cac-bench-")
    start = time.perf_counter()
    manifest = generate_cohort(os.path.join(folder, "cohort"), args.cases, seed=11,
                               base=PhantomConfig(n_slices=60), vary=False, workers=2)
    print("cohort: %d cases of 512x512x60 in %s (%.0f s to generate or reuse)"
          % (args.cases, folder, time.perf_counter() - start))
    cases = discover([manifest])
    timings = {}
    for workers in (1, 2):
        out = os.path.join(folder, "out-%d" % workers)
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        report = run_batch(cases, out, BatchOptions(model="shipped"), workers=workers, progress_bar=False,
                           log=lambda message: None)
        seconds = time.perf_counter() - start
        timings[workers] = seconds
        print("%d worker(s): %d cases in %.1f s = %.1f cases/min (%d failed)" % (
            workers, len(cases), seconds, 60.0 * len(cases) / seconds, len(report.failed)))
    print("speed-up with 2 workers: %.2fx" % (timings[1] / timings[2]))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
