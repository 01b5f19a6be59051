"""Many cases: discovery, workers (local processes or a Dask cluster), resume, atomic outputs, cohort summary.

Inputs are image files, folders (every DICOM series in the tree is one case, every NIfTI/NRRD/MHA file another) or a
manifest CSV with columns ``image`` and optional ``mask``, ``id`` (paths relative to the manifest). In folders a mask
is paired with its image by name: ``NAME_mask.<ext>``, ``NAME.mask.<ext>`` or ``NAME.seg.nrrd`` beside ``NAME.<ext>``.

Each case's outputs are written to a temporary folder and renamed to ``OUT/<id>/`` when complete, so a crash or Ctrl-C
never leaves a half-written case; a case whose folder exists is finished and is skipped unless ``force``. Failed cases
are recorded in ``OUT/summary.csv`` with their error while the others go on.

Privacy: unless the manifest names a case, its ID is a pseudonym (``case-`` + 12 hex digits of SHA-256 of its
SeriesInstanceUID or absolute path); ``OUT/key.csv`` maps pseudonyms to inputs and is the only output naming input
paths; patient name and ID appear only with ``include_phi``. Log lines carry IDs and messages with paths masked.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from .io.ct import IMAGE_SUFFIXES
from .io.dicom import find_series
from .errors import CoronaryCalciumError, InputError
from .io.manifest import ManifestCase, pseudonym
from .io.manifest import read_manifest as _read_manifest
from .scoring.agatston import ScoringSettings

MASK_MARKERS = ("_mask", ".mask")
SUMMARY_COLUMNS = ("id", "status", "error", "agatston", "volume_mm3", "mass_mg", "classic", "cac_drs", "lesions",
                   "agatston_LM", "agatston_LAD", "agatston_LCX", "agatston_RCA", "agatston_unassigned",
                   "classifier_label", "classifier_probability", "warnings", "integrated_mass_mg",
                   "category_reliable", "noise_hu", "excluded_lesions", "reviewed", "review_edits",
                   "automatic_agatston")
PHI_COLUMNS = ("image", "patient_name", "patient_id")
PARTIAL = ".partial-"


@dataclass
class BatchOptions:
    """How every case is assessed and written (must be picklable: it travels to worker processes)."""

    settings: ScoringSettings = field(default_factory=ScoringSettings)
    labels: Optional[str] = None
    totalseg: Optional[object] = None  # roi_totalseg.TotalSegRegionSettings: build regions with TotalSegmentator
    include_phi: bool = False
    report: bool = True
    force: bool = False
    model: Optional[str] = None  # classifier: "shipped", a trusted model path, or None (none)
    dicom_out: Optional[str] = None  # also write each case's DICOM SEG, SR and PDF to dicom_out/<id>/ (carry PHI)


def _is_image_file(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(IMAGE_SUFFIXES) or lower.endswith(".dcm")


def _image_stem(name: str) -> str:
    lower = name.lower()
    for suffix in (".seg.nrrd",) + IMAGE_SUFFIXES + (".dcm",):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_mask_name(name: str) -> bool:
    stem = _image_stem(name)
    return name.lower().endswith(".seg.nrrd") or any(stem.endswith(marker) for marker in MASK_MARKERS)


def _sibling_mask(folder: str, name: str, names: Iterable[str]) -> Optional[str]:
    stem = _image_stem(name)
    for candidate in sorted(names):
        if candidate == name:
            continue
        other = _image_stem(candidate)
        if candidate.lower().endswith(".seg.nrrd") and other == stem:
            return os.path.join(folder, candidate)
        if other in (stem + "_mask", stem + ".mask"):
            return os.path.join(folder, candidate)
    return None


def read_manifest(path: str) -> List[ManifestCase]:
    """Cases from a manifest CSV: column image and optional mask, id (relative paths are relative to the CSV); an
    unnamed case gets a pseudonym."""
    return _read_manifest(path, ids="pseudonym", require_mask=False, labelled=False)


def discover(inputs: List[str], mask: Optional[str] = None) -> List[ManifestCase]:
    """Every case named by ``inputs`` (files, folders, manifest CSVs), in a stable order, IDs unique."""
    cases: List[ManifestCase] = []
    for item in inputs:
        if not os.path.exists(item):
            raise InputError("input not found: %s" % item)
        if os.path.isfile(item) and item.lower().endswith(".csv"):
            cases.extend(read_manifest(item))
        elif os.path.isdir(item):
            cases.extend(_discover_folder(item))
        else:
            cases.append(ManifestCase(case_id=pseudonym(os.path.abspath(item)), image=item))
    if mask:
        if len(cases) != 1:
            raise InputError("--mask goes with a single case; give per-case masks in a manifest CSV")
        cases[0].mask = mask
    seen: Dict[str, int] = {}
    for case in cases:
        if case.case_id in seen:
            raise InputError("case ID %s appears twice; IDs must be unique" % case.case_id)
        seen[case.case_id] = 1
    return cases


def _discover_folder(folder: str) -> List[ManifestCase]:
    cases = []
    all_series = find_series(folder)
    for series in all_series:
        key = series.uid or os.path.abspath(series.folder)
        cases.append(ManifestCase(case_id=pseudonym(key), image=series.folder, series_uid=series.uid or None))
    dicom_files = {path for series in all_series for path in series.files}
    for root, _dirs, names in os.walk(folder):
        for name in sorted(names):
            path = os.path.join(root, name)
            if path in dicom_files or not _is_image_file(name) or _is_mask_name(name) or _is_non_image_dicom(path):
                continue
            cases.append(ManifestCase(case_id=pseudonym(os.path.abspath(path)), image=path,
                                  mask=_sibling_mask(root, name, names)))
    return sorted(cases, key=lambda case: case.case_id)


def _is_non_image_dicom(path: str) -> bool:
    """A readable DICOM file without image geometry (RTSTRUCT, SR...): not a case. Unreadable files are cases, so they
    are reported as failures instead of vanishing."""
    from .io.dicom import _read_header

    if not path.lower().endswith(".dcm"):
        return False
    header = _read_header(path)
    return header is not None and not hasattr(header, "ImagePositionPatient")


def _mask_paths(message: str, case: ManifestCase) -> str:
    """Replace the case's input paths (and file names: any name with a non-letter, such as an extension) by
    placeholders, so logs and summaries carry no names that may identify a patient."""
    for path, label in ((case.image, "<image>"), (case.mask, "<mask>")):
        if path:
            message = message.replace(os.path.abspath(path), label).replace(path, label)
            name = os.path.basename(os.path.normpath(path))
            if not name.isalpha():
                message = message.replace(name, label)
    return message


def write_dicom_folder(dicom_out: str, case_id: str, result) -> None:
    """The case's DICOM outputs into dicom_out/<id>/, whole or not at all (apart from the research outputs: they
    carry the patient module)."""
    from .reporting.dicom_outputs import write_dicom_outputs

    temporary = os.path.join(dicom_out, ".%s%s%s" % (case_id, PARTIAL, uuid.uuid4().hex[:8]))
    try:
        write_dicom_outputs(temporary, result)
        _replace_folder(temporary, os.path.join(dicom_out, case_id))
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


# The classifier step of this process by (model spec, the model file's modification time): a worker loads the model for
# its first case and reuses it for the others (emptied when a run starts in this process).
_CLASSIFIERS: Dict[Tuple[Optional[str], Optional[float]], object] = {}


def process_classifier(spec: Optional[str]):
    """The ``classifier_step`` for ``spec``, made (its model loaded) once per process and model file."""
    from .classifier.step import classifier_step

    key = (spec, os.path.getmtime(spec) if spec and os.path.exists(spec) else None)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = classifier_step(spec)  # a model that cannot be loaded raises here, for each case
    return _CLASSIFIERS[key]


def run_case(case: ManifestCase, out_dir: str, options: BatchOptions) -> Dict[str, object]:
    """Assess one case and write its outputs atomically; returns its summary row (never raises for bad input)."""
    from .io.ct import load_ct
    from .reporting.case_files import write_case_outputs
    from .pipeline import assess_case

    final = os.path.join(out_dir, case.case_id)
    if os.path.isdir(final) and not options.force:
        return summary_row_from_folder(case, final, options)
    temporary = os.path.join(out_dir, ".%s%s%s" % (case.case_id, PARTIAL, uuid.uuid4().hex[:8]))
    try:
        if not case.mask and options.totalseg is None:
            load_ct(case.image, series_uid=case.series_uid)  # a broken image is the first thing to report
            raise InputError("no region of interest: give a mask (manifest column 'mask', a NAME_mask file beside the "
                             "image, or --mask) or a TotalSegmentator region (--region heart|coronary)")
        mask = case.mask if options.totalseg is None else None
        result = assess_case(case.image, mask, options.settings, labels=options.labels,
                             series_uid=case.series_uid, case_id=case.case_id, totalseg=_case_totalseg(case, options),
                             classify=process_classifier(options.model))
        write_case_outputs(temporary, result, include_phi=options.include_phi, report=options.report)
        if options.dicom_out:
            write_dicom_folder(options.dicom_out, case.case_id, result)
        _replace_folder(temporary, final)
    except CoronaryCalciumError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        message = str(error) if options.include_phi else _mask_paths(str(error), case)
        return failed_row(case, message, options)
    except Exception as error:  # one broken case must not stop the cohort
        shutil.rmtree(temporary, ignore_errors=True)
        message = "internal error: %s: %s" % (type(error).__name__, error)
        return failed_row(case, message if options.include_phi else _mask_paths(message, case), options)
    return summary_row_from_folder(case, final, options)


def _case_totalseg(case: ManifestCase, options: BatchOptions):
    """The TotalSegmentator settings of one case: existing masks paired with it by name when ``--totalseg-output``
    holds one subfolder per case (named after the image, e.g. ``LUNG1-001/heart.nii.gz``, or after the case ID)."""
    settings = options.totalseg
    if settings is None or not settings.existing_output:
        return settings
    from dataclasses import replace

    from .pipeline import case_name
    from .region.totalseg_region import existing_output_for

    return replace(settings, existing_output=existing_output_for(settings.existing_output,
                                                                 [case_name(case.image), case.case_id]))


def _replace_folder(source: str, target: str) -> None:
    if os.path.isdir(target):
        trash = target + PARTIAL + "old-" + uuid.uuid4().hex[:8]
        os.rename(target, trash)
        os.rename(source, target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(source, target)


def failed_row(case: ManifestCase, message: str, options: BatchOptions) -> Dict[str, object]:
    row: Dict[str, object] = {column: "" for column in SUMMARY_COLUMNS}
    row.update(id=case.case_id, status="failed", error=message)
    if options.include_phi:
        row["image"] = case.image
    return row


def summary_row_from_folder(case: ManifestCase, folder: str, options: BatchOptions) -> Dict[str, object]:
    """The summary row of a finished case, read back from its result.json."""
    import json

    with open(os.path.join(folder, "result.json"), encoding="utf-8") as stream:
        data = json.load(stream)
    classifier = data.get("classifier") or {}
    row: Dict[str, object] = {
        "id": case.case_id, "status": "ok", "error": "",
        "agatston": "%.2f" % data["agatston"], "volume_mm3": "%.2f" % data["volume_mm3"],
        "mass_mg": "" if data["mass_mg"] is None else "%.2f" % data["mass_mg"],
        "classic": data["category"]["classic"], "cac_drs": data["category"]["cac_drs"],
        "lesions": len(data["lesions"]),
        "classifier_label": classifier.get("label", ""),
        "classifier_probability": "" if classifier.get("probability") is None else "%.4f" % classifier["probability"],
        "category_reliable": "yes" if data["category"].get("reliable", True) else "no",
        "noise_hu": "" if (data.get("image_quality") or {}).get("noise_hu") is None
        else "%.1f" % data["image_quality"]["noise_hu"],
        "excluded_lesions": len(data.get("excluded_lesions", [])),
        "warnings": len(data["warnings"]),
        "integrated_mass_mg": "" if data.get("integrated_mass_mg") is None else "%.2f" % data["integrated_mass_mg"],
        "reviewed": "yes" if data.get("reviewed") else "no",
        "review_edits": len((data.get("review") or {}).get("edits") or []),
        "automatic_agatston": "%.2f" % (data.get("review") or {}).get("automatic", data)["agatston"],
    }
    for name, entry in data["per_artery"].items():
        row["agatston_%s" % name] = "%.2f" % entry["agatston"]
    if options.include_phi:
        row["image"] = case.image
        row["patient_name"] = data["input"].get("patient_name") or ""
        row["patient_id"] = data["input"].get("patient_id") or ""
    return row


def clean_partial(out_dir: str) -> int:
    """Remove temporary folders and files (summary, overview) left by an interrupted run; returns how many."""
    from .io.atomic import is_leftover

    removed = 0
    if os.path.isdir(out_dir):
        for name in os.listdir(out_dir):
            path = os.path.join(out_dir, name)
            if PARTIAL in name:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
            elif is_leftover(name) and os.path.isfile(path):
                os.remove(path)
                removed += 1
    return removed


def refresh_summary_row(out_dir: str, case_id: str) -> bool:
    """After a review of ``out_dir/<case_id>``: its row of ``out_dir/summary.csv`` (and overview.html) read again
    from the case's result.json. False when ``out_dir`` has no summary holding the case."""
    path = os.path.join(out_dir, "summary.csv")
    if not os.path.isfile(path):
        return False
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as stream:
        reader = csv.DictReader(stream)
        include_phi = "image" in (reader.fieldnames or ())
        rows: List[Dict[str, object]] = list(reader)
    index = next((i for i, row in enumerate(rows) if row.get("id") == case_id), None)
    if index is None:
        return False
    options = BatchOptions(include_phi=include_phi)
    rows[index] = summary_row_from_folder(ManifestCase(case_id, str(rows[index].get("image") or "")),
                                          os.path.join(out_dir, case_id), options)
    write_summary(out_dir, rows, include_phi)
    from .reporting.overview import write_overview

    write_overview(os.path.join(out_dir, "overview.html"), rows)
    return True


def write_summary(out_dir: str, rows: List[Dict[str, object]], include_phi: bool) -> str:
    from .io.atomic import atomic_path

    columns = SUMMARY_COLUMNS + (PHI_COLUMNS if include_phi else ())
    path = os.path.join(out_dir, "summary.csv")
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8", errors="surrogateescape") as stream:
            writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
    return path


def write_key(out_dir: str, cases: List[ManifestCase]) -> str:
    from .io.atomic import atomic_path

    path = os.path.join(out_dir, "key.csv")
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8", errors="surrogateescape") as stream:
            writer = csv.writer(stream)
            writer.writerow(("id", "image", "mask", "series_uid"))
            for case in cases:
                writer.writerow((case.case_id, case.image, case.mask or "", case.series_uid or ""))
    return path


@dataclass
class BatchReport:
    """What a batch run did."""

    rows: List[Dict[str, object]]
    skipped: int
    seconds: float

    @property
    def failed(self) -> List[Dict[str, object]]:
        return [row for row in self.rows if row["status"] == "failed"]


Log = Callable[[str], None]


def _stderr(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def run_batch(cases: List[ManifestCase], out_dir: str, options: BatchOptions, workers: int = 1,
              scheduler: Optional[str] = None, log: Log = _stderr, progress_bar: bool = True) -> BatchReport:
    """Assess ``cases`` into ``out_dir`` with ``workers`` local processes, or on the Dask scheduler at ``scheduler``."""
    os.makedirs(out_dir, exist_ok=True)
    clean_partial(out_dir)
    write_key(out_dir, cases)
    order = {case.case_id: index for index, case in enumerate(cases)}
    rows: Dict[str, Dict[str, object]] = {}
    pending = []
    skipped = 0
    for case in cases:
        if os.path.isdir(os.path.join(out_dir, case.case_id)) and not options.force:
            rows[case.case_id] = summary_row_from_folder(case, os.path.join(out_dir, case.case_id), options)
            skipped += 1
        else:
            pending.append(case)
    if skipped:
        log("%d of %d cases already finished in %s (use --force to redo them)" % (skipped, len(cases), out_dir))
        reviewed = sum(1 for row in rows.values() if row.get("reviewed") == "yes")
        if reviewed:
            log("%d of them reviewed by a reader: kept (--force would replace the review by a new automatic result)"
                % reviewed)
    start = time.perf_counter()

    def record(row: Dict[str, object]) -> None:
        rows[str(row["id"])] = row
        text = "%s: %s" % (row["id"], "ok, Agatston %s" % row["agatston"] if row["status"] == "ok"
                           else "FAILED: %s" % row["error"])
        log(text)
        write_summary(out_dir, sorted(rows.values(), key=lambda r: order[str(r["id"])]), options.include_phi)

    bar = _progress(len(pending), progress_bar)
    try:
        for row in _execute(pending, out_dir, options, workers, scheduler):
            record(row)
            bar.update(1)
    finally:
        bar.close()
    ordered = sorted(rows.values(), key=lambda r: order[str(r["id"])])
    write_summary(out_dir, ordered, options.include_phi)
    from .reporting.overview import write_overview

    write_overview(os.path.join(out_dir, "overview.html"), ordered)
    return BatchReport(rows=ordered, skipped=skipped, seconds=time.perf_counter() - start)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="case", disable=not enabled or total == 0, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]")


def _execute(cases: List[ManifestCase], out_dir: str, options: BatchOptions, workers: int, scheduler: Optional[str]):
    """Yield summary rows as cases finish."""
    if not cases:
        return
    _CLASSIFIERS.clear()
    if scheduler:
        yield from _execute_dask(cases, out_dir, options, scheduler)
    elif workers <= 1:
        for case in cases:
            yield run_case(case, out_dir, options)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn, not fork: the parent may already hold OpenMP thread pools (XGBoost, LightGBM, torch), and a forked
        # child inheriting them can deadlock
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=limit_native_threads, initargs=(worker_threads(workers),))
        try:
            futures = [executor.submit(run_case, case, out_dir, options) for case in cases]
            for future in as_completed(futures):
                yield future.result()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")


def worker_threads(workers: int) -> int:
    """Native threads per worker process: the cores shared out among the workers (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def limit_native_threads(threads: int) -> None:
    """Run in each worker process before its first case: OpenMP, OpenBLAS, MKL and ITK use at most ``threads`` threads,
    so two workers on two cores do not run four busy thread pools. Variables the user set are left as they are."""
    chosen = [name for name in THREAD_VARIABLES if os.environ.get(name)]
    for name in THREAD_VARIABLES:  # read by the libraries when they load (XGBoost's OpenMP, ITK)
        os.environ.setdefault(name, str(threads))
    if chosen:
        return
    try:  # numpy's OpenBLAS is already loaded (this module imports numpy)
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it only the variables apply
        return
    threadpool_limits(limits=threads)


def _execute_dask(cases: List[ManifestCase], out_dir: str, options: BatchOptions, scheduler: str):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise InputError("cannot reach the Dask scheduler at %s: %s" % (scheduler, error)) from None
    try:
        futures = client.map(run_case, cases, out_dir=out_dir, options=options, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
