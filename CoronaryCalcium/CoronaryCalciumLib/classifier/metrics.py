"""Classifier metrics with 95% confidence intervals, and paired tests between cross-validated models.

Binary (zero vs non-zero CAC; positive = non-zero): accuracy, sensitivity, specificity, F1, ROC AUC.
Multi-class (classic risk categories): accuracy, balanced accuracy, macro F1, linearly weighted kappa, macro one-vs-rest
ROC AUC. Point estimates come from the pooled out-of-fold predictions; the interval is a percentile bootstrap over cases
(``n_boot`` resamples, seeded); the mean and SD over the outer folds are given too.

Paired tests compare two pipelines scored on the same outer folds: the paired t-test the source study reports, and the
Nadeau-Bengio corrected resampled t-test (the plain test ignores that folds share training cases and is too optimistic).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

BINARY_METRICS = ("accuracy", "sensitivity", "specificity", "f1", "roc_auc")
MULTICLASS_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "weighted_kappa", "roc_auc_ovr")
METRIC_LABELS = {"accuracy": "accuracy", "sensitivity": "sensitivity", "specificity": "specificity", "f1": "F1",
                 "roc_auc": "ROC AUC", "balanced_accuracy": "balanced accuracy", "f1_macro": "macro F1",
                 "weighted_kappa": "weighted kappa (linear)", "roc_auc_ovr": "ROC AUC (one-vs-rest, macro)"}


def metric_names(n_classes: int) -> Sequence[str]:
    return BINARY_METRICS if n_classes == 2 else MULTICLASS_METRICS


@dataclass
class MetricEstimate:
    """One metric: pooled out-of-fold value, its 95% bootstrap interval, and mean/SD over folds (NaN when undefined)."""

    name: str
    value: float
    ci_low: float
    ci_high: float
    fold_mean: float
    fold_sd: float

    def to_dict(self) -> Dict[str, object]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}

    def text(self, digits: int = 3) -> str:
        if math.isnan(self.value):
            return "n/a"
        fmt = "%%.%df" % digits
        return (fmt + " (95%% CI " + fmt + "-" + fmt + ")") % (self.value, self.ci_low, self.ci_high)


def compute_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> Dict[str, float]:
    """Metrics of predicted class probabilities (n, k) against labels 0..k-1; NaN for a metric undefined here."""
    from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, f1_score, roc_auc_score

    y_true = np.asarray(y_true, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    n_classes = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    result: Dict[str, float] = {"accuracy": float(np.mean(predicted == y_true)) if len(y_true) else float("nan")}
    if n_classes == 2:
        positives = y_true == 1
        negatives = ~positives
        tp = float(np.sum(predicted[positives] == 1))
        tn = float(np.sum(predicted[negatives] == 0))
        fp = float(np.sum(negatives)) - tn
        fn = float(np.sum(positives)) - tp
        result["sensitivity"] = tp / (tp + fn) if tp + fn else float("nan")
        result["specificity"] = tn / (tn + fp) if tn + fp else float("nan")
        result["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        result["roc_auc"] = (float(roc_auc_score(y_true, probabilities[:, 1]))
                             if positives.any() and negatives.any() else float("nan"))
        return result
    labels = list(range(n_classes))
    present = np.unique(y_true)
    with warnings.catch_warnings():  # a resample may lack a class the model predicts: expected, not news
        warnings.simplefilter("ignore", UserWarning)
        result["balanced_accuracy"] = (float(balanced_accuracy_score(y_true, predicted)) if len(y_true)
                                       else float("nan"))
    result["f1_macro"] = float(f1_score(y_true, predicted, labels=labels, average="macro", zero_division=0))
    result["weighted_kappa"] = (float(cohen_kappa_score(y_true, predicted, weights="linear", labels=labels))
                                if len(present) > 1 else float("nan"))
    if len(present) == n_classes:
        result["roc_auc_ovr"] = float(roc_auc_score(y_true, _normalised(probabilities), multi_class="ovr",
                                                    average="macro", labels=labels))
    else:
        result["roc_auc_ovr"] = float("nan")
    return result


def _normalised(probabilities: np.ndarray) -> np.ndarray:
    total = probabilities.sum(axis=1, keepdims=True)
    return probabilities / np.where(total > 0, total, 1.0)


def summarise(y_true: np.ndarray, probabilities: np.ndarray, fold_of_case: np.ndarray, n_boot: int = 1000,
              seed: int = 0) -> Dict[str, MetricEstimate]:
    """Pooled metrics with 95% percentile-bootstrap intervals, plus mean and SD of each metric over the folds."""
    y_true = np.asarray(y_true, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    fold_of_case = np.asarray(fold_of_case)
    pooled = compute_metrics(y_true, probabilities)
    names = list(pooled)
    folds = [compute_metrics(y_true[fold_of_case == f], probabilities[fold_of_case == f])
             for f in np.unique(fold_of_case)]
    samples = bootstrap_metrics(y_true, probabilities, n_boot=n_boot, seed=seed)
    estimates: Dict[str, MetricEstimate] = {}
    for name in names:
        low, high = _percentile_interval(samples[name])
        fold_values = np.array([f[name] for f in folds], dtype=float)
        fold_values = fold_values[~np.isnan(fold_values)]
        estimates[name] = MetricEstimate(
            name=name, value=pooled[name], ci_low=low, ci_high=high,
            fold_mean=float(fold_values.mean()) if fold_values.size else float("nan"),
            fold_sd=float(fold_values.std(ddof=1)) if fold_values.size > 1 else float("nan"))
    return estimates


def bootstrap_metrics(y_true: np.ndarray, probabilities: np.ndarray, n_boot: int = 1000,
                      seed: int = 0) -> Dict[str, np.ndarray]:
    """Each metric over ``n_boot`` resamples of the cases (with replacement)."""
    rng = np.random.default_rng(seed)
    n = len(y_true)
    collected: Dict[str, List[float]] = {}
    for _ in range(max(0, int(n_boot))):
        index = rng.integers(0, n, size=n)
        for name, value in compute_metrics(y_true[index], probabilities[index]).items():
            collected.setdefault(name, []).append(value)
    return {name: np.asarray(values, dtype=float) for name, values in collected.items()}


def _percentile_interval(samples: Optional[np.ndarray]):
    if samples is None:
        return float("nan"), float("nan")
    finite = samples[~np.isnan(samples)]
    if finite.size < 10:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


@dataclass
class PairedTest:
    """Two pipelines compared on the same outer folds for one metric (difference = a - b)."""

    comparison: str  # "models" or "feature sets"
    a: str
    b: str
    metric: str
    mean_a: float
    mean_b: float
    mean_difference: float
    t_statistic: float
    p_value: float
    p_value_corrected: float
    n_folds: int

    def to_dict(self) -> Dict[str, object]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def paired_t_test(comparison: str, a: str, b: str, metric: str, scores_a: Sequence[float],
                  scores_b: Sequence[float], test_fraction: float) -> PairedTest:
    """Paired t-test over folds, and the Nadeau-Bengio corrected version (variance x (1/k + n_test/n_train))."""
    from scipy import stats

    scores_a = np.asarray(scores_a, dtype=float)
    scores_b = np.asarray(scores_b, dtype=float)
    keep = ~(np.isnan(scores_a) | np.isnan(scores_b))
    scores_a, scores_b = scores_a[keep], scores_b[keep]
    k = len(scores_a)
    difference = scores_a - scores_b
    mean_difference = float(difference.mean()) if k else float("nan")
    t_stat = p_value = p_corrected = float("nan")
    if k >= 2:
        variance = float(difference.var(ddof=1))
        if variance > 1e-12 * max(1.0, mean_difference ** 2):
            t_stat, p_value = (float(v) for v in stats.ttest_rel(scores_a, scores_b))
            ratio = test_fraction / max(1e-12, 1.0 - test_fraction)
            t_corrected = mean_difference / math.sqrt(variance * (1.0 / k + ratio))
            p_corrected = float(2 * stats.t.sf(abs(t_corrected), df=k - 1))
        elif abs(mean_difference) <= 1e-12:
            t_stat, p_value, p_corrected = 0.0, 1.0, 1.0  # identical in every fold: no difference
        # else: the same non-zero difference in every fold has zero variance; the t-test is undefined (NaN, reported
        # as n/a), not p = 0, which would overstate a difference seen on a handful of coarse fold scores
    return PairedTest(comparison=comparison, a=a, b=b, metric=metric,
                      mean_a=float(scores_a.mean()) if k else float("nan"),
                      mean_b=float(scores_b.mean()) if k else float("nan"), mean_difference=mean_difference,
                      t_statistic=t_stat, p_value=p_value, p_value_corrected=p_corrected, n_folds=k)
