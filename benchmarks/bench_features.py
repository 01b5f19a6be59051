"""Radiomics feature extraction time per case on the real 512x512x134 chest CT (LUNG1-001), on one core.

Regions: a heart-sized ellipsoid (about 12 x 10 x 10 cm, where the heart lies in this scan) and a 4 mm shell on its
upper surface (a generous stand-in for a coronary tree mask). Prints load time, crop + hash time, extraction time
(median of ``--repeats``), a cache hit, and the time of each pyradiomics feature class alone on the heart region.
Goal: < 5 s per case on one core with the shipped settings.

    .venv/bin/python benchmarks/bench_features.py [--data ../shared/data] [--repeats 3]
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "CoronaryCalcium"))

from CoronaryCalciumLib.io.ct import load_ct  # noqa: E402
from CoronaryCalciumLib.features.cache import FeatureCache  # noqa: E402
from CoronaryCalciumLib.features.radiomics import RadiomicsExtractor, load_params  # noqa: E402
from CoronaryCalciumLib.region.mask import region_from_array  # noqa: E402

HEART_CENTRE_ZYX = (55, 240, 290)  # voxel index of the heart centre in LUNG1-001 (checked on axial slices)
HEART_SEMI_AXES_MM = (50.0, 50.0, 60.0)  # z (cranio-caudal), y (antero-posterior), x (left-right)


def heart_regions(ct):
    """(heart ellipsoid labels, 4 mm upper shell labels) as uint8 (z, y, x) arrays on the CT grid."""
    shape = ct.array.shape
    spacing_zyx = ct.spacing[::-1]
    box = [slice(max(0, int(c - a / s) - 1), min(n, int(c + a / s) + 2))
           for c, a, s, n in zip(HEART_CENTRE_ZYX, HEART_SEMI_AXES_MM, spacing_zyx, shape)]
    z, y, x = np.ogrid[box[0], box[1], box[2]]
    distance = np.sqrt(sum(((g - c) * s / a) ** 2 for g, c, s, a in
                           zip((z, y, x), HEART_CENTRE_ZYX, spacing_zyx, HEART_SEMI_AXES_MM)))
    heart = np.zeros(shape, dtype=np.uint8)
    shell = np.zeros(shape, dtype=np.uint8)
    heart[tuple(box)] = distance <= 1.0
    inner = 1.0 - 4.0 / min(HEART_SEMI_AXES_MM)
    upper = (z >= HEART_CENTRE_ZYX[0]) & (distance <= 1.0) & (distance > inner)
    shell[tuple(box)] = upper
    return heart, shell


def timed(function, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    path = os.path.join(args.data, "lung1-001-chest-ct", "LUNG1-001", "image")
    start = time.perf_counter()
    ct = load_ct(path)
    print("CT %s loaded in %.2f s (%s)" % (path, time.perf_counter() - start, ct.summary()))
    heart, shell = heart_regions(ct)
    extractor = RadiomicsExtractor()
    settings = extractor.params["setting"]
    print("settings: binWidth %s HU, resampled to %s mm, %s; one core"
          % (settings["binWidth"], settings["resampledPixelSpacing"], settings["interpolator"]))
    extractor.extract(ct, region_from_array(shell))  # warm-up: imports pyradiomics and its C extensions
    for name, labels in (("heart ellipsoid", heart), ("coronary-like shell", shell)):
        region = region_from_array(labels)
        prepare_median, _best, prepared = timed(lambda r=region: extractor.prepare(ct, r), args.repeats)
        size = prepared.data.image.GetSize()
        median, best, features = timed(lambda r=region: extractor.extract(ct, r), args.repeats)
        volume_ml = region.voxel_count() * float(np.prod(ct.spacing)) / 1000.0
        print("%-20s %7d voxels (%.0f ml), crop %dx%dx%d: crop+hash %.3f s, extraction median %.2f s (best %.2f s) "
              "for %d features -> %s the 5 s goal"
              % (name, region.voxel_count(), volume_ml, size[0], size[1], size[2], prepare_median, median, best,
                 len(features.values), "within" if median < 5.0 else "ABOVE"))
    with tempfile.TemporaryDirectory() as folder:
        cache = FeatureCache(folder)
        region = region_from_array(heart)
        extractor.extract(ct, region, cache=cache)
        median, _best, cached = timed(lambda: extractor.extract(ct, region, cache=cache), args.repeats)
        print("cache hit (crop + hash + read): %.3f s (from_cache=%s)" % (median, cached.from_cache))
    print("per feature class on the heart region (each class alone, includes resampling):")
    region = region_from_array(heart)
    for feature_class in ("shape", "firstorder", "glcm", "glrlm", "glszm", "ngtdm", "gldm"):
        params = load_params()
        params["featureClass"] = {feature_class: None}
        single = RadiomicsExtractor(params=params)
        median, _best, _ = timed(lambda s=single: s.extract(ct, region), 1)
        print("  %-10s %.2f s" % (feature_class, median))
    whole_copy = ct.array.nbytes / 1e6
    print("(for scale: one copy of the whole volume is %.0f MB; the heart crop is %.1f MB)"
          % (whole_copy, np.prod(extractor.crop(ct, region).image.GetSize()) * ct.array.itemsize / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
