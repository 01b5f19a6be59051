"""``coronary-calcium phantom OUT``: synthetic cardiac CT phantoms with ground truth (one case, a cohort, or the QRM
calibration-insert replica)."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from ..io.atomic import check_output_folder


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "phantom",
        help="generate synthetic cardiac CT phantoms with ground truth",
        description="Generate a synthetic non-contrast (or, with --contrast, contrast-enhanced) cardiac CT (or a non-gated "
                    "chest CT) with coronary calcium, "
                    "TotalSegmentator-like masks and a truth JSON (every plaque; reference Agatston, volume and mass "
                    "per artery). Deterministic: the same seed and options give the same files. With --cohort N, "
                    "write N varied cases and OUT/manifest.csv; with --qrm, the QRM calcification-insert replica.",
    )
    parser.add_argument("out", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--cohort", type=int, metavar="N", help="write N cases and a manifest CSV")
    parser.add_argument("--same-protocol", action="store_true",
                        help="cohort: keep the given protocol for every case instead of varying slices, noise, variant")
    parser.add_argument("--workers", type=int, default=1, help="cohort: cases generated in parallel (default 1)")
    parser.add_argument("--qrm", action="store_true", help="the QRM Cardiac Calcification Insert replica instead")
    parser.add_argument("--protocol", metavar="NAME",
                        help="scan protocol preset: gated-3mm (the default case), chest-3mm (non-gated chest CT), "
                             "chest-thin-sharp (non-gated, 1 mm at 1 mm, sharp kernel, 25 HU noise like a real "
                             "thin chest CT), chest-lowdose-3mm (non-gated, 3 mm, 40 HU noise); options given as "
                             "well override it; a cohort keeps it for every case")
    parser.add_argument("--variant", choices=("cardiac", "chest"),
                        help="gated calcium-scoring CT (default) or non-gated chest CT")
    parser.add_argument("--kernel", metavar="NAME",
                        help="reconstruction kernel: soft (default; DICOM B35f) or sharp (edge overshoot at air "
                             "and lung borders, finer and higher-frequency noise; DICOM B50f)")
    parser.add_argument("--small", action="store_true", help="fast small case: 256 x 256, 40 slices, no lung vessels")
    parser.add_argument("--matrix", type=int, help="pixels per side (default 512)")
    parser.add_argument("--fov", type=float, metavar="MM", help="field of view (default 250 cardiac, body width chest)")
    parser.add_argument("--thickness", type=float, metavar="MM",
                        help="slice thickness: 3.0 (default), 2.5, 1.5, 1.0, 0.625 or any 0.3-10")
    parser.add_argument("--increment", type=float, metavar="MM",
                        help="slice increment (default: 3.0/1.25/1.0/0.5/0.5 for those thicknesses)")
    parser.add_argument("--slices", type=int, metavar="N", help="number of slices (default: from --coverage)")
    parser.add_argument("--coverage", type=float, metavar="MM", help="scan length (default 180 cardiac, 270 chest)")
    parser.add_argument("--noise", type=float, metavar="HU", help="noise SD in HU (default 18 cardiac, 25 chest)")
    parser.add_argument("--psf", type=float, metavar="MM", help="in-plane resolution, FWHM (default 1.0)")
    parser.add_argument("--kvp", type=float, default=120.0, help="tube voltage (70, 80, 100, 120, 140; default 120)")
    parser.add_argument("--burden", default="auto",
                        choices=("auto", "zero", "minimal", "mild", "moderate", "severe"),
                        help="coronary calcium burden aimed at (default: drawn with realistic frequencies)")
    parser.add_argument("--plaques", type=int, metavar="N", help="exact number of coronary plaques")
    for name, text in (("aortic", "aortic wall"), ("valve", "aortic valve"), ("mitral", "mitral annulus")):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--%s-calcium" % name, dest="%s_calcium" % name, action="store_true", default=None,
                           help="always add %s calcium (default: drawn)" % text)
        group.add_argument("--no-%s-calcium" % name, dest="%s_calcium" % name, action="store_false",
                           help="never add %s calcium" % text)
    parser.add_argument("--contrast", action="store_true",
                        help="contrast-enhanced scan: blood pool, aorta and coronary lumen enhanced (drawn 250-450 HU "
                             "unless --contrast-hu), myocardium mildly; DICOM ContrastBolusAgent set; the reference "
                             "score is that of the same case without contrast")
    parser.add_argument("--contrast-hu", type=float, metavar="HU", help="enhanced blood level (150-700 HU)")
    parser.add_argument("--contrast-fraction", type=float, default=0.0, metavar="F",
                        help="cohort: share of contrast-enhanced cases, drawn per case (manifest column contrast)")
    parser.add_argument("--imperfect-masks", action="store_true",
                        help="coronary mask with TotalSegmentator-like errors (dilation/erosion, missing distal "
                             "segments, shifts); the exact mask is written as well")
    parser.add_argument("--no-lung-vessels", action="store_true", help="skip the pulmonary vessel trees (faster)")
    parser.add_argument("--dicom", action="store_true", help="also write the image as a DICOM series")
    parser.add_argument("--noise-free", action="store_true", help="also write the noise-free image")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    from ..phantom.config import MaskImperfections, PhantomConfig, chest_config, protocol_config, small_config

    variant = args.variant or "cardiac"
    if args.small:
        config = small_config(variant=variant)
    elif variant == "chest" and not args.protocol:
        config = chest_config()
    else:
        config = PhantomConfig()
    if args.protocol:
        config = protocol_config(args.protocol, base=config)
    changes = {
        "kvp": args.kvp, "burden": args.burden, "n_plaques": args.plaques, "aortic_calcium": args.aortic_calcium,
        "valve_calcium": args.valve_calcium, "mitral_calcium": args.mitral_calcium,
        "imperfections": MaskImperfections(enabled=bool(args.imperfect_masks)),
        "contrast": bool(args.contrast or args.contrast_hu is not None), "contrast_blood_hu": args.contrast_hu,
    }
    if args.thickness is not None or not args.protocol:
        changes.update(slice_thickness_mm=3.0 if args.thickness is None else args.thickness,
                       slice_increment_mm=args.increment)
    elif args.increment is not None:
        changes["slice_increment_mm"] = args.increment
    for key, value in (("matrix", args.matrix), ("fov_mm", args.fov), ("n_slices", args.slices),
                       ("coverage_mm", args.coverage), ("noise_sd_hu", args.noise), ("psf_fwhm_mm", args.psf),
                       ("variant", args.variant), ("kernel", args.kernel)):
        if value is not None:
            changes[key] = value
    if args.no_lung_vessels:
        changes["lung_vessels"] = False
    return config.with_changes(**changes).validate()


def _progress(quiet: bool):
    if quiet:
        return None

    def report(fraction: float, message: str) -> None:
        sys.stderr.write("\r%3d%% %-40s" % (int(round(100 * fraction)), message[:40]))
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise InputError("--seed must be a non-negative integer")
    check_output_folder(args.out, "output folder")
    if args.qrm:
        if args.protocol or args.kernel:
            raise InputError("--qrm makes the QRM insert replica with its own protocol: drop --protocol and --kernel")
        return _run_qrm(args)
    config = config_from_args(args)
    if args.cohort is not None:
        from ..phantom.cohort import generate_cohort

        if args.workers < 1:
            raise InputError("--workers must be at least 1")
        manifest = generate_cohort(args.out, args.cohort, seed=args.seed, base=config, dicom=args.dicom,
                                   noise_free=args.noise_free, vary=not (args.same_protocol or args.protocol),
                                   workers=args.workers, contrast_fraction=args.contrast_fraction,
                                   progress=_progress(args.quiet))
        if not args.quiet:
            print("cohort of %d cases written; manifest: %s" % (args.cohort, manifest))
        return 0
    from ..phantom.case import generate_case
    from ..phantom.writer import write_case

    case = generate_case(args.seed, config, progress=_progress(args.quiet))
    paths = write_case(case, args.out, dicom=args.dicom, noise_free=args.noise_free)
    if not args.quiet:
        reference = case.truth.reference
        print("%s: %s, %d slices of %.3g mm (increment %.3g mm), %dx%d, noise %.3g HU, %s kernel (%s)" % (
            case.case_id, config.variant, case.grid.shape[0], config.slice_thickness_mm, config.increment_mm,
            case.grid.shape[2], case.grid.shape[1], config.noise_sd_hu, config.kernel,
            case.metadata.kernel))
        print("  %d coronary plaques, %d other calcifications; reference Agatston %.1f (%s, %s), volume %.1f mm3"
              % (case.truth.physical["coronary_count"], case.truth.physical["extracoronary_count"], reference.agatston,
                 reference.classic, reference.cac_drs, reference.volume_mm3))
        if config.contrast:
            print("  contrast-enhanced: blood %.0f HU (reference scored without contrast)"
                  % case.truth.reconstruction["contrast"]["blood_hu"])
        if case.truth.mask_imperfections:
            print("  mask imperfections: %s" % "; ".join(case.truth.mask_imperfections))
        print("  written to %s (%s)" % (args.out, ", ".join(sorted(paths))))
    return 0


def _run_qrm(args: argparse.Namespace) -> int:
    from ..phantom.qrm_insert import generate_qrm_case, write_qrm_case

    case = generate_qrm_case(seed=args.seed, noise_sd_hu=23.0 if args.noise is None else args.noise,
                             slice_thickness_mm=3.0 if args.thickness is None else args.thickness,
                             slice_increment_mm=args.increment,
                             matrix=args.matrix or 512, fov_mm=args.fov or 250.0,
                             psf_fwhm_mm=args.psf or 1.0, kvp=args.kvp)
    paths = write_qrm_case(case, args.out, dicom=args.dicom)
    if not args.quiet:
        calibration = case.truth["calibration"]
        print("QRM CCI replica: %d slices; rod %.0f HU, resin %.0f HU, exact c_HA %.6f mg/(mm3 HU)" % (
            case.grid.shape[0], calibration["rod_hu"], calibration["resin_hu"],
            calibration["exact_factor_mg_per_mm3_hu"]))
        print("  written to %s (%s)" % (args.out, ", ".join(sorted(paths))))
    return 0
