"""The training protocol: nested cross-validation of every (feature set, model) pair, paired tests, and the final fit.

Unbiased estimate (nested CV): the cohort is split once into stratified outer folds (5 by default), shared by every
feature set and model so their scores pair up. For each outer fold, a grid search with stratified inner 5-fold CV picks
hyper-parameters using the outer-training cases only; the chosen pipeline (imputation -> correlation filter -> trees) is
refitted on them, its probabilities are calibrated by an inner cross-validation (CalibratedClassifierCV, sigmoid by
default), and only then is it applied to the held-out fold. The outer-fold predictions of every case were thus made by a
model that never saw it, and the reported metrics describe the whole procedure, tuning included.

Final model: the (feature set, model) pair with the best mean outer-fold score is tuned again by grid search on the
whole cohort, refitted, and calibrated (``ensemble=False``: one pipeline fitted on all cases plus a calibration map
learnt from its cross-validated predictions). That pipeline also gives the explanations (TreeSHAP).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .metrics import MetricEstimate, PairedTest, compute_metrics, paired_t_test, summarise
from .pipelines import MODEL_NAMES, make_pipeline, model_name, param_grid
from ..errors import InputError
from ..features.table import FeatureTable
from ..progress import Progress, silent

TASKS = ("binary", "risk_category")
BINARY_CLASSES = ("zero", "non-zero")
TASK_TITLES = {"binary": "zero vs non-zero coronary calcium", "risk_category": "classic Agatston risk category"}
DEFAULT_SCORING = {"binary": "roc_auc", "risk_category": "f1_macro"}
SCORING_TO_METRIC = {"roc_auc": "roc_auc", "accuracy": "accuracy", "f1": "f1", "balanced_accuracy": "balanced_accuracy",
                     "f1_macro": "f1_macro", "roc_auc_ovr": "roc_auc_ovr"}




def risk_classes() -> Tuple[str, ...]:
    from ..scoring.categories import CLASSIC_CODES

    return tuple(CLASSIC_CODES)


def task_classes(task: str) -> Tuple[str, ...]:
    """All class names of a task, in order (binary: zero, non-zero; risk: none, minimal, mild, moderate, severe)."""
    if task == "binary":
        return BINARY_CLASSES
    if task == "risk_category":
        return risk_classes()
    raise InputError("unknown task '%s'; choose from %s" % (task, ", ".join(TASKS)))


@dataclass
class TrainingConfig:
    """Settings of the protocol. ``calibration``: "sigmoid", "isotonic" or "none"."""

    task: str = "binary"
    models: Sequence[str] = MODEL_NAMES
    grid: str = "standard"
    correlation_threshold: float = 0.9
    correlation_method: str = "pearson"
    outer_folds: int = 5
    inner_folds: int = 5
    calibration: str = "sigmoid"
    calibration_folds: Optional[int] = None  # None: same as inner_folds
    scoring: Optional[str] = None
    random_state: int = 0
    n_jobs: int = 1
    n_boot: int = 1000

    def resolved_calibration_folds(self) -> int:
        return int(self.calibration_folds or self.inner_folds)

    def resolved_scoring(self) -> str:
        return self.scoring or DEFAULT_SCORING[self.task]

    def selection_metric(self) -> str:
        scoring = self.resolved_scoring()
        if scoring not in SCORING_TO_METRIC:
            raise InputError("scoring '%s' not supported; choose from %s" % (scoring, ", ".join(SCORING_TO_METRIC)))
        return SCORING_TO_METRIC[scoring]

    def to_dict(self) -> Dict[str, Any]:
        return {"task": self.task, "models": list(self.models), "grid": self.grid,
                "correlation_threshold": self.correlation_threshold, "correlation_method": self.correlation_method,
                "outer_folds": self.outer_folds, "inner_folds": self.inner_folds, "calibration": self.calibration,
                "calibration_folds": self.resolved_calibration_folds(), "scoring": self.resolved_scoring(),
                "random_state": self.random_state, "n_jobs": self.n_jobs, "n_boot": self.n_boot}


@dataclass
class FoldResult:
    """One outer fold of one pipeline: tuned settings, inner-CV score, the features the filter kept, test metrics."""

    fold: int
    best_params: Dict[str, Any]
    inner_score: float
    selected_features: List[str]
    metrics: Dict[str, float]


@dataclass
class CandidateResult:
    """Nested-CV outcome of one (feature set, model) pair. ``probabilities`` are out-of-fold, shape (cases, classes)
    (NaN rows for cases never in a test fold). ``arm`` names the training data of the contrast protocol
    ("noncontrast" or "mixed"; empty otherwise)."""

    feature_set: str
    model: str
    folds: List[FoldResult]
    probabilities: np.ndarray
    summary: Dict[str, MetricEstimate]
    seconds: float
    arm: str = ""

    @property
    def key(self) -> str:
        return ("%s: " % self.arm if self.arm else "") + "%s / %s" % (self.feature_set, self.model)

    def fold_scores(self, metric: str) -> List[float]:
        return [fold.metrics.get(metric, float("nan")) for fold in self.folds]

    def feature_stability(self) -> Dict[str, int]:
        """How many outer folds kept each feature after the correlation filter."""
        counts: Dict[str, int] = {}
        for fold in self.folds:
            for name in fold.selected_features:
                counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass
class FinalModel:
    """The model fitted on the whole cohort: ``estimator`` gives calibrated probabilities, ``pipeline`` explanations."""

    feature_set: str
    model: str
    columns: List[str]
    estimator: Any
    pipeline: Any
    best_params: Dict[str, Any]
    inner_score: float
    selected_features: List[str]


@dataclass
class TrainingResult:
    """Everything the protocol produced; reports and model cards are written from it."""

    config: TrainingConfig
    class_names: List[str]
    case_ids: List[str]
    y: np.ndarray
    fold_of_case: np.ndarray
    candidates: List[CandidateResult]
    paired_tests: List[PairedTest]
    final: Optional[FinalModel]
    seconds: float
    notes: List[str] = field(default_factory=list)
    contrast: Optional[np.ndarray] = None  # per case, contrast-enhanced (contrast protocol only)
    final_arm: str = ""  # training data of the final model in the contrast protocol
    case_contrast: Optional[List[Optional[bool]]] = None  # per case: contrast-enhanced scan? (None: unknown)

    def tested(self) -> np.ndarray:
        """Cases that were in a test fold (all of them, except the contrast cases of the contrast protocol)."""
        if self.contrast is None:
            return np.ones(len(self.y), dtype=bool)
        return ~np.asarray(self.contrast, dtype=bool)

    def test_count(self, fold: int) -> int:
        return int(np.sum((self.fold_of_case == fold) & self.tested()))

    @property
    def task(self) -> str:
        return self.config.task

    def best_candidate(self) -> CandidateResult:
        metric = self.config.selection_metric()
        return max(self.candidates, key=lambda c: _finite(c.summary[metric].fold_mean))

    def candidate(self, feature_set: str, model: str, arm: Optional[str] = None) -> CandidateResult:
        arm = self.final_arm if arm is None else arm
        for candidate in self.candidates:
            if candidate.feature_set == feature_set and candidate.model == model and candidate.arm == arm:
                return candidate
        raise KeyError((feature_set, model, arm))

    def class_counts(self) -> Dict[str, int]:
        return {name: int(np.sum(self.y == i)) for i, name in enumerate(self.class_names)}


def _finite(value: float) -> float:
    return value if np.isfinite(value) else -np.inf


def encode_labels(labels: Sequence[str], task: str) -> Tuple[np.ndarray, List[str]]:
    """Class names -> integer codes 0..k-1 over the classes present, in the task's order."""
    order = task_classes(task)
    unknown = sorted({label for label in labels if label not in order})
    if unknown:
        raise InputError("labels %s are not classes of task %s (%s)" % (unknown, task, ", ".join(order)))
    present = [name for name in order if name in set(labels)]
    if len(present) < 2:
        raise InputError("task %s needs at least two classes in the cohort; found only %s" % (task, present or "none"))
    code = {name: i for i, name in enumerate(present)}
    return np.array([code[label] for label in labels], dtype=int), present


def check_class_counts(y: np.ndarray, class_names: Sequence[str], config: TrainingConfig) -> None:
    """Refuse a cohort too small for the nested CV asked for, naming the class and the numbers needed."""
    inner_needed = max(config.inner_folds, config.resolved_calibration_folds() if config.calibration != "none" else 2)
    for i, name in enumerate(class_names):
        count = int(np.sum(y == i))
        smallest_training = count - int(np.ceil(count / config.outer_folds))
        if count < config.outer_folds or smallest_training < inner_needed:
            raise InputError(
                "class '%s' has %d case(s); %d-fold nested CV with %d inner folds needs at least %d per class. Add "
                "cases, or lower --outer-folds/--inner-folds" % (name, count, config.outer_folds, inner_needed,
                                                                  _minimum_count(config.outer_folds, inner_needed)))


def _minimum_count(outer: int, inner: int) -> int:
    count = outer
    while count - int(np.ceil(count / outer)) < inner:
        count += 1
    return count


def outer_splits(y: np.ndarray, config: TrainingConfig) -> np.ndarray:
    """Fold number (0..k-1) of every case: one stratified split shared by all pipelines."""
    from sklearn.model_selection import StratifiedKFold

    folds = np.full(len(y), -1, dtype=int)
    splitter = StratifiedKFold(n_splits=config.outer_folds, shuffle=True, random_state=config.random_state)
    for fold, (_train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        folds[test] = fold
    return folds


def tune_and_fit(X: np.ndarray, y: np.ndarray, model: str, n_classes: int, config: TrainingConfig,
                 seed_offset: int = 0):
    """Grid search (stratified inner CV) on (X, y), then the calibrated refit. Returns (estimator, pipeline, search)."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    seed = config.random_state + seed_offset
    pipeline = make_pipeline(model, n_classes, correlation_threshold=config.correlation_threshold,
                             correlation_method=config.correlation_method, random_state=config.random_state)
    search = GridSearchCV(pipeline, param_grid(model, config.grid), scoring=config.resolved_scoring(),
                          cv=StratifiedKFold(n_splits=config.inner_folds, shuffle=True, random_state=seed),
                          n_jobs=config.n_jobs, refit=True, error_score="raise")
    search.fit(X, y)
    if config.calibration == "none":
        return search.best_estimator_, search.best_estimator_, search
    from sklearn.calibration import CalibratedClassifierCV

    calibrated = CalibratedClassifierCV(
        clone(pipeline).set_params(**search.best_params_), method=config.calibration,
        cv=StratifiedKFold(n_splits=config.resolved_calibration_folds(), shuffle=True, random_state=seed + 1000),
        ensemble=False)
    calibrated.fit(X, y)
    return calibrated, calibrated.calibrated_classifiers_[0].estimator, search


def selected_feature_names(pipeline, columns: Sequence[str]) -> List[str]:
    support = pipeline.named_steps["correlation_filter"].get_support()
    return [name for name, keep in zip(columns, support) if keep]


def evaluate_candidate(table: FeatureTable, y: np.ndarray, fold_of_case: np.ndarray, feature_set: str, model: str,
                       n_classes: int, config: TrainingConfig, progress: Progress = silent) -> CandidateResult:
    """Nested CV of one (feature set, model) pair on the shared outer folds."""
    splits = [(fold_of_case != fold, fold_of_case == fold) for fold in range(int(fold_of_case.max()) + 1)]
    return evaluate_splits(table, y, fold_of_case, splits, feature_set, model, n_classes, config, progress)


def evaluate_splits(table: FeatureTable, y: np.ndarray, fold_of_case: np.ndarray,
                    splits: Sequence[Tuple[np.ndarray, np.ndarray]], feature_set: str, model: str, n_classes: int,
                    config: TrainingConfig, progress: Progress = silent, arm: str = "") -> CandidateResult:
    """Nested CV of one pipeline on given outer splits: ``splits[fold]`` = (training mask, test mask) over the cases.
    Metrics are pooled over the cases that were tested."""
    start = time.perf_counter()
    X = table.values
    probabilities = np.full((len(y), n_classes), np.nan)
    folds: List[FoldResult] = []
    label = ("%s: " % arm if arm else "") + "%s / %s" % (feature_set, model)
    for fold, (train, test) in enumerate(splits):
        progress(fold / len(splits), "%s: outer fold %d of %d" % (label, fold + 1, len(splits)))
        estimator, pipeline, search = tune_and_fit(X[train], y[train], model, n_classes, config, seed_offset=fold + 1)
        probabilities[test] = estimator.predict_proba(X[test])
        folds.append(FoldResult(
            fold=fold, best_params=_plain_params(search.best_params_), inner_score=float(search.best_score_),
            selected_features=selected_feature_names(pipeline, table.columns),
            metrics=compute_metrics(y[test], probabilities[test])))
    tested = np.zeros(len(y), dtype=bool)
    for _train, test in splits:
        tested |= test
    summary = summarise(y[tested], probabilities[tested], fold_of_case[tested], n_boot=config.n_boot,
                        seed=config.random_state)
    return CandidateResult(feature_set=feature_set, model=model, folds=folds, probabilities=probabilities,
                           summary=summary, seconds=time.perf_counter() - start, arm=arm)


def _plain_params(params: Dict[str, Any]) -> Dict[str, Any]:
    plain = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        plain[key.replace("classifier__", "")] = value
    return plain


def paired_tests(candidates: Sequence[CandidateResult], metrics: Sequence[str], outer_folds: int) -> List[PairedTest]:
    """Paired t-tests between models (same feature set) and between feature sets (same model), per metric."""
    tests: List[PairedTest] = []
    test_fraction = 1.0 / outer_folds
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            if a.feature_set == b.feature_set:
                comparison, name_a, name_b = "models", a.key, b.key
            elif a.model == b.model:
                comparison, name_a, name_b = "feature sets", a.key, b.key
            else:
                continue
            for metric in metrics:
                tests.append(paired_t_test(comparison, name_a, name_b, metric, a.fold_scores(metric),
                                           b.fold_scores(metric), test_fraction))
    return tests


def run_protocol(table: FeatureTable, labels: Sequence[str], config: TrainingConfig,
                 feature_sets: Sequence[str] = ("radiomics",), fit_final: bool = True,
                 final_choice: Optional[Tuple[Optional[str], Optional[str]]] = None,
                 progress: Progress = silent) -> TrainingResult:
    """Nested CV of every feature set x model, paired tests, and (``fit_final``) the final model.

    ``labels`` are class names of ``config.task`` per row of ``table``. ``final_choice`` = (feature set, model) forces
    the final pipeline; by default the pair with the best mean outer-fold score on the selection metric is taken.
    """
    start = time.perf_counter()
    if config.task not in TASKS:
        raise InputError("unknown task '%s'; choose from %s" % (config.task, ", ".join(TASKS)))
    if config.calibration not in ("sigmoid", "isotonic", "none"):
        raise InputError("calibration must be sigmoid, isotonic or none, not '%s'" % config.calibration)
    if len(labels) != len(table.case_ids):
        raise InputError("%d labels for %d cases" % (len(labels), len(table.case_ids)))
    y, class_names = encode_labels(list(labels), config.task)
    check_class_counts(y, class_names, config)
    models = [model_name(m) for m in config.models]
    tables = {spec: table.select(spec) for spec in feature_sets}
    fold_of_case = outer_splits(y, config)
    steps = len(tables) * len(models) + (1 if fit_final else 0)
    candidates: List[CandidateResult] = []
    step = 0
    for spec, subset in tables.items():
        for model in models:
            def scaled(fraction: float, message: str, _step: int = step) -> None:
                progress((_step + fraction) / steps, message)

            candidates.append(evaluate_candidate(subset, y, fold_of_case, spec, model, len(class_names), config,
                                                 scaled))
            step += 1
    metrics = list(candidates[0].summary)
    tests = paired_tests(candidates, metrics, config.outer_folds)
    result = TrainingResult(config=config, class_names=class_names, case_ids=list(table.case_ids), y=y,
                            fold_of_case=fold_of_case, candidates=candidates, paired_tests=tests, final=None,
                            seconds=0.0)
    if fit_final:
        best = result.best_candidate()
        feature_set = (final_choice or (None, None))[0] or best.feature_set
        model = model_name((final_choice or (None, None))[1] or best.model)
        if feature_set not in tables:
            raise InputError("final feature set '%s' was not among the evaluated ones (%s)"
                             % (feature_set, ", ".join(tables)))
        progress(step / steps, "fitting the final %s / %s model on all %d cases" % (feature_set, model, len(y)))
        subset = tables[feature_set]
        estimator, pipeline, search = tune_and_fit(subset.values, y, model, len(class_names), config)
        result.final = FinalModel(feature_set=feature_set, model=model, columns=list(subset.columns),
                                  estimator=estimator, pipeline=pipeline,
                                  best_params=_plain_params(search.best_params_),
                                  inner_score=float(search.best_score_),
                                  selected_features=selected_feature_names(pipeline, subset.columns))
    result.seconds = time.perf_counter() - start
    progress(1.0, "training done in %.0f s" % result.seconds)
    return result
