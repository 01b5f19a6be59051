"""Model files without pickle: one zip (``<name>.model.zip``; ``model.zip`` in a ``train`` output folder) whose every
member is read by a loader that cannot run code.

Members (deflate-compressed):
  artefact.json      format, format_version, name, task, class_names, feature_set, columns, extractor settings,
                     model_family, global importances, the card, and the list of boosters below
  estimator.skops    the scikit-learn objects (the calibration wrapper and the pipeline: imputer, correlation filter,
                     the XGBoost/LightGBM/RandomForest classifier with any booster taken out), written with skops and
                     loaded with an explicit list of allowed types (``ALLOWED_TYPES``): any other type is refused
  booster-<i>.json   an XGBoost booster in XGBoost's own JSON model format
  booster-<i>.txt    a LightGBM booster in LightGBM's own text model format
Loading a model never unpickles: old joblib files are refused (see ``convert.py`` for the one-off conversion).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Dict, List, Mapping

from ..errors import InputError

FORMAT_VERSION = 2  # 1 was the joblib pickle
ARTEFACT_MEMBER = "artefact.json"
ESTIMATOR_MEMBER = "estimator.skops"
# Types beyond skops' defaults (builtins, numpy arrays, scikit-learn estimators) a CoronaryCalcium model may hold.
ALLOWED_TYPES = (
    "CoronaryCalciumLib.classifier.correlation_filter.CorrelationFilter",
    "collections.OrderedDict",  # LightGBM's fit history
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.tree._tree.Tree",
    "xgboost.sklearn.XGBClassifier",
    "lightgbm.sklearn.LGBMClassifier",
)
# The scikit-learn estimators a CoronaryCalcium model is built from (pipelines.py, nested_cv.py): skops trusts these by
# default instead of every estimator scikit-learn has (``skops_io``).
MODEL_ESTIMATORS = (
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.impute", "SimpleImputer"),
    ("sklearn.calibration", "CalibratedClassifierCV"),
    ("sklearn.isotonic", "IsotonicRegression"),
    ("sklearn.ensemble", "RandomForestClassifier"),
    ("sklearn.tree", "DecisionTreeClassifier"),
    ("sklearn.preprocessing", "LabelEncoder"),  # inside LightGBM's classifier
)
BOOSTER_FORMATS = {"xgboost": ("json", "XGBoost JSON model"), "lightgbm": ("txt", "LightGBM text model")}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_UNPACKED_BYTES = 4 * 10 ** 9  # a zip that would unpack to more is not one of our models (or a zip bomb)


def is_model_file(data: bytes) -> bool:
    """Whether ``data`` starts like a zip (every model file since format 2)."""
    return data[:4] == b"PK\x03\x04"


def legacy_message(path: str) -> str:
    return ("model %s is a joblib (pickle) file, which CoronaryCalcium no longer loads because loading a pickle can run "
            "code; convert it once: coronary-calcium convert-model %s OUT.model.zip (the shipped models: make "
            "shipped-model)" % (path, path))


def _library(estimator: Any) -> str:
    """"xgboost" or "lightgbm" for a scikit-learn wrapper around such a booster, else ""."""
    library = type(estimator).__module__.split(".")[0]
    return library if library in BOOSTER_FORMATS and hasattr(estimator, "_Booster") else ""


def _booster_wrappers(estimator: Any, pipeline: Any) -> List[Any]:
    """The XGBoost/LightGBM classifiers inside ``estimator`` and ``pipeline``, each once, in a fixed order."""
    candidates = [pipeline] + [getattr(c, "estimator", None) for c in getattr(estimator, "calibrated_classifiers_", [])]
    candidates.append(estimator)
    found: List[Any] = []
    for candidate in candidates:
        steps = getattr(candidate, "steps", None)
        last = steps[-1][1] if steps else candidate
        if _library(last) and all(last is not other for other in found):
            found.append(last)
    return found


def _booster_bytes(wrapper: Any) -> bytes:
    if _library(wrapper) == "xgboost":
        return bytes(wrapper.get_booster().save_raw(raw_format="json"))
    return wrapper.booster_.model_to_string().encode("utf-8")


def _booster_from_bytes(library: str, data: bytes):
    if library == "xgboost":
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return booster
    import lightgbm

    return lightgbm.Booster(model_str=data.decode("utf-8"))


def _member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def skops_io():
    """``skops.io``, imported so that its default trust in scikit-learn estimators covers ``MODEL_ESTIMATORS`` only.

    On import skops lists every estimator scikit-learn has (``sklearn.utils.all_estimators``, which imports every
    scikit-learn module: about 1 s of CPU, more than the rest of loading a model); while skops is imported that
    function answers with ``MODEL_ESTIMATORS`` instead. The allowed types are thereby fewer, never more. When skops
    was already imported elsewhere in the process its own defaults stand."""
    import importlib
    import sys

    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    estimators = [(name, getattr(importlib.import_module(module), name)) for module, name in MODEL_ESTIMATORS]
    everything = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *args, **kwargs: list(estimators)
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = everything
    return skops.io


def to_bytes(artefact: Mapping[str, Any]) -> bytes:
    """The model file's bytes for an artefact dict (as built by ``model.build_artefact``)."""
    persist = skops_io()

    estimator, pipeline = artefact["estimator"], artefact["pipeline"]
    wrappers = _booster_wrappers(estimator, pipeline)
    boosters = [(_library(wrapper), _booster_bytes(wrapper)) for wrapper in wrappers]
    kept = [wrapper._Booster for wrapper in wrappers]
    try:  # the boosters go in their own formats: take them out of the objects skops writes
        for wrapper in wrappers:
            wrapper._Booster = None
        sklearn_bytes = persist.dumps({"estimator": estimator, "pipeline": pipeline})
    finally:
        for wrapper, booster in zip(wrappers, kept):
            wrapper._Booster = booster
    meta = {key: value for key, value in artefact.items() if key not in ("estimator", "pipeline")}
    meta["format_version"] = FORMAT_VERSION
    meta["global_importances"] = [[str(f), float(v)] for f, v in meta.get("global_importances", [])]
    meta["boosters"] = [{"file": "booster-%d.%s" % (i, BOOSTER_FORMATS[library][0]), "library": library,
                         "format": BOOSTER_FORMATS[library][1]} for i, (library, _) in enumerate(boosters)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _member(archive, ARTEFACT_MEMBER, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode("utf-8"))
        _member(archive, ESTIMATOR_MEMBER, sklearn_bytes)
        for entry, (_library_name, data) in zip(meta["boosters"], boosters):
            _member(archive, entry["file"], data)
    return buffer.getvalue()


def from_bytes(data: bytes, path: str = "model") -> Dict[str, Any]:
    """The artefact dict of a model file's bytes (``estimator`` and ``pipeline`` fitted again). Raises InputError for a
    damaged file, a type outside ``ALLOWED_TYPES`` or a file that is not a CoronaryCalcium model."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise InputError("model %s would unpack to more than %d GB: not a model file"
                             % (path, MAX_UNPACKED_BYTES // 10 ** 9))
        meta = json.loads(archive.read(ARTEFACT_MEMBER).decode("utf-8"))
        sklearn_bytes = archive.read(ESTIMATOR_MEMBER)
        boosters = [(entry["library"], archive.read(entry["file"])) for entry in meta.get("boosters", [])]
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as error:
        raise InputError("%s is not a readable CoronaryCalcium model file (%s: %s)"
                         % (path, type(error).__name__, str(error)[:120])) from None
    if not isinstance(meta, dict):
        raise InputError("%s is not a CoronaryCalcium model file" % path)
    objects = _load_sklearn(sklearn_bytes, path)
    wrappers = _booster_wrappers(objects["estimator"], objects["pipeline"])
    if [_library(w) for w in wrappers] != [library for library, _ in boosters]:
        raise InputError("model %s is damaged: its boosters do not match its estimator" % path)
    for wrapper, (library, booster) in zip(wrappers, boosters):
        try:
            wrapper._Booster = _booster_from_bytes(library, booster)
        except Exception as error:  # the library's own parser refused the booster
            raise InputError("model %s: cannot read its %s booster (%s)" % (path, library, str(error)[:120])) from None
    artefact = dict(meta)
    artefact.pop("boosters", None)
    artefact["global_importances"] = [(str(f), float(v)) for f, v in artefact.get("global_importances", [])]
    artefact["estimator"], artefact["pipeline"] = objects["estimator"], objects["pipeline"]
    return artefact


def _load_sklearn(data: bytes, path: str) -> Dict[str, Any]:
    """skops load with the explicit allowed-type list: skops audits the whole file first and refuses it, before
    building any object, when it names any other type."""
    try:
        skops = skops_io()
        from skops.io.exceptions import UntrustedTypesFoundException
    except ImportError:
        raise InputError("loading model %s needs skops: pip install skops" % path) from None
    try:
        objects = skops.loads(data, trusted=list(ALLOWED_TYPES))
    except UntrustedTypesFoundException as error:
        raise InputError("refusing to load model %s: it holds types outside the allowed list (%s)"
                         % (path, str(error)[:200])) from None
    except Exception as error:
        raise InputError("cannot load model %s: %s: %s" % (path, type(error).__name__, str(error)[:160])) from None
    if not isinstance(objects, dict) or set(objects) != {"estimator", "pipeline"}:
        raise InputError("%s is not a CoronaryCalcium model file" % path)
    return objects
