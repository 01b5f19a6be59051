"""Trained classifiers: saving them with a model card, loading only trusted ones, predicting and explaining one case.

    model = load_trusted("models/cac_binary_synthetic.model.zip")   # or load_shipped("binary")
    prediction = predict_case(model, ct, region)                     # features -> Prediction
    prediction.label, prediction.probability, prediction.top_contributions

A model file is a zip of JSON, a skops file and the boosters in their own formats (``model_file``): loading it runs no
code from the file. Its SHA-256 must still be in a trusted registry (``trust``): a model decides what users are told.
A model records the extractor settings it was trained with, so prediction always extracts features the same way.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .explanations import Explanation, FeatureImportance, explain_rows
from .model_file import FORMAT_VERSION, from_bytes, is_model_file, legacy_message, to_bytes
from .prediction import Prediction
from .trust import (UntrustedModelError, add_trusted, find_trusted, sha256_bytes, shipped_models_dir,
                          untrusted_message)

ARTEFACT_FORMAT = "coronary-calcium-model"
ARTEFACT_VERSION = FORMAT_VERSION
MODEL_FILE = "model.zip"  # in a train output folder
MODEL_SUFFIX = ".model.zip"  # a named model file, e.g. the shipped ones
LEGACY_MODEL_FILE = "model.joblib"
SHIPPED_FILES = {task: "cac_%s_synthetic%s" % (task, MODEL_SUFFIX) for task in ("binary", "risk_category")}


class TrainedModel:
    """A loaded, trusted model. ``predict(features)`` takes a feature-name -> value dict of one case."""

    def __init__(self, artefact: Mapping[str, Any], sha256: str = "", path: str = ""):
        if artefact.get("format") != ARTEFACT_FORMAT:
            raise InputError("%s is not a CoronaryCalcium model file" % (path or "artefact"))
        if int(artefact.get("format_version", 0)) > ARTEFACT_VERSION:
            raise InputError("%s was written by a newer CoronaryCalcium (model format %s); upgrade to load it"
                             % (path or "artefact", artefact.get("format_version")))
        self.artefact = dict(artefact)
        self.sha256 = sha256
        self.path = path
        self.warnings: List[str] = version_warnings(self.artefact.get("card", {}).get("package_versions", {}))

    # --------------------------------------------------------------------------------------------- description
    @property
    def name(self) -> str:
        return str(self.artefact["name"])

    @property
    def task(self) -> str:
        return str(self.artefact["task"])

    @property
    def class_names(self) -> List[str]:
        return list(self.artefact["class_names"])

    @property
    def columns(self) -> List[str]:
        """Input feature names, in the order the pipeline expects."""
        return list(self.artefact["columns"])

    @property
    def feature_set(self) -> str:
        return str(self.artefact["feature_set"])

    @property
    def model_family(self) -> str:
        return str(self.artefact["model_family"])

    @property
    def synthetic(self) -> bool:
        return bool(self.artefact.get("synthetic", False))

    @property
    def card(self) -> Dict[str, Any]:
        return dict(self.artefact.get("card", {}))

    @property
    def global_importances(self) -> List[FeatureImportance]:
        return [FeatureImportance(feature=f, importance=float(v)) for f, v in self.artefact["global_importances"]]

    @property
    def importance_units(self) -> str:
        return str(self.artefact.get("importance_units", ""))

    def extractors(self, embedding=None):
        """The feature extractors, rebuilt with the exact settings the model was trained with (``embedding``, an
        ``EmbeddingSettings``, says where the weights are now and which device runs them)."""
        from ..features.registry import make_extractor

        return [make_extractor(name, settings, embedding=embedding)
                for name, settings in self.artefact["extractors"].items()]

    # --------------------------------------------------------------------------------------------- prediction
    def feature_matrix(self, rows: Sequence[Mapping[str, float]]) -> Tuple[np.ndarray, List[str]]:
        """Rows of feature dicts -> matrix in the model's column order (missing -> NaN, imputed) and warnings."""
        columns = self.columns
        matrix = np.full((len(rows), len(columns)), np.nan)
        warnings: List[str] = []
        for i, features in enumerate(rows):
            present = [name for name in columns if name in features]
            if not present:
                raise InputError("none of the %d features model %s needs were given (extracted with other settings?)"
                                 % (len(columns), self.name))
            missing = len(columns) - len(present)
            if missing:
                warnings.append("%d of %d model features missing; filled with training medians" % (missing,
                                                                                                    len(columns)))
            for j, name in enumerate(columns):
                if name in features and features[name] is not None:
                    matrix[i, j] = float(features[name])
        return matrix, sorted(set(warnings))

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities, shape (cases, classes), columns in ``class_names`` order."""
        return np.asarray(self.artefact["estimator"].predict_proba(np.asarray(matrix, dtype=float)), dtype=float)

    def explain(self, features: Mapping[str, float], class_name: Optional[str] = None) -> Explanation:
        """TreeSHAP explanation of one case for ``class_name`` (default: the predicted class)."""
        matrix, _ = self.feature_matrix([features])
        if class_name is None:
            index = int(self.predict_proba(matrix)[0].argmax())
        else:
            index = self.class_names.index(class_name)
        return explain_rows(self.artefact["pipeline"], matrix, self.columns, self.class_names, [index])[0]

    def predict(self, features: Mapping[str, float], top: int = 5) -> Prediction:
        """Label, calibrated probability and the ``top`` feature contributions for one case."""
        matrix, warnings = self.feature_matrix([features])
        probabilities = self.predict_proba(matrix)[0]
        index = int(probabilities.argmax())
        warnings = list(self.warnings) + warnings
        try:
            explanation = explain_rows(self.artefact["pipeline"], matrix, self.columns, self.class_names, [index])[0]
            contributions, base_value, units = explanation.top(top), explanation.base_value, explanation.units
        except ImportError:  # RandomForest TreeSHAP needs shap, which Slicer's Python does not get (it ships a
            # PyPI package named 'slicer' that would shadow Slicer's own module)
            contributions, base_value, units = [], 0.0, "not available"
            warnings.append("per-case feature contributions of %s models need the shap package; not shown"
                            % self.model_family)
        if self.synthetic:
            warnings.append("model trained on synthetic phantoms only: not clinically validated")
        return Prediction(
            label=self.class_names[index], probability=float(probabilities[index]),
            probabilities={name: float(p) for name, p in zip(self.class_names, probabilities)}, task=self.task,
            top_contributions=contributions, base_value=base_value,
            contribution_units=units, model_name=self.name, model_family=self.model_family,
            model_sha256=self.sha256, feature_set=self.feature_set, synthetic_training=self.synthetic,
            warnings=warnings)


def model_features(model: TrainedModel, ct, region, cache=None, progress=None) -> Tuple[Dict[str, float], List[str]]:
    """The features ``model`` needs, extracted from ``ct``/``region`` (CTVolume, RegionOfInterest) with the model's own
    extractor settings; returns (name -> value, warnings). Raises RegionError when the region cannot give features."""
    from ..features.table import extract_case, merge_case_features

    parts = extract_case(ct, region, model.extractors(), cache=cache, progress=progress or (lambda _f, _m: None))
    warnings = [warning for part in parts for warning in part.warnings]
    return merge_case_features(parts), warnings


MODEL_PACKAGES = ("scikit-learn", "xgboost", "lightgbm", "pyradiomics", "torch", "monai")


def version_warnings(trained_with: Mapping[str, Any]) -> List[str]:
    """Warnings for packages whose installed version differs from the one the model was trained with (a model
    may load but behave differently, and features may change)."""
    from importlib.metadata import PackageNotFoundError, version

    warnings = []
    for name in MODEL_PACKAGES:
        wanted = trained_with.get(name)
        if not wanted:
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != wanted:
            warnings.append("model trained with %s %s, installed %s" % (name, wanted, installed or "none"))
    return warnings


def predict_case(model: TrainedModel, ct, region, cache=None, progress=None, top: int = 5) -> Prediction:
    """Extract the model's features from ``ct``/``region`` and predict (see ``model_features`` for the errors)."""
    from .contrast_protocol import contrast_warning

    features, warnings = model_features(model, ct, region, cache=cache, progress=progress)
    prediction = model.predict(features, top=top)
    prediction.warnings.extend(warnings)
    unseen = contrast_warning(model.artefact.get("card", {}), ct, region)
    if unseen:
        prediction.warnings.append(unseen)
    return prediction


# ------------------------------------------------------------------------------------------------- saving / loading

def build_artefact(name: str, task: str, class_names: Sequence[str], feature_set: str, columns: Sequence[str],
                   extractors: Mapping[str, Any], estimator, pipeline, model_family: str,
                   global_importances: Sequence[FeatureImportance], importance_units: str, synthetic: bool,
                   card: Mapping[str, Any]) -> Dict[str, Any]:
    """The dict stored in a model file."""
    return {
        "format": ARTEFACT_FORMAT, "format_version": ARTEFACT_VERSION, "name": name, "task": task,
        "class_names": list(class_names), "feature_set": feature_set, "columns": list(columns),
        "extractors": dict(extractors), "estimator": estimator, "pipeline": pipeline, "model_family": model_family,
        "global_importances": [(imp.feature, float(imp.importance)) for imp in global_importances],
        "importance_units": importance_units, "synthetic": bool(synthetic), "card": dict(card),
    }


def save_artefact(artefact: Mapping[str, Any], path: str) -> str:
    """Write the model file atomically (see ``model_file``); returns its SHA-256."""
    return write_model_bytes(to_bytes(artefact), path)


def write_model_bytes(data: bytes, path: str) -> str:
    from ..io.atomic import atomic_path

    with atomic_path(path) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
    return sha256_bytes(data)


MAX_MODEL_BYTES = 2 * 10 ** 9  # the tree ensembles train writes are kilobytes to a few hundred MB


def resolve_model_path(path: str) -> str:
    """A model file, or a folder holding ``model.zip`` (as written by ``train``)."""
    if os.path.isdir(path):
        candidate = os.path.join(path, MODEL_FILE)
        if not os.path.exists(candidate):
            legacy = os.path.join(path, LEGACY_MODEL_FILE)
            if os.path.exists(legacy):
                raise InputError(legacy_message(legacy))
            raise InputError("no %s in %s" % (MODEL_FILE, path))
        path = candidate
    if not os.path.exists(path):
        raise InputError("model not found: %s" % path)
    if not os.path.isfile(path):
        raise InputError("model %s is not a regular file (a device or pipe?); give a .model.zip file" % path)
    size = os.path.getsize(path)
    if size > MAX_MODEL_BYTES:
        raise InputError("model %s is %.1f GB, more than the %.0f GB a classifier file can be: not a model?"
                         % (path, size / 1e9, MAX_MODEL_BYTES / 1e9))
    return path


def load_trusted(path: str, trust: bool = False, registry_paths: Optional[List[str]] = None,
                 note: str = "") -> TrainedModel:
    """Load a model whose SHA-256 is in a trusted registry; ``trust=True`` first records it in the user's registry.

    Raises InputError for a joblib (pickle) file, saying how to convert it, and UntrustedModelError for a file whose
    hash is in no registry; nothing is loaded from either.
    """
    path = resolve_model_path(path)
    with open(path, "rb") as stream:
        data = stream.read()
    if not is_model_file(data):
        if path.endswith((".joblib", ".pkl", ".pickle")) or data[:1] in (b"\x80", b"x"):
            raise InputError(legacy_message(path))
        raise InputError("%s is not a CoronaryCalcium model file" % path)
    digest = sha256_bytes(data)
    if find_trusted(digest, registry_paths) is None:
        if not trust:
            raise UntrustedModelError(untrusted_message(path, digest))
        add_trusted(path, digest, note=note or "trusted with --trust")
    return TrainedModel(from_bytes(data, path), sha256=digest, path=path)


def shipped_model_path(task: str = "binary") -> str:
    """Path of the model shipped for ``task`` ("binary" or "risk_category")."""
    folder = shipped_models_dir()
    if task not in SHIPPED_FILES:
        raise InputError("no shipped model for task '%s'; choose from %s" % (task, ", ".join(SHIPPED_FILES)))
    if folder is None or not os.path.exists(os.path.join(folder, SHIPPED_FILES[task])):
        raise InputError("the shipped %s model is not installed (models/%s); set CORONARY_CALCIUM_MODELS or pass a "
                         "model file" % (task, SHIPPED_FILES[task]))
    return os.path.join(folder, SHIPPED_FILES[task])


def load_shipped(task: str = "binary") -> TrainedModel:
    """The model shipped with the project for ``task`` (trained on synthetic phantoms; not clinically validated)."""
    return load_trusted(shipped_model_path(task))


__all__ = ["Prediction", "TrainedModel", "UntrustedModelError", "load_trusted", "load_shipped", "predict_case",
           "model_features", "shipped_model_path", "build_artefact", "save_artefact", "resolve_model_path"]
