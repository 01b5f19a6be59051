"""``coronary-calcium review CASE_DIR``: a reader's edits on an assessed case (artery, exclude, include, add, undo);
the case's result, lesion CSV, calcium segmentation and report are rewritten, the automatic ones kept beside them."""

from __future__ import annotations

import argparse
import getpass
import os

from ..batch import refresh_summary_row
from ..reporting.text_summary import format_summary
from ..review.case_dir import review_case
from ..review.edits import (EXCLUDE_REASONS, edits_from_json, parse_add_edit, parse_artery_edit, parse_exclude_edit,
                            parse_include_edit)


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
    case = review_case(args.case_dir, edits, image=args.image, undo=args.undo)
    folder = os.path.normpath(os.path.abspath(args.case_dir))
    refreshed = refresh_summary_row(os.path.dirname(folder), os.path.basename(folder))
    if not args.quiet:
        print(format_summary(case))
        print("\n%d edit(s) in the review of %s%s" % (len(case.review.edits), args.case_dir,
                                                   "; summary.csv and overview.html updated" if refreshed else ""))
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): the edits still say who if --reader is given
        return ""
