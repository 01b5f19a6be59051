"""``coronary-calcium score IMAGE --mask MASK``: Agatston, volume and mass scores in a region of interest."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from ..io.atomic import check_output_file, write_text_atomic
from ..pipeline import assess_case
from ..progress import silent
from ..region.source import RegionSource
from ..reporting.text_summary import format_summary
from ..classifier.step import classifier_step
from .options import (add_classifier_options, add_dicom_options, add_region_options, add_scoring_options, settings_from_args,
                      totalseg_settings_from_args)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score calcium in a CT within a region of interest",
        description="Score coronary calcium (Agatston, volume, mass, per artery, lesions, categories) in IMAGE "
                    "within the region of interest MASK.",
    )
    parser.add_argument("image", help="CT: DICOM folder (or one of its files), NIfTI, NRRD or MHA")
    parser.add_argument("--mask",
                        help="region of interest: binary or labelled image (1=LM, 2=LAD, 3=LCX, 4=RCA) or Slicer "
                             ".seg.nrrd; or use --region heart|coronary")
    parser.add_argument("--labels", help="label numbering of the mask, e.g. 1=LAD,2=LCX,3=RCA (default: automatic)")
    parser.add_argument("--series", metavar="UID", help="SeriesInstanceUID to use when the folder holds several series")
    add_scoring_options(parser)
    add_region_options(parser)
    add_classifier_options(parser)
    add_dicom_options(parser, per_case=False)
    parser.add_argument("--json", metavar="OUT", help="write the result as JSON")
    parser.add_argument("--include-phi", action="store_true", help="include patient name and ID in the JSON")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.json:
        check_output_file(args.json, "--json")
    if args.mask and RegionSource(args.region).uses_totalsegmentator:
        raise InputError("give either --mask or --region %s, not both" % args.region)
    assessment = assess_case(args.image, args.mask, settings, labels=args.labels, series_uid=args.series,
                             totalseg=totalseg_settings_from_args(args), progress=_progress(args),
                             classify=classifier_step(args.model, trust=args.trust))
    if args.dicom_out:
        from ..reporting.dicom_outputs import write_dicom_outputs

        dicom_files = write_dicom_outputs(args.dicom_out, assessment)
    if args.json:
        write_text_atomic(args.json, assessment.to_json(include_phi=args.include_phi) + "\n")
    if not args.quiet:
        print(format_summary(assessment))
        if args.json:
            print("\nresult written to %s" % args.json)
        if args.dicom_out:
            print("DICOM outputs (with patient data) written to %s: %s" % (args.dicom_out, ", ".join(dicom_files)))
    return 0




def _progress(args: argparse.Namespace):
    """Progress lines on stderr while TotalSegmentator runs (it takes minutes); silent for a mask."""
    if args.quiet or not RegionSource(args.region).uses_totalsegmentator:
        return silent

    def report(fraction: float, message: str) -> None:
        print("[%3.0f%%] %s" % (100 * fraction, message), file=sys.stderr, flush=True)

    return report
