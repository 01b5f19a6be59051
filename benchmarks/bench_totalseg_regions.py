"""How well the TotalSegmentator-derived regions work on synthetic phantoms with known anatomy and calcium.

Run: .venv/bin/python benchmarks/bench_totalseg_regions.py [--first-seed 100] [--cases 20]
For each phantom (small configuration: 256 x 256, 3 mm slices, 180 mm coverage, every kind of calcium switched on),
with the phantom's own heart and aorta masks standing in for TotalSegmentator's:

1. heart backend shell: the share of each kind of calcium (coronary, aortic wall, aortic valve, mitral annulus) whose
   voxels lie in the shell, and the share of objects entirely outside it;
2. artery attribution by geometry: agreement with the phantom's per-artery coronary mask (voxels), and lesions given
   to their artery (majority of voxels) when the shell is labelled, by position alone and with continuity along the
   vessel (the CT given, as the heart backend does), with the confusion of true and given arteries.

3. speed and peak memory (tracemalloc) of the shell, the attribution and the blood-pool reference on a
   512 x 512 x 275 grid (0.78 x 0.78 x 1 mm, a thin-slice chest CT's size) with an analytic heart and aorta.

Seeds 0-9 were used to set the attribution rules and the shell sizes; the default seeds start at 100.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--cases", type=int, default=20)
    args = parser.parse_args()

    from scipy import ndimage

    from CoronaryCalciumLib.region import artery_attribution
    from CoronaryCalciumLib.region import totalseg_region
    from CoronaryCalciumLib.phantom import generate_case, small_config

    config = small_config(n_slices=60, burden="moderate", aortic_calcium=True, valve_calcium=True,
                          mitral_calcium=True)
    settings = totalseg_region.TotalSegRegionSettings()
    shell_share = {}
    voxel_accuracy = []
    per_artery = {name: [] for name in artery_attribution.LABELS}
    modes = ("position", "with continuity")
    lesion_hits = {mode: {name: [0, 0] for name in artery_attribution.LABELS} for mode in modes}
    confusion = {mode: np.zeros((5, 5), dtype=int) for mode in modes}
    lesions_outside = 0
    dominance = []
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.cases):
        case = generate_case(seed, config, keep_anatomy=True)
        heart, aorta, geometry = case.heart_mask > 0, case.aorta_mask > 0, case.ct.geometry
        shell = totalseg_region.heart_shell(heart, aorta, geometry, settings, image=case.ct.array)
        for obj in case.objects:
            voxels = case.calcium_ids == obj.id
            if voxels.any():
                shell_share.setdefault(obj.kind, []).append(float(shell[voxels].mean()))

        truth = case.coronary_labels_exact
        assigned = artery_attribution.assign_arteries(truth > 0, heart, aorta, geometry)
        agreement = artery_attribution.evaluate(assigned.labels, truth)
        voxel_accuracy.append(agreement.accuracy)
        dominance.append(case.anatomy.coronary.dominance)
        for name, value in agreement.per_artery.items():
            per_artery[name].append(value)

        lesions, count = ndimage.label(case.lesion_labels > 0, structure=np.ones((3, 3, 3)))
        for mode, image in zip(modes, (None, case.ct.array)):
            labelled_shell = artery_attribution.assign_arteries(shell, heart, aorta, geometry, image=image).labels
            for index in range(1, count + 1):
                voxels = lesions == index
                given = np.bincount(labelled_shell[voxels], minlength=5)[1:]
                if not given.sum():
                    lesions_outside += mode == modes[0]  # a coverage miss, counted in the shell table above
                    continue
                true_value = int(np.bincount(case.lesion_labels[voxels]).argmax())
                true_name = artery_attribution.LABELS_BY_VALUE[true_value]
                lesion_hits[mode][true_name][1] += 1
                lesion_hits[mode][true_name][0] += int(given.argmax()) + 1 == true_value
                confusion[mode][true_value, int(given.argmax()) + 1] += 1

    print("phantoms: seeds %d-%d (%d cases, %d left-dominant), %.0f s" % (
        args.first_seed, args.first_seed + args.cases - 1, args.cases, dominance.count("left"),
        time.perf_counter() - started))
    print("\nheart shell (%g mm inside to %g mm outside, aorta + %g mm, valve cylinder)" % (
        settings.shell_inside_mm, settings.shell_outside_mm, settings.aorta_margin_mm))
    print("%-16s %8s %22s %24s" % ("calcium", "objects", "voxels in shell (mean)", "objects entirely outside"))
    for kind, values in sorted(shell_share.items()):
        values = np.asarray(values)
        print("%-16s %8d %21.1f%% %23.1f%%" % (kind, len(values), 100 * values.mean(), 100 * np.mean(values < 0.01)))

    accuracy = np.asarray(voxel_accuracy)
    right = np.asarray([d == "right" for d in dominance])
    print("\nartery attribution, coronary mask voxels: mean %.1f%%, median %.1f%%, min %.1f%% (right-dominant mean "
          "%.1f%%, left-dominant mean %s)" % (
              100 * accuracy.mean(), 100 * np.median(accuracy), 100 * accuracy.min(), 100 * accuracy[right].mean(),
              "%.1f%%" % (100 * accuracy[~right].mean()) if (~right).any() else "n/a"))
    print("  per artery (mean recall): " + ", ".join(
        "%s %.1f%%" % (name, 100 * np.mean(values)) for name, values in per_artery.items() if values))
    for mode in modes:
        hits = sum(h for h, _ in lesion_hits[mode].values())
        total = sum(n for _, n in lesion_hits[mode].values())
        print("artery attribution (%s), coronary lesions touching the labelled shell: %d/%d (%.1f%%); %s" % (
            mode, hits, total, 100.0 * hits / max(total, 1),
            ", ".join("%s %d/%d" % (name, h, n) for name, (h, n) in lesion_hits[mode].items())))
        print("  true -> given (LM, LAD, LCX, RCA): " + "; ".join(
            "%s %s" % (name, confusion[mode][value, 1:].tolist()) for name, value in artery_attribution.LABELS.items()))
    print("%d lesions entirely outside the shell" % lesions_outside)
    _speed(totalseg_region, artery_attribution)
    return 0


def _speed(totalseg_region, artery_attribution) -> None:
    import tracemalloc

    from CoronaryCalciumLib.io.geometry import Geometry

    shape, spacing = (275, 512, 512), (0.78, 0.78, 1.0)
    geometry = Geometry(shape=shape, spacing=spacing, origin=(-200.0, -200.0, -137.0))
    k, j, i = np.ogrid[0:shape[0], 0:shape[1], 0:shape[2]]
    x, y, z = -200 + i * spacing[0], -200 + j * spacing[1], -137 + k * spacing[2]
    aorta = np.broadcast_to(((x + 5) ** 2 + (y + 20) ** 2 <= 14 ** 2) & (z >= 30), shape).copy()
    heart = np.broadcast_to(((x - 20) / 65.0) ** 2 + ((y + 10) / 55.0) ** 2 + (z / 60.0) ** 2 <= 1, shape) & ~aorta
    image = np.where(heart | aorta, np.int16(40), np.int16(-100))
    image[:, 135:167, 230:270] = 700  # a sternum in front of the heart (y -95..-70 mm), crossing its shell
    print("\nspeed on a %s grid (%.0f M voxels):" % ("x".join(str(n) for n in shape[::-1]), np.prod(shape) / 1e6))
    tracemalloc.start()
    for name, work in (
            ("heart shell", lambda: totalseg_region.heart_shell(heart, aorta, geometry,
                                                             totalseg_region.TotalSegRegionSettings())),
            ("heart shell with bone removal", lambda: totalseg_region.heart_shell(
                heart, aorta, geometry, totalseg_region.TotalSegRegionSettings(), image=image)),
            ("shell + artery attribution", lambda: artery_attribution.assign_arteries(
                totalseg_region.heart_shell(heart, aorta, geometry, totalseg_region.TotalSegRegionSettings(), image=image),
                heart, aorta, geometry, image=image)),
            ("blood-pool reference", lambda: totalseg_region.blood_pool_reference(heart, aorta, geometry, 3.0))):
        tracemalloc.reset_peak()
        start = time.perf_counter()
        work()
        print("  %-34s %5.1f s, peak %4.0f MB" % (name, time.perf_counter() - start,
                                                  tracemalloc.get_traced_memory()[1] / 1e6))
    tracemalloc.stop()


if __name__ == "__main__":
    sys.exit(main())
