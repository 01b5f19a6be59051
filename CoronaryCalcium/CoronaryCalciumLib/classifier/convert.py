"""The one place a joblib (pickle) model is still opened: converting it, once, to a model file without pickle.

``convert_joblib(old, new)`` loads a file the user names (its SHA-256 must be trusted, as loading it always required,
or ``trust=True``), writes the new file, checks that the new file's probabilities equal the old model's on probe rows
(the training medians scaled, and a row of undefined features), and records the new file's hash in the user's registry
(or ``registry_path``).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

import numpy as np

from ..errors import CoronaryCalciumError, InputError, UntrustedModelError
from .model_file import from_bytes, is_model_file, to_bytes
from .trust import add_trusted, find_trusted, sha256_bytes

PICKLE_WARNING = ("loading %s with joblib to convert it: a pickle can run any code it holds, so convert only a file "
                  "you made or trust")


@dataclass
class ConvertedModel:
    source: str
    source_sha256: str
    path: str
    sha256: str
    probe_rows: int
    registry: str


def load_joblib_artefact(path: str, data: bytes) -> Dict[str, Any]:
    """Unpickle an old (format 1) model file's bytes. Only ``convert_joblib`` calls this, after its checks."""
    import joblib

    from .legacy_names import old_module_names

    try:
        with old_module_names():
            artefact = joblib.load(io.BytesIO(data))
    except Exception as error:  # a damaged or incompatible file
        raise InputError("cannot load old model %s: %s: %s" % (path, type(error).__name__, str(error)[:160])) from None
    if not isinstance(artefact, dict) or artefact.get("format") != "coronary-calcium-model":
        raise InputError("%s is not a CoronaryCalcium model file" % path)
    return artefact


def probe_rows(artefact: Dict[str, Any]) -> np.ndarray:
    """Feature rows to compare two copies of a model on: the training medians x (0, 0.5, 1, 1.5, 3), a row of
    undefined (NaN) features, and each median alone changed by x2."""
    medians = np.asarray(artefact["pipeline"].named_steps["impute"].statistics_, dtype=float)
    rows = [medians * factor for factor in (0.0, 0.5, 1.0, 1.5, 3.0)] + [np.full_like(medians, np.nan)]
    for j in range(len(medians)):
        row = medians.copy()
        row[j] = 2.0 * medians[j] if medians[j] else 1.0
        rows.append(row)
    return np.vstack(rows)


def convert_joblib(source: str, destination: str, trust: bool = False, registry_path: Optional[str] = None,
                   warn=print) -> ConvertedModel:
    """Convert the joblib model ``source`` to the model file ``destination``; see the module docstring."""
    from .model import resolve_model_path, write_model_bytes

    if os.path.isdir(source):
        source = os.path.join(source, "model.joblib")
    source = resolve_model_path(source)
    with open(source, "rb") as stream:
        data = stream.read()
    if is_model_file(data):
        raise InputError("%s is already a model file without pickle; nothing to convert" % source)
    digest = sha256_bytes(data)
    if find_trusted(digest) is None and not trust:
        raise UntrustedModelError("refusing to convert %s: its SHA-256 %s... is in no trusted registry, and loading a "
                                  "joblib file runs any code it holds; pass --trust only if you made it or trust its "
                                  "source" % (source, digest[:16]))
    warn(PICKLE_WARNING % source)
    old = load_joblib_artefact(source, data)
    new_bytes = to_bytes(old)
    new = from_bytes(new_bytes, destination)
    rows = probe_rows(old)
    before = np.asarray(old["estimator"].predict_proba(rows), dtype=float)
    after = np.asarray(new["estimator"].predict_proba(rows), dtype=float)
    if not np.array_equal(before, after):
        raise CoronaryCalciumError("converting %s changed its probabilities (largest difference %.3g): nothing written"
                                   % (source, float(np.nanmax(np.abs(before - after)))))
    sha256 = write_model_bytes(new_bytes, destination)
    add_trusted(destination, sha256, name=str(old.get("name", "")), task=str(old.get("task", "")),
                note="converted from %s (SHA-256 %s)" % (os.path.basename(source), digest), registry_path=registry_path)
    return ConvertedModel(source=source, source_sha256=digest, path=destination, sha256=sha256,
                          probe_rows=len(rows), registry=registry_path or "user registry")
