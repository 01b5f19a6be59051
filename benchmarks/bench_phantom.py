"""Benchmark of the phantom generator: time per case (wall clock and CPU of this one process) by stage, and writing.

Runs on one core (BLAS/OpenMP threads pinned to 1 before numpy loads). Target: one 512 x 512 x 60 case in under 10 s.

    .venv/bin/python benchmarks/bench_phantom.py [--repeat 3] [--seed 0] [--write]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "CoronaryCalcium"))

from CoronaryCalciumLib.phantom import (PhantomConfig, chest_config, generate_case, generate_qrm_case,  # noqa: E402
                                        small_config, write_case)


def _measure(label: str, make, repeat: int) -> None:
    walls, cpus, stages = [], [], []
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = make()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        stages.append(getattr(result, "timings", {}))
    shape = "x".join(str(n) for n in result.image.shape[::-1])
    print("%-34s %-12s wall %6.2f s (min %5.2f)   cpu %6.2f s (min %5.2f)" % (
        label, shape, statistics.median(walls), min(walls), statistics.median(cpus), min(cpus)))
    if stages and stages[0]:
        keys = list(stages[0])
        print("%-34s %s" % ("", "  ".join("%s %.2f" % (k.replace("_s", ""), statistics.median(s[k] for s in stages))
                                            for k in keys)))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="also time writing NIfTI and DICOM")
    args = parser.parse_args()
    print("phantom benchmark, %d repeats, seed %d, one thread" % (args.repeat, args.seed))
    default = PhantomConfig(n_slices=60, burden="moderate")
    case = _measure("cardiac 512x512x60, 3 mm", lambda: generate_case(args.seed, default), args.repeat)
    _measure("cardiac 512x512, 1.0/0.5 mm, 120 mm",
             lambda: generate_case(args.seed, PhantomConfig(slice_thickness_mm=1.0, coverage_mm=120.0)), 1)
    _measure("chest non-gated 512x512, 3 mm", lambda: generate_case(args.seed, chest_config()), 1)
    _measure("small (tests) 256x256x40", lambda: generate_case(args.seed, small_config()), args.repeat)
    _measure("QRM CCI replica 512x512", lambda: generate_qrm_case(args.seed), 1)
    if args.write:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            write_case(case, os.path.join(folder, "nifti"))
            middle = time.perf_counter()
            write_case(case, os.path.join(folder, "dicom"), dicom=True)
            end = time.perf_counter()
        print("writing NIfTI set %.2f s; with DICOM series %.2f s" % (middle - start, end - middle))
    reference = case.truth.reference
    print("reference of the 60-slice case: Agatston %.1f (%s), %d plaques" % (
        reference.agatston, reference.classic, case.truth.physical["coronary_count"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
