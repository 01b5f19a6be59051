"""Which model files may be loaded: SHA-256 registries, because a model decides what a user is told.

A model file is loaded only when the SHA-256 of its bytes is listed in
- the registry shipped with the project, ``models/registry.json``, or
- the user's registry, ``<config dir>/coronary-calcium/trusted_models.json`` (``$CORONARY_CALCIUM_CONFIG_DIR`` overrides
  the folder; otherwise ``$XDG_CONFIG_HOME`` or ``~/.config``; ``%APPDATA%`` on Windows), where a hash lands only by an
  explicit act: training a model yourself, or ``--trust`` on the command line.
The hash is taken from the very bytes that are then loaded, so a file swapped after the check is never loaded. Model
files hold no pickle (``model_file``); the registry keeps a changed or unknown file from giving verdicts, and guards
the one place a pickle is still opened: ``convert-model`` of an old joblib file.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

from ..errors import InputError, UntrustedModelError  # noqa: F401  (UntrustedModelError is re-exported)

REGISTRY_FORMAT = "coronary-calcium-model-registry"
USER_REGISTRY_NAME = "trusted_models.json"


@dataclass
class TrustEntry:
    sha256: str
    file: str
    name: str = ""
    task: str = ""
    note: str = ""
    added: str = ""

    def to_dict(self) -> Dict[str, str]:
        return asdict(self)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def project_root() -> str:
    """The source checkout holding this package (``CoronaryCalcium/CoronaryCalciumLib`` -> repository root)."""
    return os.path.dirname(os.path.dirname(package_dir()))


def package_dir() -> str:
    """The ``CoronaryCalciumLib`` folder (this file lives in its ``classifier`` package)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped_models_dir() -> Optional[str]:
    """``$CORONARY_CALCIUM_MODELS``, else the first ``models`` folder holding a registry: beside the package (an
    installed Slicer module), or at the repository root (a source checkout)."""
    if os.environ.get("CORONARY_CALCIUM_MODELS"):
        return os.environ["CORONARY_CALCIUM_MODELS"]
    package = package_dir()
    for candidate in (os.path.join(package, "models"), os.path.join(os.path.dirname(package), "models"),
                      os.path.join(project_root(), "models")):
        if os.path.exists(os.path.join(candidate, "registry.json")):
            return candidate
    return None


def shipped_registry_path() -> Optional[str]:
    folder = shipped_models_dir()
    return os.path.join(folder, "registry.json") if folder else None


def user_config_dir() -> str:
    if os.environ.get("CORONARY_CALCIUM_CONFIG_DIR"):
        return os.environ["CORONARY_CALCIUM_CONFIG_DIR"]
    if os.name == "nt" and os.environ.get("APPDATA"):
        return os.path.join(os.environ["APPDATA"], "coronary-calcium")
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "coronary-calcium")


def user_registry_path() -> str:
    return os.path.join(user_config_dir(), USER_REGISTRY_NAME)


def read_registry(path: Optional[str]) -> List[TrustEntry]:
    """Entries of a registry file; a missing file is an empty registry, a damaged one an InputError."""
    if not path or not os.path.exists(path):
        return []
    try:
        with open(path, "r", encoding="utf-8") as stream:
            data = json.load(stream)
        entries = [TrustEntry(**{k: str(v) for k, v in item.items() if k in TrustEntry.__dataclass_fields__})
                   for item in data.get("models", [])]
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise InputError("model registry %s is unreadable (%s); fix or delete it" % (path, error)) from None
    return [entry for entry in entries if len(entry.sha256) == 64]


def write_registry(path: str, entries: List[TrustEntry]) -> None:
    from ..io.atomic import write_text_atomic

    data = {"format": REGISTRY_FORMAT, "version": 1, "models": [entry.to_dict() for entry in entries]}
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def registries() -> List[str]:
    """The registry files consulted, shipped first."""
    paths = [shipped_registry_path(), user_registry_path()]
    return [path for path in paths if path]


def find_trusted(sha256: str, registry_paths: Optional[List[str]] = None) -> Optional[TrustEntry]:
    for path in registry_paths if registry_paths is not None else registries():
        for entry in read_registry(path):
            if entry.sha256.lower() == sha256.lower():
                return entry
    return None


def add_trusted(path: str, sha256: str, name: str = "", task: str = "", note: str = "",
                registry_path: Optional[str] = None) -> TrustEntry:
    """Record a model file's hash in a registry (the user's by default); returns the entry."""
    registry_path = registry_path or user_registry_path()
    entries = [entry for entry in read_registry(registry_path) if entry.sha256 != sha256]
    entry = TrustEntry(sha256=sha256, file=os.path.abspath(path), name=name, task=task, note=note,
                       added=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    entries.append(entry)
    write_registry(registry_path, entries)
    return entry


def untrusted_message(path: str, sha256: str) -> str:
    return ("refusing to load model %s: its SHA-256 %s... is in no trusted registry (%s); if you made "
            "it or trust its source, load it once with --trust to record its hash"
            % (path, sha256[:16], ", ".join(registries()) or "none found"))
