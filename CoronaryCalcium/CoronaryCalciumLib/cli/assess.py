"""``coronary-calcium assess INPUT... --out DIR``: the whole job on one or many cases, resumable and parallel."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from ..batch import BatchOptions, discover, run_batch
from ..classifier.step import classifier_step
from ..errors import InputError
from ..io.atomic import check_output_folder
from ..region.mask import parse_label_spec
from ..region.totalseg_region import holds_masks
from .options import (add_classifier_options, add_dicom_options, add_region_options, add_scoring_options,
                      settings_from_args, totalseg_settings_from_args)

EXIT_SOME_FAILED = 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "assess",
        help="assess many scans: scores, segmentations, reports, cohort summary",
        description="Assess every case in INPUT (image files, folders of DICOM series or images, or a manifest CSV "
                    "with columns image, mask, id). Each case's outputs go to OUT/<id>/ (result.json, lesions.csv, "
                    "region.seg.nrrd, calcium.seg.nrrd, report.html); OUT/summary.csv has one row per case. "
                    "Finished cases are skipped on a rerun. Exit code 0: all assessed; 1: some failed.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--mask", help="region of interest for a single input case")
    # with --region heart|coronary every case's region comes from TotalSegmentator and masks are not used
    parser.add_argument("--labels", help="label numbering of the masks, e.g. 1=LAD,2=LCX,3=RCA")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="parallel worker processes")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="run the cases on this Dask scheduler instead")
    parser.add_argument("--force", action="store_true", help="redo cases that are already finished")
    parser.add_argument("--include-phi", action="store_true",
                        help="put patient name and ID and input paths in the outputs (default: pseudonymous IDs)")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML reports")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_scoring_options(parser)
    add_region_options(parser)
    add_classifier_options(parser)
    add_dicom_options(parser, per_case=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output_folder(args.out, "--out")
    parse_label_spec(args.labels)  # a wrong numbering is the user's error, before any case fails with it
    node = _node(args)
    with tempfile.TemporaryDirectory(prefix="coronary-calcium-pacs-") as work:  # retrieved studies carry PHI
        inputs = list(args.inputs) + _retrieve(node, args.study, work)
        dicom_out = args.dicom_out or (os.path.join(work, "dicom") if args.send else None)
        code, assessed = _assess(args, inputs, dicom_out)
        if args.send:
            send_folders(node, [os.path.join(dicom_out, case_id) for case_id in assessed])
    return code


def _assess(args: argparse.Namespace, inputs, dicom_out) -> int:
    options = BatchOptions(settings=settings_from_args(args), labels=args.labels, include_phi=args.include_phi,
                           report=not args.no_report, force=args.force, totalseg=totalseg_settings_from_args(args),
                           model=args.model, dicom_out=dicom_out)
    classifier_step(args.model, trust=args.trust)  # a named model that cannot load stops here, before any case
    cases = discover(inputs, mask=args.mask)
    if not cases:
        raise InputError("no cases found in %s: no DICOM series and no NIfTI, NRRD or MHA image (masks alone are not "
                         "cases)" % ", ".join(inputs))
    existing = getattr(args, "totalseg_output", None)
    if existing and len(cases) != 1 and holds_masks(existing):
        raise InputError("--totalseg-output holds the masks of one CT, but %d cases were found: give a folder with one "
                         "subfolder per case, named after its image (e.g. LUNG1-001/heart.nii.gz)" % len(cases))
    print("%d case(s) found; writing to %s" % (len(cases), args.out), file=sys.stderr)
    report = run_batch(cases, args.out, options, workers=args.jobs, scheduler=args.scheduler,
                       progress_bar=not args.no_progress)
    failed = report.failed
    print("%d assessed, %d skipped (already finished), %d failed in %.1f s; summary: %s/summary.csv" % (
        len(report.rows) - len(failed) - report.skipped, report.skipped, len(failed), report.seconds, args.out))
    assessed = [str(row["id"]) for row in report.rows if row["status"] == "ok"]
    return (EXIT_SOME_FAILED if failed else 0), assessed


def _node(args: argparse.Namespace):
    """The DICOM node of --pacs, checked against --study and --send before anything runs."""
    if not args.inputs and not args.study:
        raise InputError("nothing to assess: give INPUT files or folders, or --study UID with --pacs")
    if not args.pacs:
        if args.study or args.send:
            raise InputError("--study and --send need the DICOM node: --pacs AET@HOST:PORT")
        return None
    from ..io.dicom_node import check_uid, parse_node

    for uid in args.study:
        check_uid(uid)
    return parse_node(args.pacs, calling_ae=args.calling_ae)


def _retrieve(node, study_uids, work: str):
    """Each study's CT images from the node into a folder below ``work``; the folders, one case each."""
    from ..io.dicom_node import retrieve_study

    folders = []
    for uid in study_uids:
        folder = os.path.join(work, "studies", uid)
        count = len(retrieve_study(node, uid, folder))
        print("retrieved %d image(s) of study %s from %s" % (count, uid, node.label()), file=sys.stderr)
        folders.append(folder)
    return folders


def send_folders(node, folders) -> None:
    """C-STORE the SEG, SR and Encapsulated PDF in the DICOM output folders of the cases assessed (a case skipped
    as finished sends what an earlier run wrote, if it is still there: the same SOP instances again)."""
    from ..io.dicom_node import store_files

    paths = [os.path.join(folder, name) for folder in folders if os.path.isdir(folder)
             for name in sorted(os.listdir(folder)) if name.endswith(".dcm")]
    if not paths:
        print("nothing sent to %s: no case wrote DICOM outputs" % node.label(), file=sys.stderr)
        return
    print("sent %d DICOM object(s) to %s" % (store_files(node, paths), node.label()), file=sys.stderr)
