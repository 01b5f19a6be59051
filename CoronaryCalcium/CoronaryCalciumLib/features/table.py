"""A cohort's features: one case's features merged, the feature table (CSV), and feature-set specs.

Feature names are unique across extractors (pyradiomics names start with ``original_``; another extractor prefixes its
own). A feature set is written as extractor names joined with ``+``, each optionally narrowed to one feature group with
``:``, e.g. ``radiomics``, ``radiomics:firstorder+radiomics:shape``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from ..errors import InputError
from ..progress import Progress, silent
from .base import CaseFeatures, FeatureExtractor
from .cache import FeatureCache


def extract_case(ct, region, extractors: Sequence[FeatureExtractor], cache: Optional[FeatureCache] = None,
                 progress: Progress = silent) -> List[CaseFeatures]:
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
    ``contrast`` (optional, per case: True contrast-enhanced, False not, None unknown) describes the scans, never a
    feature: the radiomics settings are the same for both, but an enhanced region is a different image.
    """

    case_ids: List[str]
    columns: List[str]
    values: np.ndarray
    groups: Dict[str, List[str]]
    contrast: Optional[List[Optional[bool]]] = None

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
                            groups={g: c for g, c in groups.items() if c},
                            contrast=None if self.contrast is None else list(self.contrast))

    def rows(self, case_ids: Sequence[str]) -> "FeatureTable":
        """The rows of the given cases, in that order."""
        position = {case: i for i, case in enumerate(self.case_ids)}
        missing = [case for case in case_ids if case not in position]
        if missing:
            raise InputError("no features for case(s) %s" % ", ".join(missing[:5]))
        index = [position[case] for case in case_ids]
        return FeatureTable(case_ids=list(case_ids), columns=list(self.columns), values=self.values[index],
                            groups={g: list(c) for g, c in self.groups.items()},
                            contrast=None if self.contrast is None else [self.contrast[i] for i in index])

    def write_csv(self, path: str) -> None:
        """CSV with ``case_id``, ``contrast`` (yes/no/blank, when known) then one column per feature, headed
        ``<extractor>:<feature>``."""
        from ..io.atomic import atomic_path

        owner = {name: group for group, names in self.groups.items() for name in names}
        described = self.contrast is not None
        with atomic_path(path) as temporary:
            with open(temporary, "w", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream)
                writer.writerow(["case_id"] + ([CONTRAST_COLUMN] if described else []) +
                                ["%s:%s" % (owner[name], name) for name in self.columns])
                for i, (case, row) in enumerate(zip(self.case_ids, self.values)):
                    status = [_contrast_word(self.contrast[i])] if described else []
                    writer.writerow([case] + status + [repr(float(v)) for v in row])

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
        contrast = None
        if len(header) > 1 and header[1] == CONTRAST_COLUMN:
            contrast = [{"yes": True, "no": False}.get(row[1] if len(row) > 1 else "") for row in rows]
            header = header[:1] + header[2:]
            rows = [row[:1] + row[2:] for row in rows]
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
                   groups=groups, contrast=contrast)


CONTRAST_COLUMN = "contrast"


def _contrast_word(value: Optional[bool]) -> str:
    return "" if value is None else ("yes" if value else "no")


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
