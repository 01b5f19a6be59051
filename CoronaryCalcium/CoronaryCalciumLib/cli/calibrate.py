"""``coronary-calcium calibrate IMAGE``: the mass calibration factor from a scan of an HA calibration rod."""

from __future__ import annotations

import argparse
import json

from ..errors import InputError
from ..io.atomic import check_output_file, write_text_atomic


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="measure the mass calibration factor c_HA from a phantom scan",
        description="Measure c_HA = density / (HU_rod - HU_water) in mg/(mm3 HU) from a scan of a hydroxyapatite rod "
                    "(found automatically, with the water-equivalent rod beside it as the water reference, or given as "
                    "--rod-mask with --water-mask). Pass the factor, or the JSON "
                    "this writes, to `score --calibration`.",
    )
    parser.add_argument("image", help="phantom CT: DICOM folder, NIfTI, NRRD or MHA")
    parser.add_argument("--rod-density", type=float, default=200.0, metavar="MG_CM3",
                        help="HA density of the rod in mg/cm3 (default 200, the QRM rod)")
    parser.add_argument("--rod-mask", help="mask of the rod (default: found automatically)")
    parser.add_argument("--water-mask", help="mask of the water/background reference (with --rod-mask)")
    parser.add_argument("--series", metavar="UID", help="SeriesInstanceUID when the folder holds several series")
    parser.add_argument("--json", metavar="OUT", help="write the calibration as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io.ct import load_ct
    from ..region.mask import load_region
    from ..scoring.calibration import calibrate_auto, calibrate_with_masks  # scipy.ndimage: not at parse time

    if bool(args.rod_mask) != bool(args.water_mask):
        raise InputError("give both --rod-mask and --water-mask, or neither for automatic detection")
    if args.json:
        check_output_file(args.json, "--json")
    ct = load_ct(args.image, series_uid=args.series)
    if args.rod_mask:
        rod = load_region(args.rod_mask, ct).labels
        water = load_region(args.water_mask, ct).labels
        calibration = calibrate_with_masks(ct, rod, water, args.rod_density)
    else:
        calibration = calibrate_auto(ct, args.rod_density)
    print("calibration factor c_HA = %.6f mg/(mm3 HU)" % calibration.factor_mg_per_mm3_hu)
    print("  rod   %7.1f HU (SD %.1f, %d voxels), density %g mg HA/cm3" % (
        calibration.rod_hu, calibration.rod_sd_hu, calibration.rod_voxels, calibration.rod_density_mg_cm3))
    print("  water %7.1f HU (SD %.1f, %d voxels), reference: %s" % (
        calibration.water_hu, calibration.water_sd_hu, calibration.water_voxels, calibration.water_reference))
    print("  method: %s" % calibration.method)
    for warning in calibration.warnings:
        print("  warning: %s" % warning)
    if args.json:
        write_text_atomic(args.json, json.dumps(calibration.to_dict(), indent=2) + "\n")
        print("calibration written to %s" % args.json)
    return 0
