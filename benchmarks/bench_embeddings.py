"""Foundation-model embedding time per case on CPU: CT-FM and RadImageNet on the real 512x512x134 chest CT (LUNG1-001).

Region: the heart-sized ellipsoid of bench_scoring.py (130 x 110 x 120 mm, x, y, z, centred at voxel x=265, y=250,
z=52). Without --ctfm-weights / --radimagenet-weights the networks get randomly initialised weights of the real
architectures, written to a temporary folder in the published file layouts and loaded through the users' path: the
time is the same as with the real weights (same architecture, same arithmetic), the numbers are meaningless.

Prints, per extractor: the crop/preprocessing time, the first embedding (includes reading the weights), the median
of --repeats further embeddings, the input size the network sees, torch threads, and the process's peak RSS.

    .venv/bin/python benchmarks/bench_embeddings.py [--data ../shared/data] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "CoronaryCalcium"))

SCAN = "lung1-001-chest-ct/LUNG1-001/image"
CENTRE_XYZ = (265, 250, 52)
SEMI_AXES_MM = (65.0, 55.0, 60.0)  # x, y, z


def heart_region(ct):
    from CoronaryCalciumLib.region.mask import region_from_array

    z, y, x = np.ogrid[: ct.array.shape[0], : ct.array.shape[1], : ct.array.shape[2]]
    sx, sy, sz = ct.spacing
    cx, cy, cz = CENTRE_XYZ
    ax, ay, az = SEMI_AXES_MM
    mask = (((x - cx) * sx / ax) ** 2 + ((y - cy) * sy / ay) ** 2 + ((z - cz) * sz / az) ** 2) <= 1
    return region_from_array(mask.astype(np.uint8))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(extractor, ct, region, repeats: int):
    start = time.perf_counter()
    prepared = extractor.prepare(ct, region)
    prepare_s = time.perf_counter() - start
    start = time.perf_counter()
    first = extractor.compute(prepared)
    first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        again = extractor.compute(prepared)
        times.append(time.perf_counter() - start)
    same = max(abs(first[k] - again[k]) for k in first) if repeats else float("nan")
    return prepared, prepare_s, first_s, (statistics.median(times) if times else float("nan")), len(first), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--ctfm-weights", help="real CT-FM weights (file or folder); default random")
    parser.add_argument("--radimagenet-weights", help="real RadImageNet ResNet50 weights; default random")
    args = parser.parse_args()

    import torch

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.features.embeddings.ctfm import CTFMExtractor
    from CoronaryCalciumLib.features.embeddings.radimagenet import RadImageNetExtractor
    from CoronaryCalciumLib.features.embeddings.random_weights import write_random_ctfm, write_random_radimagenet

    if args.threads:
        torch.set_num_threads(args.threads)
    path = os.path.join(args.data, SCAN)
    if not os.path.exists(path):
        sys.exit("scan not found: %s (use --data)" % path)
    start = time.perf_counter()
    ct = load_ct(path)
    load_s = time.perf_counter() - start
    region = heart_region(ct)
    print("scan %s: %s voxels (x, y, z), spacing %s mm, loaded in %.2f s; heart ellipsoid %d voxels"
          % (SCAN, "x".join(str(n) for n in ct.array.shape[::-1]), "x".join("%.3g" % s for s in ct.spacing),
             load_s, int(np.count_nonzero(region.labels))))
    print("torch %s, %d CPU threads, device cpu" % (torch.__version__, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as folder:
        ctfm_weights = args.ctfm_weights or write_random_ctfm(os.path.join(folder, "ctfm"))
        radimagenet_weights = args.radimagenet_weights or write_random_radimagenet(os.path.join(folder, "rin.pt"))
        kinds = [("CT-FM", CTFMExtractor(weights=ctfm_weights, device="cpu"),
                  "random" if not args.ctfm_weights else "given"),
                 ("RadImageNet", RadImageNetExtractor(weights=radimagenet_weights, device="cpu"),
                  "random" if not args.radimagenet_weights else "given")]
        print("%-12s %-7s %-22s %9s %12s %12s %9s %10s %9s" % ("extractor", "weights", "network input", "prep s",
                                                                "first s", "median s", "features", "repeat Δ",
                                                                "RSS MB"))
        for label, extractor, source in kinds:
            prepared, prep_s, first_s, median_s, n, same = bench(extractor, ct, region, args.repeats)
            shape = prepared.data.shape
            described = ("%s voxels @1mm" % "x".join(str(v) for v in shape[::-1]) if label == "CT-FM"
                         else "%d slices %dx%d->224" % (shape[0], shape[2], shape[1]))
            print("%-12s %-7s %-22s %9.2f %12.2f %12.2f %9d %10.1e %9.0f" % (
                label, source, described, prep_s, first_s, median_s, n, same, peak_rss_mb()))
    print("first s includes reading the weights; median s is the embedding time per case once the network is loaded")


if __name__ == "__main__":
    main()
