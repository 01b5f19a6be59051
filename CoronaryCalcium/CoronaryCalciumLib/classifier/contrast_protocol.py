"""The source study's second experiment: train on non-contrast scans only, or on a mix of contrast-enhanced and
non-contrast scans, and test on non-contrast scans only; the two arms compared with paired tests.

Outer folds: one stratified split of the whole cohort on label x contrast (so every fold holds its share of each
label among the non-contrast and among the contrast cases), shared by both arms and every pipeline. In outer fold f:
  test          the non-contrast cases of fold f (a contrast case is never tested)
  noncontrast   trains on the non-contrast cases of the other folds
  mixed         trains on every case of the other folds: the same non-contrast cases plus the contrast cases
Both arms are thus scored on the very same test cases, fold by fold, and their fold scores pair up; the only
difference between them is the contrast cases added to the training folds. Inside each training fold the nested CV is
the usual one (``nested_cv``: grid search with stratified inner CV, correlation filter, calibration). The paired
t-test between the arms is the source study's; the Nadeau-Bengio corrected test uses the non-contrast arm's
test/train size ratio (the smaller training set, so the larger, more conservative correction).

Final model: the best (arm, feature set, model) by mean outer-fold score, tuned and calibrated on all the cases of its
arm (all non-contrast cases, or all cases); its card says how many contrast cases it was trained with.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .metrics import PairedTest, paired_t_test
from .nested_cv import (FinalModel, TrainingConfig, TrainingResult, _plain_params, check_class_counts, encode_labels,
                        evaluate_splits, paired_tests, selected_feature_names, tune_and_fit, TASKS)
from .pipelines import model_name
from ..errors import InputError
from ..features.table import FeatureTable
from ..progress import Progress, silent

ARMS = ("noncontrast", "mixed")
TRAIN_ON = ARMS + ("both",)
TEST_ON = ("noncontrast",)
ARM_TITLES = {"noncontrast": "trained on non-contrast scans only",
              "mixed": "trained on contrast-enhanced and non-contrast scans"}
ARM_COMPARISON = "training data"


def arms_for(train_on: str) -> Tuple[str, ...]:
    if train_on not in TRAIN_ON:
        raise InputError("--train-on must be one of %s, not '%s'" % (", ".join(TRAIN_ON), train_on))
    return ARMS if train_on == "both" else (train_on,)


def contrast_folds(y: np.ndarray, contrast: np.ndarray, config: TrainingConfig) -> np.ndarray:
    """Fold number (0..k-1) of every case: one split stratified on label x contrast."""
    from sklearn.model_selection import StratifiedKFold

    key = np.asarray(y, dtype=int) * 2 + np.asarray(contrast, dtype=int)
    folds = np.full(len(y), -1, dtype=int)
    splitter = StratifiedKFold(n_splits=config.outer_folds, shuffle=True, random_state=config.random_state)
    with warnings.catch_warnings():  # a label x contrast group smaller than k leaves some folds without it: expected
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_train, test) in enumerate(splitter.split(np.zeros(len(y)), key)):
            folds[test] = fold
    return folds


def arm_splits(fold_of_case: np.ndarray, contrast: np.ndarray, arm: str) -> List[Tuple[np.ndarray, np.ndarray]]:
    """(training mask, test mask) of every outer fold for ``arm``; the test masks are the same for both arms."""
    contrast = np.asarray(contrast, dtype=bool)
    splits = []
    for fold in range(int(fold_of_case.max()) + 1):
        test = (fold_of_case == fold) & ~contrast
        train = fold_of_case != fold
        if arm == "noncontrast":
            train = train & ~contrast
        splits.append((train, test))
    return splits


def arm_tests(candidates: Sequence, metrics: Sequence[str], splits: Sequence[Tuple[np.ndarray, np.ndarray]]
              ) -> List[PairedTest]:
    """Paired tests between the arms, for each (feature set, model) evaluated in both, over the matching folds.
    ``splits``: the non-contrast arm's splits (their test/train ratio sets the correction)."""
    fraction = float(np.mean([test.sum() / float(test.sum() + train.sum()) for train, test in splits]))
    by_key = {(c.arm, c.feature_set, c.model): c for c in candidates}
    tests: List[PairedTest] = []
    for (arm, feature_set, model), a in by_key.items():
        b = by_key.get(("mixed", feature_set, model))
        if arm != "noncontrast" or b is None:
            continue
        for metric in metrics:
            tests.append(paired_t_test(ARM_COMPARISON, a.key, b.key, metric, a.fold_scores(metric),
                                       b.fold_scores(metric), fraction))
    return tests


def run_contrast_protocol(table: FeatureTable, labels: Sequence[str], contrast: Sequence[bool],
                          config: TrainingConfig, train_on: str = "both", feature_sets: Sequence[str] = ("radiomics",),
                          fit_final: bool = True,
                          final_choice: Optional[Tuple[Optional[str], Optional[str]]] = None,
                          progress: Progress = silent) -> TrainingResult:
    """Both arms (or one, ``train_on``) on shared non-contrast test folds; paired tests within and between arms."""
    start = time.perf_counter()
    if config.task not in TASKS:
        raise InputError("unknown task '%s'; choose from %s" % (config.task, ", ".join(TASKS)))
    arms = arms_for(train_on)
    contrast = np.asarray([bool(c) for c in contrast], dtype=bool)
    if len(labels) != len(table.case_ids) or len(contrast) != len(table.case_ids):
        raise InputError("%d labels and %d contrast flags for %d cases" % (len(labels), len(contrast),
                                                                           len(table.case_ids)))
    y, class_names = encode_labels(list(labels), config.task)
    if contrast.all():
        raise InputError("every case is contrast-enhanced: the protocol tests on non-contrast cases only")
    if "mixed" in arms and not contrast.any():
        raise InputError("no contrast-enhanced case in the cohort: the mixed arm would be the non-contrast arm (give "
                         "a contrast column, or train without --train-on)")
    plain_y, plain_names = encode_labels([label for label, c in zip(labels, contrast) if not c], config.task)
    if plain_names != class_names:
        raise InputError("the non-contrast cases hold only the classes %s of %s: the test folds need every class"
                         % (", ".join(plain_names), ", ".join(class_names)))
    check_class_counts(plain_y, plain_names, config)  # the test folds are non-contrast: their classes must suffice
    models = [model_name(m) for m in config.models]
    tables = {spec: table.select(spec) for spec in feature_sets}
    fold_of_case = contrast_folds(y, contrast, config)
    splits = {arm: arm_splits(fold_of_case, contrast, arm) for arm in arms}
    steps = len(arms) * len(tables) * len(models) + (1 if fit_final else 0)
    candidates = []
    step = 0
    for arm in arms:
        for spec, subset in tables.items():
            for model in models:
                def scaled(fraction: float, message: str, _step: int = step) -> None:
                    progress((_step + fraction) / steps, message)

                candidates.append(evaluate_splits(subset, y, fold_of_case, splits[arm], spec, model,
                                                  len(class_names), config, scaled, arm=arm))
                step += 1
    metrics = list(candidates[0].summary)
    tests: List[PairedTest] = []
    for arm in arms:
        tests += paired_tests([c for c in candidates if c.arm == arm], metrics, config.outer_folds)
    if len(arms) == 2:
        tests += arm_tests(candidates, metrics, splits["noncontrast"])
    result = TrainingResult(config=config, class_names=class_names, case_ids=list(table.case_ids), y=y,
                            fold_of_case=fold_of_case, candidates=candidates, paired_tests=tests, final=None,
                            seconds=0.0, contrast=contrast, case_contrast=[bool(c) for c in contrast])
    result.notes.append("contrast protocol: %d non-contrast and %d contrast-enhanced cases; test folds hold only "
                        "non-contrast cases; arms: %s" % (int((~contrast).sum()), int(contrast.sum()),
                                                          ", ".join(arms)))
    if fit_final:
        best = result.best_candidate()
        choice = final_choice or (None, None)
        feature_set, model = choice[0] or best.feature_set, model_name(choice[1] or best.model)
        if feature_set not in tables:
            raise InputError("final feature set '%s' was not among the evaluated ones (%s)"
                             % (feature_set, ", ".join(tables)))
        arm = best.arm
        pool = np.ones(len(y), dtype=bool) if arm == "mixed" else ~contrast
        progress(step / steps, "fitting the final %s / %s model on the %d cases of the %s arm"
                 % (feature_set, model, int(pool.sum()), arm))
        subset = tables[feature_set]
        estimator, pipeline, search = tune_and_fit(subset.values[pool], y[pool], model, len(class_names), config)
        result.final = FinalModel(feature_set=feature_set, model=model, columns=list(subset.columns),
                                  estimator=estimator, pipeline=pipeline,
                                  best_params=_plain_params(search.best_params_),
                                  inner_score=float(search.best_score_),
                                  selected_features=selected_feature_names(pipeline, subset.columns))
        result.final_arm = arm
    result.seconds = time.perf_counter() - start
    progress(1.0, "training done in %.0f s" % result.seconds)
    return result


def final_training_cases(result: TrainingResult) -> List[str]:
    """Case IDs the final model was fitted on (all of them outside the contrast protocol)."""
    if result.contrast is None or result.final_arm == "mixed":
        return list(result.case_ids)
    return [case for case, enhanced in zip(result.case_ids, result.contrast) if not enhanced]


def training_contrast(result: TrainingResult) -> Dict[str, Any]:
    """What the final model's training data held in contrast terms, for its model card."""
    flags = dict(zip(result.case_ids, result.case_contrast or [None] * len(result.case_ids)))
    cases = final_training_cases(result)
    enhanced = sum(1 for case in cases if flags[case] is True)
    plain = sum(1 for case in cases if flags[case] is False)
    unknown = len(cases) - enhanced - plain
    if result.contrast is not None:
        protocol = ("contrast protocol: arms %s, test folds non-contrast only; final model from the %s arm"
                    % (", ".join(sorted({c.arm for c in result.candidates}, key=ARMS.index)), result.final_arm))
    else:
        protocol = "all cases in every fold (no contrast protocol)"
    text = "trained on %d contrast-enhanced and %d non-contrast scans" % (enhanced, plain)
    if unknown:
        text += " (%d of unknown contrast status)" % unknown
    return {"contrast_cases": enhanced, "non_contrast_cases": plain, "unknown_cases": unknown,
            "protocol": protocol, "statement": text}


def contrast_warning(card: Mapping[str, Any], ct, region) -> Optional[str]:
    """A warning when ``ct`` looks contrast-enhanced and the model's card does not say it was trained with
    contrast-enhanced scans (old cards say nothing: they were not)."""
    from ..scoring.contrast import check_contrast

    check = check_contrast(ct, region)
    if not check.enhanced:
        return None
    trained = ((card.get("training_data") or {}).get("contrast") or {}).get("contrast_cases") or 0
    if trained > 0:
        return None
    return ("the CT looks contrast-enhanced (%s) and model %s was not trained with contrast-enhanced scans: it has "
            "not seen such scans, so its verdict may not hold" % (check.reason(), card.get("name", "")))
