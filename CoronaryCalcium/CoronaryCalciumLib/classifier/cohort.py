"""A labelled cohort for training or evaluating a classifier: the manifest CSV, labels, and the cohort's feature table.

Manifest: one row per case, paths relative to the manifest's folder. Columns (case-insensitive; aliases in brackets):
  case_id [id, case]                    optional; default: the image file name
  image [ct, image_path]                CT: DICOM folder, NIfTI, NRRD or MHA
  mask [roi, region, mask_path, coronary_mask]   region of interest (coronary tree or heart) on or near the CT grid
  label [cac, nonzero, cac_nonzero]     optional binary label: 0/1, zero/non-zero, no/yes, false/true
  agatston [reference_agatston, agatston_score, reference_score, score]
                                        optional reference Agatston score: gives the binary label (> 0) and the
                                        classic risk category when no label/category column is given
  category [risk_category, classic_category]   optional classic category: none, minimal, mild, moderate, severe
A case whose features cannot be extracted (empty region, unreadable file) is left out and listed, never silently.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from ..errors import CoronaryCalciumError, InputError
from ..io.integrity import read_csv_rows
from ..progress import Progress, silent

if TYPE_CHECKING:  # pragma: no cover
    from ..features.table import FeatureTable

COLUMN_ALIASES = {
    "case_id": ("case_id", "id", "case"),
    "image": ("image", "ct", "image_path", "ct_path"),
    "mask": ("mask", "roi", "region", "mask_path", "coronary_mask", "roi_path"),
    "label": ("label", "cac", "nonzero", "cac_nonzero"),
    "agatston": ("agatston", "reference_agatston", "agatston_score", "reference_score", "score"),
    "category": ("category", "risk_category", "classic_category"),
}
_BINARY_WORDS = {"0": "zero", "1": "non-zero", "zero": "zero", "non-zero": "non-zero", "nonzero": "non-zero",
                 "no": "zero", "yes": "non-zero", "false": "zero", "true": "non-zero", "negative": "zero",
                 "positive": "non-zero"}




@dataclass
class CohortCase:
    """One manifest row with absolute paths and whatever labels it carries."""

    case_id: str
    image: str
    mask: str
    label: Optional[str] = None
    agatston: Optional[float] = None
    category: Optional[str] = None
    row: int = 0

    def binary_label(self) -> Optional[str]:
        if self.label is not None:
            return self.label
        if self.agatston is not None:
            return "non-zero" if self.agatston > 0 else "zero"
        if self.category is not None:
            return "zero" if self.category == "none" else "non-zero"
        return None

    def risk_category(self) -> Optional[str]:
        if self.category is not None:
            return self.category
        if self.agatston is not None:
            from ..scoring.categories import classic_category

            return classic_category(self.agatston)[0]
        return None

    def task_label(self, task: str) -> Optional[str]:
        return self.binary_label() if task == "binary" else self.risk_category()


@dataclass
class SkippedCase:
    case_id: str
    reason: str


@dataclass
class CohortFeatures:
    """Feature table of the cases that could be extracted, those left out (with why), and timings (s)."""

    table: "FeatureTable"
    cases: List[CohortCase]
    skipped: List[SkippedCase] = field(default_factory=list)
    seconds: float = 0.0
    cached: int = 0


def read_manifest(path: str) -> List[CohortCase]:
    """Parse a manifest CSV; raises InputError naming the row and column of anything unusable."""
    from ..scoring.categories import CLASSIC_CODES

    if not os.path.exists(path):
        raise InputError("manifest not found: %s" % path)
    folder = os.path.dirname(os.path.abspath(path))
    fieldnames, rows = read_csv_rows(path)
    if not fieldnames:
        raise InputError("manifest %s is empty" % path)
    columns = _resolve_columns(fieldnames, path)
    cases: List[CohortCase] = []
    seen = set()
    for number, row in enumerate(rows, start=2):
        value = {key: (row.get(column) or "").strip() for key, column in columns.items()}
        if not any(value.values()):
            continue
        if not value.get("image") or not value.get("mask"):
            raise InputError("manifest %s row %d: image and mask are required" % (path, number))
        image = _absolute(value["image"], folder)
        case_id = value.get("case_id") or _stem(image)
        if case_id in seen:
            raise InputError("manifest %s row %d: case_id %s appears twice" % (path, number, case_id))
        seen.add(case_id)
        case = CohortCase(case_id=case_id, image=image, mask=_absolute(value["mask"], folder), row=number)
        if value.get("label"):
            word = value["label"].lower()
            if word not in _BINARY_WORDS:
                raise InputError("manifest %s row %d: label '%s' is not 0/1, zero/non-zero, no/yes"
                                 % (path, number, value["label"]))
            case.label = _BINARY_WORDS[word]
        if value.get("agatston"):
            try:
                case.agatston = float(value["agatston"])
            except ValueError:
                raise InputError("manifest %s row %d: Agatston score '%s' is not a number"
                                 % (path, number, value["agatston"])) from None
            if case.agatston < 0:
                raise InputError("manifest %s row %d: negative Agatston score %s" % (path, number, value["agatston"]))
        if value.get("category"):
            category = value["category"].lower()
            if category not in CLASSIC_CODES:
                raise InputError("manifest %s row %d: category '%s' is not one of %s"
                                 % (path, number, value["category"], ", ".join(CLASSIC_CODES)))
            case.category = category
        cases.append(case)
    if not cases:
        raise InputError("manifest %s lists no cases" % path)
    return cases


def _resolve_columns(fieldnames: Sequence[str], path: str) -> Dict[str, str]:
    lower = {name.strip().lower(): name for name in fieldnames if name}
    columns: Dict[str, str] = {}
    for key, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in lower:
                columns[key] = lower[alias]
                break
    for required in ("image", "mask"):
        if required not in columns:
            raise InputError("manifest %s has no %s column (columns: %s)" % (path, required, ", ".join(fieldnames)))
    return columns


def _absolute(value: str, folder: str) -> str:
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(folder, value))


def _stem(path: str) -> str:
    name = os.path.basename(os.path.normpath(path))
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def labels_for_task(cases: Sequence[CohortCase], task: str) -> List[str]:
    """Each case's label for ``task``; raises InputError when a case has none."""
    labels = []
    for case in cases:
        label = case.task_label(task)
        if label is None:
            need = ("a label, agatston or category column" if task == "binary"
                    else "an agatston or category column")
            raise InputError("case %s (manifest row %d) has no %s label: the manifest needs %s"
                             % (case.case_id, case.row, task, need))
        labels.append(label)
    return labels


def available_tasks(cases: Sequence[CohortCase]) -> List[str]:
    tasks = []
    if all(case.binary_label() is not None for case in cases):
        tasks.append("binary")
    if all(case.risk_category() is not None for case in cases):
        tasks.append("risk_category")
    return tasks


def _extract_one(case: CohortCase, extractor_specs: List[Tuple[str, dict]], cache_dir: Optional[str]):
    """Worker: (case_id, [CaseFeatures] or None, error text)."""
    from ..io.ct import load_ct
    from ..features.cache import FeatureCache
    from ..features.registry import make_extractor
    from ..region.mask import load_region

    try:
        ct = load_ct(case.image)
        region = load_region(case.mask, ct)
        cache = FeatureCache(cache_dir) if cache_dir else None
        parts = [make_extractor(name, settings).extract(ct, region, cache=cache) for name, settings in extractor_specs]
        return case.case_id, parts, None
    except CoronaryCalciumError as error:
        return case.case_id, None, str(error)


def extract_cohort(cases: Sequence[CohortCase], extractors, cache_dir: Optional[str] = None, jobs: int = 1,
                   progress: Progress = silent) -> CohortFeatures:
    """Features of every case (``jobs`` worker processes); cases that fail are listed in ``skipped`` with the reason."""
    from ..features.table import FeatureTable

    start = time.perf_counter()
    specs = [(extractor.name, extractor.settings()) for extractor in extractors]
    results: Dict[str, Tuple[Optional[list], Optional[str]]] = {}
    if jobs <= 1:
        for index, case in enumerate(cases):
            progress(index / len(cases), "features of %s (%d of %d)" % (case.case_id, index + 1, len(cases)))
            case_id, parts, error = _extract_one(case, specs, cache_dir)
            results[case_id] = (parts, error)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_extract_one, case, specs, cache_dir) for case in cases]
            for done, future in enumerate(as_completed(futures), start=1):
                case_id, parts, error = future.result()
                results[case_id] = (parts, error)
                progress(done / len(cases), "features of %s (%d of %d)" % (case_id, done, len(cases)))
    kept = [case for case in cases if results[case.case_id][0] is not None]
    skipped = [SkippedCase(case.case_id, results[case.case_id][1] or "") for case in cases
               if results[case.case_id][0] is None]
    if not kept:
        raise InputError("features could not be extracted from any case; first reason: %s"
                         % (skipped[0].reason if skipped else "none"))
    parts = [results[case.case_id][0] for case in kept]
    table = FeatureTable.from_cases([case.case_id for case in kept], parts)
    cached = sum(1 for case_parts in parts if all(part.from_cache for part in case_parts))
    progress(1.0, "features of %d cases (%d from cache, %d skipped)" % (len(kept), cached, len(skipped)))
    return CohortFeatures(table=table, cases=kept, skipped=skipped, seconds=time.perf_counter() - start,
                          cached=cached)
