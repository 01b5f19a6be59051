"""Candidate classifiers of the protocol (RandomForest, XGBoost, LightGBM), each as a leak-free Pipeline, and grids.

Pipeline steps: median imputation of undefined features -> correlation filter -> tree ensemble. Every step is fitted on
the training rows it is given, so inside cross-validation nothing is learnt from the rows a fold is tested on.
Grids: "standard" (8 settings per model, the default) and "quick" (2 settings, for tests and smoke runs). Classes are
not re-weighted (library defaults); the binary decision threshold is 0.5 on calibrated probability.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from ..errors import InputError

MODEL_NAMES = ("random_forest", "xgboost", "lightgbm")
MODEL_ALIASES = {"rf": "random_forest", "randomforest": "random_forest", "random_forest": "random_forest",
                 "xgb": "xgboost", "xgboost": "xgboost", "lgbm": "lightgbm", "lightgbm": "lightgbm"}
MODEL_LABELS = {"random_forest": "RandomForest", "xgboost": "XGBoost", "lightgbm": "LightGBM"}

GRIDS: Dict[str, Dict[str, Dict[str, list]]] = {
    "standard": {
        "random_forest": {"n_estimators": [300], "max_depth": [None, 6], "min_samples_leaf": [1, 3],
                          "max_features": ["sqrt", 0.3]},
        "xgboost": {"n_estimators": [100, 300], "max_depth": [2, 4], "learning_rate": [0.05, 0.2],
                    "subsample": [0.8]},
        "lightgbm": {"n_estimators": [100, 300], "num_leaves": [7, 15], "learning_rate": [0.05, 0.2],
                     "min_child_samples": [5]},
    },
    "quick": {
        "random_forest": {"n_estimators": [25], "max_depth": [None, 4]},
        "xgboost": {"n_estimators": [30], "max_depth": [2, 3]},
        "lightgbm": {"n_estimators": [30], "num_leaves": [4, 7], "min_child_samples": [3]},
    },
}


def model_name(name: str) -> str:
    """Canonical model name from a user spelling (rf, xgb, lgbm, ...)."""
    key = name.strip().lower().replace("-", "_")
    if key not in MODEL_ALIASES:
        raise InputError("unknown model '%s'; choose from %s" % (name, ", ".join(MODEL_NAMES)))
    return MODEL_ALIASES[key]


def make_classifier(name: str, n_classes: int, random_state: int = 0, n_jobs: int = 1):
    """An unfitted tree ensemble for ``n_classes`` classes (labels 0..n_classes-1)."""
    name = model_name(name)
    if name == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=300, random_state=random_state,
                                      n_jobs=n_jobs)
    if name == "xgboost":
        try:
            from xgboost import XGBClassifier
        except ImportError:
            raise InputError("xgboost is not installed: pip install xgboost") from None
        objective = "binary:logistic" if n_classes == 2 else "multi:softprob"
        return XGBClassifier(objective=objective, eval_metric="logloss" if n_classes == 2 else "mlogloss",
                             tree_method="hist", random_state=random_state, n_jobs=n_jobs, verbosity=0)
    try:
        from lightgbm import LGBMClassifier
    except ImportError:
        raise InputError("lightgbm is not installed: pip install lightgbm") from None
    return LGBMClassifier(objective="binary" if n_classes == 2 else "multiclass",
                          random_state=random_state, n_jobs=n_jobs, verbose=-1)


def make_pipeline(name: str, n_classes: int, correlation_threshold: float = 0.9, correlation_method: str = "pearson",
                  random_state: int = 0, n_jobs: int = 1):
    """impute -> correlation filter -> classifier, as one scikit-learn Pipeline."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    from .correlation_filter import CorrelationFilter

    return Pipeline([
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("correlation_filter", CorrelationFilter(threshold=correlation_threshold, method=correlation_method)),
        ("classifier", make_classifier(name, n_classes, random_state=random_state, n_jobs=n_jobs)),
    ])


def param_grid(name: str, grid: str = "standard") -> Dict[str, List]:
    """The grid for one model, with keys addressed to the Pipeline's ``classifier`` step."""
    if grid not in GRIDS:
        raise InputError("unknown grid '%s'; choose from %s" % (grid, ", ".join(GRIDS)))
    return {"classifier__" + key: list(values) for key, values in GRIDS[grid][model_name(name)].items()}


def grid_size(name: str, grid: str = "standard") -> int:
    size = 1
    for values in param_grid(name, grid).values():
        size *= len(values)
    return size


def describe_grid(name: str, grid: str = "standard") -> List[Tuple[str, List]]:
    return sorted((key.replace("classifier__", ""), values) for key, values in param_grid(name, grid).items())
