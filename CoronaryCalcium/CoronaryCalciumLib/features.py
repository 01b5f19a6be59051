"""Features of one case's region of interest, behind one interface, and the table of a cohort's features.

Every extractor (pyradiomics today; foundation-model embeddings later) is a ``FeatureExtractor``: ``prepare`` crops
what it needs from the CT and region (never copying the whole volume) and hashes it, ``compute`` turns that into
named numbers, and ``extract`` adds the per-case cache (keyed by a hash of the cropped image, the mask and the
settings). Extractors are made by name (``make_extractor("radiomics")``); ``register_extractor`` adds another one, and
every place that takes ``--features`` (train, evaluate) then accepts its name.

Feature names are unique across extractors (pyradiomics names start with ``original_``; another extractor prefixes its
own). A feature set is written as extractor names joined with ``+``, each optionally narrowed to one feature group with
``:``, e.g. ``radiomics``, ``radiomics:firstorder+radiomics:shape``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from .errors import InputError

Progress = Callable[[float, str], None]


def _silent(_fraction: float, _message: str) -> None:
    return None


@dataclass
class PreparedInput:
    """What an extractor needs from one case, already cropped, plus a hash of exactly those inputs."""

    input_hash: str
    data: Any
    warnings: List[str] = field(default_factory=list)


@dataclass
class CaseFeatures:
    """Named feature values of one case from one extractor. ``seconds`` is the compute time (0 when read from cache)."""

    extractor: str
    values: Dict[str, float]
    settings_hash: str
    input_hash: str
    seconds: float = 0.0
    from_cache: bool = False
    warnings: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["values"] = {name: _json_number(value) for name, value in self.values.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CaseFeatures":
        values = {str(k): (float("nan") if v is None else float(v)) for k, v in dict(data["values"]).items()}
        return cls(extractor=str(data["extractor"]), values=values, settings_hash=str(data["settings_hash"]),
                   input_hash=str(data["input_hash"]), seconds=float(data.get("seconds", 0.0)),
                   from_cache=bool(data.get("from_cache", False)), warnings=list(data.get("warnings", [])))


class FeatureExtractor:
    """Base of every extractor. Subclasses set ``name`` and implement ``settings``, ``prepare`` and ``compute``."""

    name = "base"

    def settings(self) -> Dict[str, Any]:
        """JSON-serialisable settings; ``make_extractor(name, settings)`` rebuilds an identical extractor from them."""
        raise NotImplementedError

    def prepare(self, ct, region) -> PreparedInput:
        """Crop what this extractor reads from ``ct`` (CTVolume) and ``region`` (RegionOfInterest); hash it."""
        raise NotImplementedError

    def compute(self, prepared: PreparedInput, progress: Progress = _silent) -> Dict[str, float]:
        """Feature name -> value for one prepared case. Raises RegionError when the region cannot give features."""
        raise NotImplementedError

    def settings_hash(self) -> str:
        text = json.dumps({"extractor": self.name, "settings": self.settings()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def extract(self, ct, region, cache: Optional["FeatureCache"] = None, progress: Progress = _silent) -> CaseFeatures:
        """Features of one case, read from ``cache`` when the same inputs and settings were extracted before."""
        progress(0.0, "%s: preparing region" % self.name)
        prepared = self.prepare(ct, region)
        settings_hash = self.settings_hash()
        if cache is not None:
            cached = cache.get(self.name, settings_hash, prepared.input_hash)
            if cached is not None:
                progress(1.0, "%s: features read from cache" % self.name)
                return cached
        start = time.perf_counter()
        values = self.compute(prepared, progress)
        result = CaseFeatures(extractor=self.name, values=values, settings_hash=settings_hash,
                              input_hash=prepared.input_hash, seconds=time.perf_counter() - start,
                              warnings=list(prepared.warnings))
        if cache is not None:
            cache.put(result)
        progress(1.0, "%s: %d features" % (self.name, len(values)))
        return result


ExtractorFactory = Callable[[Optional[Mapping[str, Any]]], FeatureExtractor]
_FACTORIES: Dict[str, ExtractorFactory] = {}


def register_extractor(name: str, factory: ExtractorFactory) -> None:
    """Make ``make_extractor(name, settings)`` return ``factory(settings)``; ``settings`` None means the defaults."""
    _FACTORIES[name] = factory


def extractor_names() -> List[str]:
    _register_builtin()
    return sorted(_FACTORIES)


def make_extractor(name: str, settings: Optional[Mapping[str, Any]] = None) -> FeatureExtractor:
    """An extractor by name (``radiomics``, or one added with ``register_extractor``)."""
    _register_builtin()
    if name not in _FACTORIES:
        raise InputError("unknown feature extractor '%s'; available: %s" % (name, ", ".join(sorted(_FACTORIES))))
    return _FACTORIES[name](settings)


def _register_builtin() -> None:
    if "radiomics" not in _FACTORIES:
        from .radiomics_features import RadiomicsExtractor

        register_extractor("radiomics", lambda settings: RadiomicsExtractor.from_settings(settings))
    if "ctfm" not in _FACTORIES or "radimagenet" not in _FACTORIES:
        from .foundation_features import register_foundation_extractors  # imports no torch until features are made

        register_foundation_extractors()


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
        from .files import write_text_atomic

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


def extract_case(ct, region, extractors: Sequence[FeatureExtractor], cache: Optional[FeatureCache] = None,
                 progress: Progress = _silent) -> List[CaseFeatures]:
    """Every extractor's features for one case (progress spread over the extractors)."""
    results = []
    for index, extractor in enumerate(extractors):
        def scaled(fraction: float, message: str, _i: int = index) -> None:
            progress((_i + fraction) / len(extractors), message)

        results.append(extractor.extract(ct, region, cache=cache, progress=scaled))
    return results


def merge_case_features(parts: Iterable[CaseFeatures]) -> Dict[str, float]:
    """One name -> value dict from several extractors; a name given twice is an error (names must be unique)."""
    merged: Dict[str, float] = {}
    for part in parts:
        for name, value in part.values.items():
            if name in merged:
                raise InputError("feature '%s' comes from two extractors; feature names must be unique" % name)
            merged[name] = value
    return merged


# ----------------------------------------------------------------------------------------------------- feature tables

def feature_group(name: str) -> str:
    """Group of a feature: the pyradiomics class for ``original_glcm_Contrast`` (``glcm``), else its first token."""
    parts = name.split("_")
    if len(parts) >= 3:
        return parts[1]
    return parts[0]


@dataclass
class FeatureTable:
    """Features of a cohort: ``values[i, j]`` is feature ``columns[j]`` of case ``case_ids[i]`` (NaN when undefined).

    ``groups`` maps each extractor name to its columns, so a feature set (``radiomics:glcm+ctfm``) can be selected.
    """

    case_ids: List[str]
    columns: List[str]
    values: np.ndarray
    groups: Dict[str, List[str]]

    @classmethod
    def from_cases(cls, case_ids: Sequence[str], cases: Sequence[Sequence[CaseFeatures]]) -> "FeatureTable":
        """Table from each case's list of CaseFeatures (same extractors for every case)."""
        if not cases:
            raise InputError("no cases to build a feature table from")
        groups: Dict[str, List[str]] = {}
        for part in cases[0]:
            groups[part.extractor] = list(part.values)
        columns = [name for names in groups.values() for name in names]
        values = np.full((len(cases), len(columns)), np.nan, dtype=float)
        index = {name: j for j, name in enumerate(columns)}
        for i, parts in enumerate(cases):
            merged = merge_case_features(parts)
            missing = [name for name in columns if name not in merged]
            if missing:
                raise InputError("case %s lacks %d features (e.g. %s): were they extracted with other settings?"
                                 % (case_ids[i], len(missing), missing[0]))
            for name, value in merged.items():
                if name in index:
                    values[i, index[name]] = value
        return cls(case_ids=list(case_ids), columns=columns, values=values, groups=groups)

    def select(self, spec: str) -> "FeatureTable":
        """The columns of a feature-set spec such as ``radiomics`` or ``radiomics:firstorder+radiomics:shape``."""
        chosen = columns_for_spec(spec, self.groups)
        index = [self.columns.index(name) for name in chosen]
        groups = {g: [c for c in cols if c in set(chosen)] for g, cols in self.groups.items()}
        return FeatureTable(case_ids=list(self.case_ids), columns=chosen, values=self.values[:, index],
                            groups={g: c for g, c in groups.items() if c})

    def rows(self, case_ids: Sequence[str]) -> "FeatureTable":
        """The rows of the given cases, in that order."""
        position = {case: i for i, case in enumerate(self.case_ids)}
        missing = [case for case in case_ids if case not in position]
        if missing:
            raise InputError("no features for case(s) %s" % ", ".join(missing[:5]))
        index = [position[case] for case in case_ids]
        return FeatureTable(case_ids=list(case_ids), columns=list(self.columns), values=self.values[index],
                            groups={g: list(c) for g, c in self.groups.items()})

    def write_csv(self, path: str) -> None:
        """CSV with ``case_id`` then one column per feature, headed ``<extractor>:<feature>``."""
        from .files import atomic_path

        owner = {name: group for group, names in self.groups.items() for name in names}
        with atomic_path(path) as temporary:
            with open(temporary, "w", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream)
                writer.writerow(["case_id"] + ["%s:%s" % (owner[name], name) for name in self.columns])
                for case, row in zip(self.case_ids, self.values):
                    writer.writerow([case] + [repr(float(v)) for v in row])

    @classmethod
    def read_csv(cls, path: str) -> "FeatureTable":
        """Read a table written by ``write_csv`` (a header without ``extractor:`` is taken as radiomics)."""
        if not os.path.exists(path):
            raise InputError("feature table not found: %s" % path)
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if not header or header[0] != "case_id":
                raise InputError("%s is not a feature table (first column must be case_id)" % path)
            rows = [row for row in reader if row]
        columns: List[str] = []
        groups: Dict[str, List[str]] = {}
        for item in header[1:]:
            group, _, name = item.rpartition(":")
            group = group or "radiomics"
            columns.append(name)
            groups.setdefault(group, []).append(name)
        try:
            values = np.array([[float(v) if v not in ("", "nan") else np.nan for v in row[1:]] for row in rows], float)
        except ValueError as error:
            raise InputError("%s holds a non-numeric feature value (%s)" % (path, error)) from None
        return cls(case_ids=[row[0] for row in rows], columns=columns, values=values.reshape(len(rows), len(columns)),
                   groups=groups)


def parse_feature_spec(spec: str) -> List[tuple]:
    """``radiomics:glcm+ctfm`` -> [("radiomics", "glcm"), ("ctfm", None)]."""
    tokens = [token.strip() for token in spec.split("+") if token.strip()]
    if not tokens:
        raise InputError("empty feature set '%s'; write e.g. radiomics or radiomics:firstorder+radiomics:shape" % spec)
    parsed = []
    for token in tokens:
        extractor, _, group = token.partition(":")
        parsed.append((extractor, group or None))
    return parsed


def spec_extractors(spec: str) -> List[str]:
    """Extractor names a feature-set spec needs, in order, without repeats."""
    names: List[str] = []
    for extractor, _group in parse_feature_spec(spec):
        if extractor not in names:
            names.append(extractor)
    return names


def columns_for_spec(spec: str, groups: Mapping[str, Sequence[str]]) -> List[str]:
    """Columns selected by a spec, in table order; raises InputError naming what is missing."""
    chosen: List[str] = []
    for extractor, group in parse_feature_spec(spec):
        if extractor not in groups:
            raise InputError("feature set '%s' needs %s features, but the table has only %s"
                             % (spec, extractor, ", ".join(groups) or "none"))
        names = [n for n in groups[extractor] if group is None or feature_group(n) == group]
        if not names:
            available = sorted({feature_group(n) for n in groups[extractor]})
            raise InputError("no %s features in group '%s'; groups: %s" % (extractor, group, ", ".join(available)))
        chosen.extend(n for n in names if n not in chosen)
    return chosen


def _json_number(value: float) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
