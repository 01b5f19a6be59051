"""Timing of the real TotalSegmentator code path with tiny nnU-Net models (the end-to-end test's setup).

Run: .venv/bin/python benchmarks/bench_totalseg_tiny.py [--repeats 1]
Needs the ``totalsegmentator`` extra. Builds the tiny models (Testing/tiny_nnunet.py) in a temporary weights folder,
then times each backend on the synthetic heart scene (100 x 93 x 73 voxels of 1.5 mm): what is measured is
TotalSegmentator's own overhead (process start, nnU-Net worker processes, resampling, reading and writing), not a real
model's inference, which takes minutes on a CPU (see the README for TotalSegmentator's published run times).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Testing"))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))

LICENCE = "aca_TESTLICENCE123"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per case (the minimum is reported)")
    args = parser.parse_args()

    from CoronaryCalciumLib.region import totalseg_region
    from CoronaryCalciumLib.region import totalseg_runner

    if not totalseg_runner.is_installed():
        print("TotalSegmentator is not installed: %s" % totalseg_runner.EXTRA_INSTALL)
        return 2
    from support import tiny_nnunet

    root = tempfile.mkdtemp(prefix="bench_totalseg_")
    weights, home = os.path.join(root, "weights"), os.path.join(root, "home")
    tiny_nnunet.write_totalseg_config(home, license_number=LICENCE)
    start = time.perf_counter()
    tiny_nnunet.build_weights(weights)
    build_s = time.perf_counter() - start
    ct, _ = tiny_nnunet.scene_ct(tiny_nnunet.HeartScene(vessel=True))
    print("tiny models built in %.1f s; CT %s voxels (x y z) of %s mm" % (
        build_s, "x".join(str(n) for n in ct.array.shape[::-1]), "x".join("%g" % s for s in ct.geometry.spacing)))

    cases = [
        ("heart, in-process, full resolution (crop 298 + part 293)", "heart", False, True),
        ("heart, in-process, fast (crop 298 + 297)", "heart", True, True),
        ("heart, subprocess, full resolution", "heart", False, False),
        ("coronary, in-process (crop 298 + 509, then 298 for heart/aorta)", "coronary", None, True),
    ]
    print("%-66s %8s  %s" % ("case", "total s", "TotalSegmentator runs (s)"))
    for name, backend, fast, in_process in cases:
        best = None
        for _ in range(max(1, args.repeats)):
            settings = totalseg_region.TotalSegRegionSettings(
                backend=backend, in_process=in_process,
                totalseg=totalseg_runner.TotalSegSettings(device="cpu", fast=fast, home_dir=home, weights_dir=weights))
            start = time.perf_counter()
            result = totalseg_region.build_region(ct, settings)
            elapsed = time.perf_counter() - start
            if best is None or elapsed < best[0]:
                best = (elapsed, result)
        runs = ", ".join("%s%s %.1f" % (r.task, " fast" if r.fast else (" fastest" if r.fastest else ""), r.seconds)
                         for r in best[1].runs)
        print("%-66s %8.1f  %s" % (name, best[0], runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
