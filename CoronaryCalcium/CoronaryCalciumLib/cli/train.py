"""``coronary-calcium train MANIFEST --out DIR``: the study's protocol on your cohort, with a report and a model file.

Features (pyradiomics by default, cached per case) -> nested CV of RandomForest / XGBoost / LightGBM with the
correlation filter inside each training fold -> report (Markdown, JSON, CSV, ROC) -> final calibrated model + card.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from ..errors import InputError
from .options import add_embedding_options, embedding_settings
from ..classifier.nested_cv import TASKS, TrainingConfig

DEFAULT_NAMES = {"binary": "cac_binary", "risk_category": "cac_risk_category"}


class ProgressPrinter:
    """Prints ``[ 42%] message`` lines to stderr when the message changes."""

    def __init__(self, quiet: bool = False, prefix: str = ""):
        self.quiet = quiet
        self.prefix = prefix
        self.last = None

    def __call__(self, fraction: float, message: str) -> None:
        if self.quiet or message == self.last:
            return
        self.last = message
        print("[%3d%%] %s%s" % (round(100 * max(0.0, min(1.0, fraction))), self.prefix, message), file=sys.stderr,
              flush=True)


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("features")
    group.add_argument("--features-csv", metavar="CSV",
                       help="use a feature table written by an earlier run (features.csv) instead of extracting")
    group.add_argument("--cache", metavar="DIR",
                       help="per-case feature cache (default: $CORONARY_CALCIUM_CACHE or ~/.cache/coronary-calcium)")
    group.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    group.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="worker processes for feature extraction and grid search (default 1)")
    add_embedding_options(group)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train and cross-validate classifiers on a labelled cohort (radiomics -> RF/XGBoost/LightGBM)",
        description="Extract features for every case of MANIFEST (CSV: image, mask, and label or agatston; see the "
                    "README), run nested cross-validation of RandomForest, XGBoost and LightGBM with the correlation "
                    "filter fitted inside each training fold, write a report (Markdown, JSON, CSV, ROC plot) and the "
                    "final calibrated model with its model card into DIR/<task>/. The model's hash is recorded in "
                    "your trusted-model registry so `evaluate` and `assess` can load it.",
    )
    parser.add_argument("manifest", help="cohort manifest CSV")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--task", choices=TASKS + ("both",), default="binary",
                        help="binary: zero vs non-zero CAC (default); risk_category: classic Agatston categories")
    parser.add_argument("--features", nargs="+", default=["radiomics"], metavar="SPEC",
                        help="feature set(s) to compare, e.g. radiomics  radiomics:firstorder+radiomics:shape  "
                             "ctfm  radimagenet  radiomics+ctfm (default radiomics)")
    parser.add_argument("--models", nargs="+", default=["random_forest", "xgboost", "lightgbm"], metavar="MODEL",
                        help="classifiers: random_forest (rf), xgboost (xgb), lightgbm (lgbm); default all three")
    parser.add_argument("--grid", choices=("standard", "quick"), default="standard", help="hyper-parameter grid")
    parser.add_argument("--correlation-threshold", type=float, default=0.9, metavar="R",
                        help="drop a feature whose |correlation| with a kept one exceeds R (default 0.9)")
    parser.add_argument("--correlation-method", choices=("pearson", "spearman"), default="pearson")
    parser.add_argument("--train-on", choices=("noncontrast", "mixed", "both"),
                        help="the study's contrast experiment: train on non-contrast scans only, on contrast-enhanced "
                             "and non-contrast scans, or both arms on the same test folds, compared with paired tests "
                             "(contrast from the manifest's contrast column, else detected per case)")
    parser.add_argument("--test-on", choices=("noncontrast",), default="noncontrast",
                        help="with --train-on: the test folds hold only non-contrast scans (the only choice)")
    parser.add_argument("--outer-folds", type=int, default=5, metavar="K", help="outer CV folds (default 5)")
    parser.add_argument("--inner-folds", type=int, default=5, metavar="K", help="inner CV folds (default 5)")
    parser.add_argument("--calibration", choices=("sigmoid", "isotonic", "none"), default="sigmoid",
                        help="probability calibration of the fitted pipeline (default sigmoid)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="bootstrap resamples for confidence intervals (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of splits and models (default 0)")
    parser.add_argument("--final-model", metavar="MODEL", help="model of the saved pipeline (default: best in CV)")
    parser.add_argument("--final-features", metavar="SPEC", help="feature set of the saved pipeline (default: best)")
    parser.add_argument("--name",
                        help="model name; {task} in it becomes the task (default cac_binary, cac_risk_category)")
    parser.add_argument("--description", default="", help="training-data description for the model card")
    parser.add_argument("--synthetic", action="store_true",
                        help="mark the model as trained on synthetic data (stated in its card and predictions)")
    parser.add_argument("--no-trust", action="store_true",
                        help="do not record the new model's hash in your trusted-model registry")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    add_feature_options(parser)
    parser.set_defaults(func=run)


def cohort_features(args: argparse.Namespace, cases, extractor_names, progress):
    """(FeatureTable, kept cases, skipped cases, extractor settings) from a feature CSV or by extraction."""
    from ..classifier.cohort import CohortFeatures, extract_cohort
    from ..features.cache import default_cache_dir
    from ..features.registry import make_extractor
    from ..features.table import FeatureTable

    extractors = [make_extractor(name, embedding=embedding_settings(args)) for name in extractor_names]
    settings = {extractor.name: extractor.settings() for extractor in extractors}
    if args.features_csv:
        table = FeatureTable.read_csv(args.features_csv)
        known = set(table.case_ids)
        kept = [case for case in cases if case.case_id in known]
        missing = [case.case_id for case in cases if case.case_id not in known]
        if missing:
            raise InputError("%s has no features for %d manifest case(s), e.g. %s"
                             % (args.features_csv, len(missing), missing[0]))
        table = table.rows([c.case_id for c in kept])
        for case, recorded in zip(kept, table.contrast or [None] * len(kept)):
            if case.contrast is None and recorded is not None:
                case.contrast, case.contrast_source = recorded, "recorded in %s" % os.path.basename(args.features_csv)
        table.contrast = [case.contrast for case in kept]
        return CohortFeatures(table=table, cases=kept), settings
    cache_dir = None if args.no_cache else (args.cache or default_cache_dir())
    return extract_cohort(cases, extractors, cache_dir=cache_dir, jobs=max(1, args.jobs), progress=progress), settings


def run(args: argparse.Namespace) -> int:
    from ..classifier.cohort import available_tasks, labels_for_task
    from ..io.manifest import read_manifest
    from ..features.table import spec_extractors
    from ..classifier.artefact import save_training_result
    from ..classifier.trust import sha256_file, user_registry_path
    from ..classifier.nested_cv import run_protocol
    from ..reporting.training_report import write_training_report
    from ..io.atomic import check_output_folder

    check_output_folder(args.out, "--out")
    cases = read_manifest(args.manifest)
    tasks = list(TASKS) if args.task == "both" else [args.task]
    possible = available_tasks(cases)
    for task in tasks:
        if task not in possible:
            labels_for_task(cases, task)  # raises, naming the case without a label
    extractor_names = []
    for spec in args.features + ([args.final_features] if args.final_features else []):
        extractor_names += [name for name in spec_extractors(spec) if name not in extractor_names]
    _check_trainable(cases, tasks, args)  # a cohort too small fails before minutes of feature extraction
    progress = ProgressPrinter(args.quiet)
    cohort, settings = cohort_features(args, cases, extractor_names, progress)
    _check_trainable(cohort.cases, tasks, args)  # ... and again without the cases whose features failed
    os.makedirs(args.out, exist_ok=True)
    cohort.table.write_csv(os.path.join(args.out, "features.csv"))
    if cohort.skipped and not args.quiet:
        print("%d case(s) left out (features could not be extracted); listed in the report" % len(cohort.skipped),
              file=sys.stderr)
    command = command_line(args)
    manifest_info = {"file": os.path.basename(args.manifest), "sha256": sha256_file(args.manifest)}
    contrast = _contrast_flags(cohort.cases) if args.train_on else None
    extra = {"contrast_cases": [{"case_id": case.case_id, "contrast": case.contrast, "source": case.contrast_source}
                                for case in cohort.cases]}
    for task in tasks:
        config = training_config(args, task)
        labels = labels_for_task(cohort.cases, task)
        task_progress = ProgressPrinter(args.quiet, prefix="%s: " % task)
        if args.train_on:
            from ..classifier.contrast_protocol import run_contrast_protocol

            result = run_contrast_protocol(cohort.table, labels, contrast, config, train_on=args.train_on,
                                           feature_sets=args.features,
                                           final_choice=(args.final_features, args.final_model),
                                           progress=task_progress)
        else:
            result = run_protocol(cohort.table, labels, config, feature_sets=args.features,
                                  final_choice=(args.final_features, args.final_model), progress=task_progress)
            result.case_contrast = list(cohort.table.contrast) if cohort.table.contrast is not None else None
        folder = os.path.join(args.out, task)
        name = model_name_for(args.name, task, len(tasks))
        saved = save_training_result(result, cohort.table, folder, name, settings, synthetic=args.synthetic,
                                     description=args.description, command=command,
                                     skipped=cohort.skipped, manifest=manifest_info, trust=not args.no_trust)
        warning = saved.card["warning"]
        write_training_report(result, folder, skipped=cohort.skipped, saved=saved, extra=dict(extra, warning=warning))
        if len(args.features) > 1:
            from ..classifier.feature_comparison import write_feature_comparison
            from ..reporting.training_report import training_report_data

            write_feature_comparison(training_report_data(result, cohort.skipped, saved, dict(extra, warning=warning)),
                                     folder, synthetic_note=warning or None)
        if not args.quiet:
            print(_summary(result, saved, folder))
            if saved.trusted_in:
                print("  model hash recorded as trusted in %s" % user_registry_path())
    return 0


def _contrast_flags(cases) -> list:
    """Every case's contrast status (manifest or detection); InputError naming a case whose status is unknown."""
    unknown = [case.case_id for case in cases if case.contrast is None]
    if unknown:
        raise InputError("contrast status of %d case(s) is unknown (e.g. %s): give the manifest a contrast column "
                         "(yes/no), or extract features instead of --features-csv so the detection can decide"
                         % (len(unknown), unknown[0]))
    return [bool(case.contrast) for case in cases]


def training_config(args: argparse.Namespace, task: str) -> TrainingConfig:
    """The nested-CV settings of one task from the command line."""
    return TrainingConfig(task=task, models=args.models, grid=args.grid,
                          correlation_threshold=args.correlation_threshold,
                          correlation_method=args.correlation_method, outer_folds=args.outer_folds,
                          inner_folds=args.inner_folds, calibration=args.calibration, random_state=args.seed,
                          n_jobs=max(1, args.jobs), n_boot=args.bootstrap)


def _check_trainable(cases, tasks, args: argparse.Namespace) -> None:
    """The class-balance checks of the nested CV, before anything is written (InputError naming the class)."""
    from ..classifier.cohort import labels_for_task
    from ..classifier.nested_cv import check_class_counts, encode_labels

    for task in tasks:
        y, class_names = encode_labels(labels_for_task(cases, task), task)
        check_class_counts(y, class_names, training_config(args, task))


def _summary(result, saved, folder: str) -> str:
    from ..classifier.metrics import METRIC_LABELS

    best = result.candidate(result.final.feature_set, result.final.model)
    lines = ["%s: %d cases, final pipeline %s" % (result.task, len(result.case_ids), best.key)]
    for name, estimate in best.summary.items():
        lines.append("  %-28s %s" % (METRIC_LABELS.get(name, name), estimate.text()))
    lines.append("  report: %s" % os.path.join(folder, "report.md"))
    lines.append("  model:  %s (SHA-256 %s)" % (saved.model_path, saved.sha256))
    return "\n".join(lines)


def model_name_for(name: str, task: str, n_tasks: int) -> str:
    """``--name``: "{task}" in it is replaced by the task; with several tasks and no "{task}", "_<task>" is appended."""
    if not name:
        return DEFAULT_NAMES[task]
    if "{task}" in name:
        return name.replace("{task}", task)
    return name if n_tasks == 1 else "%s_%s" % (name, task)


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (paths as given), for the model card."""
    parts = ["coronary-calcium", "train", args.manifest, "--out", args.out, "--task", args.task, "--features"]
    parts += list(args.features) + ["--models"] + list(args.models)
    parts += ["--grid", args.grid, "--correlation-threshold", "%g" % args.correlation_threshold,
              "--correlation-method", args.correlation_method, "--outer-folds", str(args.outer_folds),
              "--inner-folds", str(args.inner_folds), "--calibration", args.calibration, "--bootstrap",
              str(args.bootstrap), "--seed", str(args.seed)]
    if args.train_on:
        parts += ["--train-on", args.train_on, "--test-on", args.test_on]
    for option, value in (("--final-model", args.final_model), ("--final-features", args.final_features),
                          ("--name", args.name), ("--features-csv", args.features_csv)):
        if value:
            parts += [option, value]
    if args.synthetic:
        parts.append("--synthetic")
    return " ".join(shlex.quote(str(part)) for part in parts)
