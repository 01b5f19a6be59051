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
  contrast [contrast_enhanced, enhanced] optional yes/no; when blank or absent, the project's contrast detection
                                        (``scoring.contrast.check_contrast``, on the CT and its region) decides, and
                                        each case says which (``ManifestCase.contrast_source``)
The reader is ``io.manifest.read_manifest`` (shared with ``assess``). A case whose features cannot be extracted (empty
region, unreadable file) is left out and listed, never silently.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from ..errors import CoronaryCalciumError, InputError
from ..io.manifest import ManifestCase
from ..progress import Progress, silent

if TYPE_CHECKING:  # pragma: no cover
    from ..features.table import FeatureTable

@dataclass
class SkippedCase:
    case_id: str
    reason: str


@dataclass
class CohortFeatures:
    """Feature table of the cases that could be extracted, those left out (with why), and timings (s)."""

    table: "FeatureTable"
    cases: List[ManifestCase]
    skipped: List[SkippedCase] = field(default_factory=list)
    seconds: float = 0.0
    cached: int = 0


def labels_for_task(cases: Sequence[ManifestCase], task: str) -> List[str]:
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


def available_tasks(cases: Sequence[ManifestCase]) -> List[str]:
    tasks = []
    if all(case.binary_label() is not None for case in cases):
        tasks.append("binary")
    if all(case.risk_category() is not None for case in cases):
        tasks.append("risk_category")
    return tasks


def _extract_one(case: ManifestCase, extractor_specs: List[Tuple[str, dict]], cache_dir: Optional[str]):
    """Worker: (case_id, [CaseFeatures] or None, error text, ContrastCheck or None)."""
    from ..io.ct import load_ct
    from ..features.cache import FeatureCache
    from ..features.registry import make_extractor
    from ..region.mask import load_region
    from ..scoring.contrast import check_contrast

    try:
        ct = load_ct(case.image)
        region = load_region(case.mask, ct)
        cache = FeatureCache(cache_dir) if cache_dir else None
        parts = [make_extractor(name, settings).extract(ct, region, cache=cache) for name, settings in extractor_specs]
        return case.case_id, parts, None, check_contrast(ct, region)
    except CoronaryCalciumError as error:
        return case.case_id, None, str(error), None


def settle_contrast(case: ManifestCase, check) -> None:
    """Set ``case.contrast`` and say who decided: the manifest (noting a detection that disagrees) or the detection
    (``check``: a ``scoring.contrast.ContrastCheck``)."""
    if check is None:
        return
    found = ("contrast-enhanced: %s" % check.reason() if check.enhanced else
             "no enhancement found (blood-pool median %s HU in the %s)"
             % ("n/a" if check.median_hu is None else "%.0f" % check.median_hu, check.reference))
    if case.contrast is None:
        case.contrast, case.contrast_source = bool(check.enhanced), "detected, " + found
    elif case.contrast != bool(check.enhanced):
        case.contrast_source = "manifest (the detection disagrees: %s)" % found


def extract_cohort(cases: Sequence[ManifestCase], extractors, cache_dir: Optional[str] = None, jobs: int = 1,
                   progress: Progress = silent) -> CohortFeatures:
    """Features of every case (``jobs`` worker processes); cases that fail are listed in ``skipped`` with the reason."""
    from ..features.table import FeatureTable

    start = time.perf_counter()
    specs = [(extractor.name, extractor.settings()) for extractor in extractors]
    results: Dict[str, Tuple[Optional[list], Optional[str]]] = {}
    checks = {}
    if jobs <= 1:
        for index, case in enumerate(cases):
            progress(index / len(cases), "features of %s (%d of %d)" % (case.case_id, index + 1, len(cases)))
            case_id, parts, error, checks[case.case_id] = _extract_one(case, specs, cache_dir)
            results[case_id] = (parts, error)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_extract_one, case, specs, cache_dir) for case in cases]
            for done, future in enumerate(as_completed(futures), start=1):
                case_id, parts, error, checks[case_id] = future.result()
                results[case_id] = (parts, error)
                progress(done / len(cases), "features of %s (%d of %d)" % (case_id, done, len(cases)))
    for case in cases:
        settle_contrast(case, checks.get(case.case_id))
    kept = [case for case in cases if results[case.case_id][0] is not None]
    skipped = [SkippedCase(case.case_id, results[case.case_id][1] or "") for case in cases
               if results[case.case_id][0] is None]
    if not kept:
        raise InputError("features could not be extracted from any case; first reason: %s"
                         % (skipped[0].reason if skipped else "none"))
    parts = [results[case.case_id][0] for case in kept]
    table = FeatureTable.from_cases([case.case_id for case in kept], parts)
    table.contrast = [case.contrast for case in kept]
    cached = sum(1 for case_parts in parts if all(part.from_cache for part in case_parts))
    progress(1.0, "features of %d cases (%d from cache, %d skipped)" % (len(kept), cached, len(skipped)))
    return CohortFeatures(table=table, cases=kept, skipped=skipped, seconds=time.perf_counter() - start,
                          cached=cached)
