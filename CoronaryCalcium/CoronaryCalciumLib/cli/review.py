"""``coronary-calcium review CASE_DIR``: a reader's edits on an assessed case (artery, exclude, include, add, undo);
the case's result, lesion CSV, calcium segmentation and report are rewritten, the automatic ones kept beside them."""

from __future__ import annotations

import argparse
import getpass
import os
import tempfile

from ..batch import refresh_summary_row, write_dicom_folder
from ..errors import InputError
from ..io.atomic import check_output_folder
from ..reporting.text_summary import format_summary
from ..review.case_dir import review_case
from ..review.edits import (EXCLUDE_REASONS, edits_from_json, parse_add_edit, parse_artery_edit, parse_exclude_edit,
                            parse_include_edit)
from .options import add_dicom_options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "review",
        help="confirm and correct an assessed case: set arteries, exclude, include or add lesions",
        description="Apply a reader's edits to a case folder written by `assess` (OUT/<id>/) and rewrite its "
                    "result.json, lesions.csv, calcium.seg.nrrd and report.html; the automatic ones are kept in "
                    "CASE_DIR/automatic/. Lesion ids are those of lesions.csv and the report. Edits are applied "
                    "after the case's earlier ones, in this order: --artery, --exclude, --include, --add, then "
                    "--edits in file order.",
    )
    parser.add_argument("case_dir", help="a case folder written by assess")
    parser.add_argument("--artery", action="append", default=[], metavar="ID=ARTERY",
                        help="set a lesion's artery (LM, LAD, LCX, RCA, unassigned), e.g. 3=RCA; repeatable")
    parser.add_argument("--exclude", action="append", default=[], metavar="ID[:REASON]",
                        help="leave a lesion out, reason one of %s (default other); repeatable"
                             % ", ".join(EXCLUDE_REASONS))
    parser.add_argument("--include", action="append", default=[], metavar="ID",
                        help="count an excluded lesion again (also one the lesion filters left out); repeatable")
    parser.add_argument("--add", action="append", default=[], metavar="X,Y,Z[:ARTERY]",
                        help="add the calcium at a point in LPS mm (Slicer RAS with x and y negated); repeatable")
    parser.add_argument("--edits", metavar="JSON", help="edits from a file: a list of {action, lesion, artery, "
                                                         "reason, point_lps_mm, note}")
    parser.add_argument("--undo", type=int, default=0, metavar="N", help="drop the case's last N edits first")
    parser.add_argument("--reader", default=None, help="who reviews (default: the login name)")
    parser.add_argument("--note", default="", help="a note stored with each of these edits")
    parser.add_argument("--image", help="the case's CT, when its path is not in the result (pseudonymous outputs)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_dicom_options(parser, per_case=True, retrieve=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    reader = args.reader if args.reader is not None else _login()
    edits = [parse_artery_edit(text, reader) for text in args.artery]
    edits += [parse_exclude_edit(text, reader) for text in args.exclude]
    edits += [parse_include_edit(text, reader) for text in args.include]
    edits += [parse_add_edit(text, reader) for text in args.add]
    if args.edits:
        edits += edits_from_json(args.edits, reader)
    for edit in edits:
        edit.note = edit.note or args.note
    node = _node(args)
    case = review_case(args.case_dir, edits, image=args.image, undo=args.undo)
    folder = os.path.normpath(os.path.abspath(args.case_dir))
    case_id = os.path.basename(folder)
    refreshed = refresh_summary_row(os.path.dirname(folder), case_id)
    if not args.quiet:
        print(format_summary(case))
        print("\n%d edit(s) in the review of %s%s" % (len(case.review.edits), args.case_dir,
                                                   "; summary.csv and overview.html updated" if refreshed else ""))
    if args.dicom_out or args.send:
        _dicom(args, node, case_id, case)
    return 0


def _node(args: argparse.Namespace):
    """The DICOM node of --pacs, and the DICOM output folder, checked before any edit is applied."""
    if args.dicom_out:
        check_output_folder(args.dicom_out, "--dicom-out")
    if args.dicom_out or args.send:
        _check_dicom_ct(args.case_dir)
    if not args.pacs:
        if args.send:
            raise InputError("--send needs the DICOM node: --pacs AET@HOST:PORT")
        return None
    from ..io.dicom_node import parse_node

    return parse_node(args.pacs, calling_ae=args.calling_ae)


def _check_dicom_ct(case_dir: str) -> None:
    """DICOM outputs reference the CT's DICOM images: refuse a case assessed on another format before any edit."""
    import json

    from ..reporting.dicom_source import is_dicom_format

    try:
        with open(os.path.join(case_dir, "result.json"), encoding="utf-8") as stream:
            ct_format = str((json.load(stream).get("input") or {}).get("format") or "")
    except (OSError, ValueError):
        return  # review_case reports a missing or broken result in its own words
    if not is_dicom_format(ct_format):
        raise InputError("DICOM outputs (SEG, SR, PDF) need a case assessed on a DICOM series; %s was assessed on %s"
                         % (case_dir, ct_format or "an image that is not DICOM"))


def _dicom(args: argparse.Namespace, node, case_id: str, case) -> None:
    """The reviewed case's SEG, SR and PDF into --dicom-out/<id>/ (or a temporary folder) and, with --send, on the
    node. The review itself is already written: a case whose CT is not DICOM fails here with one line."""
    import dataclasses

    from .assess import send_folders

    # the DICOM objects describe the CT as read now (its folder, patient module), not the pseudonymous result.json
    case = dataclasses.replace(case, ct=case.ct_volume.metadata)
    with tempfile.TemporaryDirectory(prefix="coronary-calcium-review-") as work:  # the objects carry PHI
        dicom_out = args.dicom_out or work
        write_dicom_folder(dicom_out, case_id, case)
        if not args.quiet and args.dicom_out:
            print("DICOM outputs of the reviewed result (with patient data) written to %s"
                  % os.path.join(dicom_out, case_id))
        if args.send:
            send_folders(node, [os.path.join(dicom_out, case_id)])


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): the edits still say who if --reader is given
        return ""
