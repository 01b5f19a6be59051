"""``coronary-calcium agreement MEASURED.csv REFERENCE.csv --out DIR``: how well measured scores agree with a reference.

MEASURED is ``assess``'s summary.csv (or any CSV with ``id`` and ``agatston``); REFERENCE is a phantom cohort's
manifest.csv, or scores of the same scans from other software (``id``, ``agatston``, optional ``agatston_LM`` ...
``agatston_RCA``). With a phantom manifest and the ``assess`` output folder, lesions are matched to the truth as well.
"""

from __future__ import annotations

import argparse

from ..scoring.agreement import DEFAULT_MATCH_TOLERANCE_MM


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "agreement",
        help="agreement of measured scores with a reference: ICC, Bland-Altman, kappa, lesion detection",
        description="Join MEASURED and REFERENCE by id and write agreement.md, agreement.json, pairs.csv and "
                    "bland_altman.png: Agatston ICC(A,1) with 95% CI, Bland-Altman bias and limits of agreement, "
                    "linearly weighted kappa of the classic and CAC-DRS categories, zero vs non-zero accuracy, "
                    "per-artery ICC, and (phantom truth) lesion sensitivity and PPV by count and volume.",
    )
    parser.add_argument("measured", help="summary.csv written by assess (or a CSV with id, agatston)")
    parser.add_argument("reference", help="manifest.csv of a phantom cohort, or a CSV with id, agatston")
    parser.add_argument("--out", metavar="DIR", required=True, help="folder for the agreement report")
    parser.add_argument("--match-tolerance", type=float, default=DEFAULT_MATCH_TOLERANCE_MM, metavar="MM",
                        help="lesion matching: distance allowed beyond a calcification's largest semi-axis "
                             "(default %(default)s mm)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..scoring.agreement import agreement_markdown, write_agreement
    from ..errors import InputError
    from ..io.atomic import check_output_folder

    check_output_folder(args.out, "--out")
    if args.match_tolerance < 0:
        raise InputError("--match-tolerance must be 0 mm or more (got %s)" % args.match_tolerance)
    agreement, paths = write_agreement(args.measured, args.reference, args.out, args.match_tolerance)
    if not args.quiet:
        print(agreement_markdown(agreement), end="")
        print("written: %s" % ", ".join(paths.values()))
    return 0
