"""README figure: axial slices of a generated phantom (coronary mask and calcium outlined) next to the real chest CT.

    .venv/bin/python tools/make_phantom_figure.py [--seed 7] [--out Resources/Screenshots/phantom_vs_real.png]

Needs matplotlib (not a dependency of the library) and the real scan in ../shared/data/lung1-001-chest-ct.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "CoronaryCalcium"))

from CoronaryCalciumLib.io.ct import load_ct  # noqa: E402
from CoronaryCalciumLib.phantom import PhantomConfig, generate_case  # noqa: E402

REAL = os.path.join(os.path.dirname(ROOT), "shared", "data", "lung1-001-chest-ct", "LUNG1-001", "image")
WINDOW = (-250, 450)  # HU shown black to white (mediastinal window, calcium stands out)


def _crop(image: np.ndarray, spacing: float, centre_rc, size_mm: float) -> np.ndarray:
    half = int(round(size_mm / spacing / 2))
    r, c = (int(round(v)) for v in centre_rc)
    r0, c0 = max(0, r - half), max(0, c - half)
    return slice(r0, min(image.shape[0], r0 + 2 * half)), slice(c0, min(image.shape[1], c0 + 2 * half))


def _phantom_slices(case, count: int = 3):
    per_slice = (case.lesion_labels > 0).sum(axis=(1, 2))
    candidates = np.flatnonzero(per_slice)
    if candidates.size == 0:
        candidates = np.flatnonzero((case.coronary_labels_exact > 0).sum(axis=(1, 2)))
    picks = np.linspace(0, candidates.size - 1, count + 2)[1:-1].round().astype(int)
    chosen = sorted({int(candidates[i]) for i in picks}, reverse=True)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real-slice", type=int, default=61, help="axial index of the real scan shown (bottom = 0)")
    parser.add_argument("--out", default=os.path.join(ROOT, "Resources", "Screenshots", "phantom_vs_real.png"))
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    case = generate_case(args.seed, PhantomConfig(burden="severe", aortic_calcium=True, mitral_calcium=True),
                         keep_anatomy=True)
    real = load_ct(REAL)
    slices = _phantom_slices(case)
    size_mm = 240.0
    fig, axes = plt.subplots(1, len(slices) + 1, figsize=(4.2 * (len(slices) + 1), 4.6))
    extracoronary = np.isin(case.calcium_ids, [o["id"] for o in case.truth.objects if not o["coronary"]])
    for ax, k in zip(axes, slices):
        centre = case.grid.row(case.anatomy.heart.base[1] + 10.0), case.grid.column(case.anatomy.heart.base[0] + 15.0)
        box = _crop(case.image[k], case.grid.pixel_mm, centre, size_mm)
        ax.imshow(case.image[k][box], cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1], interpolation="nearest")
        for mask, colour in ((case.coronary_labels_exact[k] > 0, "#ffd400"), (case.lesion_labels[k] > 0, "#ff2020"),
                             (extracoronary[k], "#00c8ff")):
            if mask[box].any():
                ax.contour(mask[box].astype(float), [0.5], colors=colour, linewidths=0.9)
        ax.set_title("phantom seed %d, z = %.0f mm" % (args.seed, case.grid.z()[k]), fontsize=9)
        ax.axis("off")
    spacing = real.geometry.spacing[0]
    k = args.real_slice
    centre = (real.array.shape[1] * 0.47, real.array.shape[2] * 0.53)
    box = _crop(real.array[k], spacing, centre, size_mm)
    axes[-1].imshow(real.array[k][box], cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1], interpolation="nearest")
    axes[-1].set_title("real chest CT (LUNG1-001, TCIA), slice %d" % k, fontsize=9)
    axes[-1].axis("off")
    reference = case.truth.reference
    fig.suptitle("Synthetic calcium-scoring CT (3 mm, 18 HU noise): coronary mask yellow, coronary calcium red, "
                 "aortic/mitral calcium blue; reference Agatston %.0f. Right: real non-gated chest CT, same window "
                 "(W %d / L %d), same %d mm field." % (reference.agatston, WINDOW[1] - WINDOW[0],
                                                       (WINDOW[1] + WINDOW[0]) // 2, size_mm), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print("figure written to %s (phantom slices %s)" % (args.out, slices))
    return 0


if __name__ == "__main__":
    sys.exit(main())
