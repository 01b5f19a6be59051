"""Correlation filter: drop features repeating an earlier feature (|r| above a threshold); a scikit-learn transformer.

It sits inside the classifier Pipeline, so cross-validation fits it on each training fold only: the features kept never
depend on the cases a fold is tested on. Unsupervised (labels are not used). Columns are visited in table order (shape,
first order, then texture for pyradiomics) and a column is kept when its absolute correlation with every column already
kept is at most ``threshold``; constant columns are dropped.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

METHODS = ("pearson", "spearman")


class CorrelationFilter(TransformerMixin, BaseEstimator):
    """Keep a subset of mutually less-correlated columns.

    Parameters: ``threshold`` (0-1, default 0.9: a pair with |r| > 0.9 keeps only its first column), ``method``
    ("pearson" or "spearman"). Fitted attributes: ``support_`` (bool mask over input columns), ``n_features_in_``,
    ``feature_names_in_`` (when fitted on named columns).
    """

    def __init__(self, threshold: float = 0.9, method: str = "pearson"):
        self.threshold = threshold
        self.method = method

    def fit(self, X, y=None):
        if not 0.0 < float(self.threshold) <= 1.0:
            raise ValueError("correlation threshold must be in (0, 1], got %r" % (self.threshold,))
        if self.method not in METHODS:
            raise ValueError("correlation method must be one of %s, got %r" % (METHODS, self.method))
        names = getattr(X, "columns", None)
        data = _as_float_matrix(X)
        self.n_features_in_ = data.shape[1]
        if names is not None:
            self.feature_names_in_ = np.asarray([str(n) for n in names], dtype=object)
        filled = _fill_nan_with_column_mean(data)
        if self.method == "spearman":
            from scipy.stats import rankdata

            filled = rankdata(filled, axis=0)
        spread = filled.std(axis=0)
        variable = spread > 1e-12 * np.maximum(1.0, np.abs(filled).max(axis=0))
        support = np.zeros(data.shape[1], dtype=bool)
        if variable.any():
            centred = filled[:, variable] - filled[:, variable].mean(axis=0)
            centred /= np.linalg.norm(centred, axis=0)
            corr = np.abs(centred.T @ centred)
            columns = np.flatnonzero(variable)
            kept: list = []
            for position in range(len(columns)):
                if not kept or np.all(corr[position, kept] <= self.threshold):
                    kept.append(position)
            support[columns[kept]] = True
        if not support.any():  # every column constant: keep the first so downstream models still get an input
            support[0] = True
        self.support_ = support
        return self

    def transform(self, X):
        check_is_fitted(self, "support_")
        data = _as_float_matrix(X)
        if data.shape[1] != self.n_features_in_:
            raise ValueError("expected %d feature columns, got %d" % (self.n_features_in_, data.shape[1]))
        return data[:, self.support_]

    def get_support(self, indices: bool = False):
        check_is_fitted(self, "support_")
        return np.flatnonzero(self.support_) if indices else self.support_.copy()

    def get_feature_names_out(self, input_features: Optional[Sequence[str]] = None):
        check_is_fitted(self, "support_")
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = ["x%d" % i for i in range(self.n_features_in_)]
        return np.asarray(input_features, dtype=object)[self.support_]


def _as_float_matrix(X) -> np.ndarray:
    data = np.asarray(X, dtype=float)
    if data.ndim != 2:
        raise ValueError("expected a 2D feature matrix, got shape %s" % (data.shape,))
    return data


def _fill_nan_with_column_mean(data: np.ndarray) -> np.ndarray:
    if not np.isnan(data).any():
        return data.copy()
    filled = data.copy()
    with np.errstate(all="ignore"):
        means = np.nanmean(filled, axis=0)
    means = np.where(np.isnan(means), 0.0, means)
    rows, cols = np.nonzero(np.isnan(filled))
    filled[rows, cols] = means[cols]
    return filled
