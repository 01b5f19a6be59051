"""Real Slicer views of a phantom case for the README, rendered offscreen by trame-slicer (``make figures-slicer``).

A small severe phantom is written, its CT read by Slicer's volume reader and its coronary mask imported as a labelmap
into a real MRML scene (``Testing/support/slicer_real.py``); the module's Logic assesses it; Slicer's displayable managers
in trame-slicer's offscreen views (EGL) render the Logic's own output nodes:

- ``slicer_axial.png``: the axial slice through the largest lesion, calcium segments in artery colours over the CT,
  the coronary region's outline in grey;
- ``slicer_3d.png``: the calcium segments as surfaces, the coronary region faint, seen from the front.

Run in ``.venv-figures`` (trame-slicer[standalone] pins slicer-core 5.11 and vtk 9.6).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "Testing"), os.path.join(REPO, "CoronaryCalcium")]


def _save_png(pixels, path: str) -> None:
    """Write an (rows, columns, 3) uint8 image as PNG, atomically (a temporary file renamed into place)."""
    from PIL import Image

    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=folder)
    os.close(handle)
    try:
        Image.fromarray(pixels).save(temporary, format="PNG", optimize=True)
        os.chmod(temporary, 0o644)  # mkstemp makes it private
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "Resources", "Screenshots"), help="folder for the PNGs")
    parser.add_argument("--size", type=int, default=560, help="width and height of each view (pixels)")
    parser.add_argument("--fov", type=float, default=170.0, help="axial view width (mm)")
    args = parser.parse_args(argv)

    from support import slicer_real, slicer_views

    slicer_real.install()
    with tempfile.TemporaryDirectory(prefix="slicer-views-") as folder:
        run = slicer_views.assessedPhantom(folder)
        score = run.assessment.score
        print("slicer-core %s; Agatston %.1f (%s)" % (slicer_real.slicer_core_version(), score.agatston, ", ".join(
            "%s %.1f" % (artery, entry.agatston) for artery, entry in score.per_artery.items() if entry.agatston > 0)))
        views = slicer_views.Views(args.size, args.size)
        print("render window: %s" % views.renderWindowClass())
        largest = slicer_views.largestLesion(run.assessment)
        ras = run.module.lpsToRas(largest.centroid_lps_mm)
        outputs = run.logic.outputs
        # centred on the calcium (mean of the lesion centroids) in R and A, through the largest lesion in S
        centre = [sum(run.module.lpsToRas(lesion.centroid_lps_mm)[axis] for lesion in score.lesions) / len(score.lesions)
                  for axis in (0, 1)] + [ras[2]]
        axial = views.axial(run.case.ct, outputs.calciumSegmentation, run.case.segmentation, centre, args.fov)
        threeD = views.threeDimensional(outputs.calciumSegmentation, run.case.segmentation)
    os.makedirs(args.out, exist_ok=True)
    for name, pixels in (("slicer_axial.png", axial), ("slicer_3d.png", threeD)):
        _save_png(pixels, os.path.join(args.out, name))
        print("wrote %s" % os.path.join(args.out, name))
    print("axial slice through lesion %d (%s, %.1f mm3) at S = %.1f mm" % (largest.id, largest.artery,
                                                                         largest.volume_mm3, ras[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
