"""The per-case feature cache: one JSON file per extractor, settings hash and input hash."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Optional

from .base import CaseFeatures


class FeatureCache:
    """Per-case feature files under ``directory/<extractor>/``, one JSON per (settings, inputs) hash pair."""

    def __init__(self, directory: str):
        self.directory = directory

    def _path(self, extractor: str, settings_hash: str, input_hash: str) -> str:
        key = hashlib.sha256(("%s\n%s\n%s" % (extractor, settings_hash, input_hash)).encode("ascii")).hexdigest()
        return os.path.join(self.directory, extractor, key[:2], key + ".json")

    def get(self, extractor: str, settings_hash: str, input_hash: str) -> Optional[CaseFeatures]:
        path = self._path(extractor, settings_hash, input_hash)
        if not os.path.exists(path):
            return None
        try:
            with open(path, "r", encoding="utf-8") as stream:
                data = json.load(stream)
            features = CaseFeatures.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged cache entry is recomputed, never trusted
        if features.settings_hash != settings_hash or features.input_hash != input_hash:
            return None
        features.from_cache = True
        features.seconds = 0.0
        return features

    def put(self, features: CaseFeatures) -> str:
        from ..io.atomic import write_text_atomic

        path = self._path(features.extractor, features.settings_hash, features.input_hash)
        write_text_atomic(path, json.dumps(features.to_dict(), sort_keys=True, allow_nan=False))
        return path


def default_cache_dir() -> str:
    """``$CORONARY_CALCIUM_CACHE`` or the user's cache folder (``~/.cache/coronary-calcium/features``)."""
    if os.environ.get("CORONARY_CALCIUM_CACHE"):
        return os.environ["CORONARY_CALCIUM_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA", base)
    return os.path.join(base, "coronary-calcium", "features")
