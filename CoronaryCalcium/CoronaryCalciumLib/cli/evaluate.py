"""``coronary-calcium evaluate MANIFEST --out DIR``: a trained model on a labelled cohort it has not seen.

Loads a trusted model (default: the shipped zero vs non-zero model), extracts the features it was trained with for every
case, and reports accuracy, sensitivity, specificity, F1 and ROC AUC (or the multi-class metrics) with 95% bootstrap
confidence intervals, per-case predictions, and ROC / calibration plots.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..errors import InputError
from .options import embedding_settings
from .train import ProgressPrinter, add_feature_options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained classifier on a labelled cohort (external validation)",
        description="Apply a trusted model to every case of MANIFEST (CSV: image, mask, and label or agatston) and "
                    "report its metrics with 95% bootstrap confidence intervals, predictions and ROC plot in DIR.",
    )
    parser.add_argument("manifest", help="cohort manifest CSV")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", metavar="PATH", help="model file or the folder `train` wrote it to")
    source.add_argument("--shipped", choices=("binary", "risk_category"), default=None,
                        help="a model shipped with CoronaryCalcium (default: binary)")
    parser.add_argument("--trust", action="store_true",
                        help="record the model file's SHA-256 as trusted before loading it (loading runs its code)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    add_feature_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..classifier.metrics import METRIC_LABELS
    from ..classifier.cohort import SkippedCase, labels_for_task
    from ..io.manifest import read_manifest
    from ..features.table import spec_extractors
    from ..classifier.model import load_trusted, shipped_model_path
    from ..reporting.training_report import write_evaluation_report
    from .train import cohort_features
    from ..io.atomic import check_output_folder

    check_output_folder(args.out, "--out")
    path = args.model or shipped_model_path(args.shipped or "binary")
    model = load_trusted(path, trust=args.trust)
    cases = read_manifest(args.manifest)
    labels_for_task(cases, model.task)  # every case needs a label for the model's task
    progress = ProgressPrinter(args.quiet)
    extractor_names = spec_extractors(model.feature_set)
    if args.features_csv:
        cohort, _settings = cohort_features(args, cases, extractor_names, progress)
    else:
        from ..classifier.cohort import extract_cohort
        from ..features.cache import default_cache_dir

        cache_dir = None if args.no_cache else (args.cache or default_cache_dir())
        cohort = extract_cohort(cases, model.extractors(embedding_settings(args)), cache_dir=cache_dir, jobs=max(1, args.jobs),
                                progress=progress)
    labels = labels_for_task(cohort.cases, model.task)
    skipped = list(cohort.skipped)
    keep = [i for i, label in enumerate(labels) if label in model.class_names]
    for i, label in enumerate(labels):
        if label not in model.class_names:
            skipped.append(SkippedCase(cohort.cases[i].case_id, "label '%s' is not a class of the model (%s)"
                                       % (label, ", ".join(model.class_names))))
    if not keep:
        raise InputError("no case of %s has a label the model knows (%s)" % (args.manifest,
                                                                             ", ".join(model.class_names)))
    case_ids = [cohort.cases[i].case_id for i in keep]
    table = cohort.table.rows(case_ids)
    rows = [dict(zip(table.columns, row)) for row in table.values]
    matrix, warnings = model.feature_matrix(rows)
    probabilities = model.predict_proba(matrix)
    y = np.array([model.class_names.index(labels[i]) for i in keep], dtype=int)
    data = write_evaluation_report(args.out, model, case_ids, y, probabilities, skipped=skipped,
                                   n_boot=args.bootstrap, source=os.path.basename(args.manifest))
    if not args.quiet:
        print("%s on %d cases of %s%s" % (model.name, len(case_ids), args.manifest,
                                          " (%d left out)" % len(skipped) if skipped else ""))
        for name, estimate in data["metrics"].items():
            value = estimate["value"]
            text = "n/a" if value is None else "%.3f" % value
            if value is not None and estimate["ci_low"] is not None:
                text += " (95%% CI %.3f-%.3f)" % (estimate["ci_low"], estimate["ci_high"])
            print("  %-28s %s" % (METRIC_LABELS.get(name, name), text))
        for warning in warnings:
            print("  warning: %s" % warning, file=sys.stderr)
        if model.synthetic:
            print("  note: this model was trained on synthetic phantoms only and is not clinically validated")
        print("  report: %s" % os.path.join(args.out, "report.md"))
    return 0
