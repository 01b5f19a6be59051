"""Why the classifier said what it said: TreeSHAP contributions per case and global importances.

Contributions are exact TreeSHAP values of the fitted tree ensemble (XGBoost ``pred_contribs``, LightGBM
``pred_contrib``, the ``shap`` package for RandomForest) for the features the correlation filter kept. With
``base_value`` they add up to the model's raw score for the explained class: log-odds for XGBoost/LightGBM (binary),
a softmax logit (multi-class), a probability for RandomForest. The calibrated probability shown to the user is a
monotone map of that score (binary), so a positive contribution always pushes towards the explained class. Global
importance = mean |contribution| over the training cases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np


@dataclass
class FeatureContribution:
    """One feature's push on a case's score: ``value`` is the case's feature value, ``contribution`` its TreeSHAP."""

    feature: str
    value: float
    contribution: float

    def to_dict(self) -> Dict[str, object]:
        return {"feature": self.feature, "value": _finite_or_none(self.value),
                "contribution": _finite_or_none(self.contribution)}


@dataclass
class FeatureImportance:
    """Mean |TreeSHAP contribution| of a feature over the training cases (same units as the contributions)."""

    feature: str
    importance: float

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


@dataclass
class Explanation:
    """Contributions of every kept feature to one case's score for ``class_name``, largest |contribution| first."""

    class_name: str
    base_value: float
    units: str
    contributions: List[FeatureContribution]

    def top(self, count: int = 5) -> List[FeatureContribution]:
        return list(self.contributions[:count])

    def to_dict(self, count: int = 10) -> Dict[str, object]:
        return {"class_name": self.class_name, "base_value": _finite_or_none(self.base_value), "units": self.units,
                "top_contributions": [c.to_dict() for c in self.top(count)]}


def _finite_or_none(value: float):
    value = float(value)
    return value if np.isfinite(value) else None


def display_name(feature: str) -> str:
    """``original_glcm_ClusterShade`` -> ``glcm ClusterShade`` (for panels and reports)."""
    parts = feature.split("_")
    if len(parts) >= 3 and parts[0] == "original":
        return "%s %s" % (parts[1], "_".join(parts[2:]))
    return feature


def _classifier_and_transformed(pipeline, X: np.ndarray):
    steps = pipeline.steps
    transformed = np.asarray(X, dtype=float)
    for _name, step in steps[:-1]:
        transformed = step.transform(transformed)
    return steps[-1][1], np.asarray(transformed, dtype=float)


def kept_feature_names(pipeline, columns: Sequence[str]) -> List[str]:
    support = pipeline.named_steps["correlation_filter"].get_support()
    return [name for name, keep in zip(columns, support) if keep]


def tree_shap(pipeline, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """TreeSHAP of a fitted pipeline on raw feature rows X.

    Returns (values, base, units, transformed): ``values`` (cases, classes, kept features), ``base`` (cases, classes);
    a binary margin model explains class 1 with +v and class 0 with -v.
    """
    classifier, transformed = _classifier_and_transformed(pipeline, X)
    n_classes = len(getattr(classifier, "classes_", [0, 1]))
    kind = type(classifier).__module__.split(".")[0]
    n, f = transformed.shape
    if kind == "xgboost":
        import xgboost

        raw = classifier.get_booster().predict(xgboost.DMatrix(transformed), pred_contribs=True)
        raw = np.asarray(raw, dtype=float).reshape(n, -1, f + 1)
        units = "log-odds" if n_classes == 2 else "softmax logit"
    elif kind == "lightgbm":
        raw = classifier.booster_.predict(transformed, pred_contrib=True)
        raw = np.asarray(raw, dtype=float).reshape(n, -1, f + 1)
        units = "log-odds" if n_classes == 2 else "softmax logit"
    else:
        import shap

        explainer = shap.TreeExplainer(classifier)
        values = explainer.shap_values(transformed, check_additivity=False)
        if isinstance(values, list):
            values = np.stack(values, axis=-1)
        values = np.asarray(values, dtype=float).reshape(n, f, -1).transpose(0, 2, 1)
        expected = np.asarray(explainer.expected_value, dtype=float).reshape(-1)
        base = np.broadcast_to(expected, (n, values.shape[1])).copy()
        return values, base, "probability", transformed
    values, base = raw[:, :, :f], raw[:, :, f]
    if values.shape[1] == 1 and n_classes == 2:
        values = np.concatenate([-values, values], axis=1)
        base = np.concatenate([-base, base], axis=1)
    return values, base, units, transformed


def explain_rows(pipeline, X: np.ndarray, columns: Sequence[str], class_names: Sequence[str],
                 explained_classes: Sequence[int]) -> List[Explanation]:
    """One Explanation per row of X, for the class index given per row (usually the predicted class)."""
    values, base, units, transformed = tree_shap(pipeline, X)
    names = kept_feature_names(pipeline, columns)
    explanations = []
    for row, class_index in enumerate(explained_classes):
        contributions = [FeatureContribution(feature=name, value=float(transformed[row, j]),
                                             contribution=float(values[row, class_index, j]))
                         for j, name in enumerate(names)]
        contributions.sort(key=lambda c: -abs(c.contribution))
        explanations.append(Explanation(class_name=class_names[class_index], base_value=float(base[row, class_index]),
                                        units=units, contributions=contributions))
    return explanations


def global_importances(pipeline, X: np.ndarray, columns: Sequence[str]) -> Tuple[List[FeatureImportance], str]:
    """Mean |TreeSHAP| per kept feature over the rows of X (averaged over classes), largest first; and the units."""
    values, _base, units, _transformed = tree_shap(pipeline, X)
    names = kept_feature_names(pipeline, columns)
    magnitude = np.abs(values).mean(axis=(0, 1))
    order = np.argsort(-magnitude, kind="stable")
    return [FeatureImportance(feature=names[j], importance=float(magnitude[j])) for j in order], units
