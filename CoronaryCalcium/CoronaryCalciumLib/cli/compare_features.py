"""``coronary-calcium compare-features RUN``: the feature-set comparison table, plot and paired tests of a training run.

RUN is the folder ``train`` wrote for one task (``OUT/binary``) or its ``report.json``; run ``train`` with several
``--features`` (e.g. ``radiomics ctfm radimagenet radiomics+ctfm``) to have something to compare.
"""

from __future__ import annotations

import argparse
import os


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare-features",
        help="table + plot of every feature set x classifier of a training run, with paired tests",
        description="Read the report.json of a `train` run and write comparison.md, comparison.csv and comparison.png: "
                    "pooled out-of-fold metrics with 95% bootstrap CIs for every feature set x classifier, and the "
                    "paired t-tests between feature sets (plain and Nadeau-Bengio corrected).",
    )
    parser.add_argument("run", help="folder written by train for one task (OUT/binary) or its report.json")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: the run folder)")
    parser.add_argument("--note", default=None,
                        help="a line printed at the top of the comparison (e.g. that the data are synthetic)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..classifier.feature_comparison import comparison_markdown, read_report, write_feature_comparison

    from ..io.atomic import check_output_folder

    report = read_report(args.run)
    folder = args.out or (args.run if os.path.isdir(args.run) else os.path.dirname(os.path.abspath(args.run)))
    check_output_folder(folder, "--out")
    note = args.note if args.note is not None else report.get("warning")
    paths = write_feature_comparison(report, folder, synthetic_note=note)
    if not args.quiet:
        print(comparison_markdown(report, note))
        print("written: %s" % ", ".join(paths.values()))
    return 0
