"""Load time, scoring time and peak memory on the real 512x512x134 and 512x512x275 chest CTs with a heart-sized region.

Run: .venv/bin/python benchmarks/bench_scoring.py [--data ../shared/data]
The region is an ellipsoid of 130 x 110 x 120 mm (x, y, z) centred on the heart (the same physical size on both scans).
Each scan runs in a fresh subprocess. Memory: "RSS MB" is the process's resident high-water mark after loading (Python,
libraries and the CT); "score peak MB" is the peak of memory allocated during scoring (tracemalloc, which tracks numpy
buffers), and "x volume" divides it by the CT's own size: the goal is scoring under 0.5 s and under 3x the volume.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCANS = {
    "lung1-001 (512x512x134, 3 mm)": ("lung1-001-chest-ct/LUNG1-001/image", (265, 250, 52)),
    "lidc-idri-0314 (512x512x275, 1 mm)": ("lidc-idri-0314-chest-ct-thin/image", (300, 300, 150)),
}

CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
sys.path.insert(0, sys.argv[4])
from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.scoring.agatston import score

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

path, centre, repeats = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
before_load = rss_mb()
start = time.perf_counter()
ct = load_ct(path)
load_s = time.perf_counter() - start
after_load = rss_mb()
z, y, x = np.ogrid[: ct.array.shape[0], : ct.array.shape[1], : ct.array.shape[2]]
sx, sy, sz = ct.spacing
cx, cy, cz = centre
mask = ((((x - cx) * sx / 65.0) ** 2 + ((y - cy) * sy / 55.0) ** 2 + ((z - cz) * sz / 60.0) ** 2) <= 1).astype(np.uint8)
region = region_from_array(mask)
times = []
for _ in range(repeats):
    start = time.perf_counter()
    result = score(ct, region)
    times.append(time.perf_counter() - start)
tracemalloc.start()
result = score(ct, region)
score_peak = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
print(json.dumps(dict(load_s=load_s, score_s=min(times), score_median_s=sorted(times)[len(times) // 2],
                      volume_mb=ct.array.nbytes / 2**20, rss_before_mb=before_load, rss_loaded_mb=after_load,
                      score_peak_mb=score_peak, lesions=len(result.lesions),
                      agatston=result.agatston, region_voxels=int(mask.sum()), shape=list(ct.array.shape))))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    library = os.path.join(HERE, "..", "CoronaryCalcium")
    print("%-36s %8s %9s %9s %9s %14s %9s" % ("scan", "load s", "score s", "CT MB", "RSS MB", "score peak MB",
                                              "x volume"))
    for name, (relative, centre) in SCANS.items():
        path = os.path.join(args.data, relative)
        if not os.path.exists(path):
            print("%-36s missing: %s" % (name, path))
            continue
        output = subprocess.run([sys.executable, "-c", CHILD, path, json.dumps(centre), str(args.repeats), library],
                                check=True, capture_output=True, text=True).stdout
        r = json.loads(output.strip().splitlines()[-1])
        print("%-36s %8.2f %9.3f %9.1f %9.1f %14.1f %9.2f" % (
            name, r["load_s"], r["score_s"], r["volume_mb"], r["rss_loaded_mb"], r["score_peak_mb"],
            r["score_peak_mb"] / r["volume_mb"]))
        print("%-36s region %d voxels, %d lesions, Agatston %.1f (median score time %.3f s)" % (
            "", r["region_voxels"], r["lesions"], r["agatston"], r["score_median_s"]))


if __name__ == "__main__":
    main()
