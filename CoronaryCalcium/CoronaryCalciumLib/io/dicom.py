"""Finding and reading DICOM image series with pydicom (compressed transfer syntaxes through pylibjpeg).

Slices are ordered by their position along the slice normal; the measured slice increment is the median distance between
neighbouring positions. Irregular spacing, missing slices and gantry tilt are reported as warnings, never hidden.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import InputError
from .geometry import Geometry

_NO_CONTRAST_WORDS = {"", "NONE", "NO", "N", "NIL", "NON", "NONE USED", "NO CONTRAST", "0"}


@dataclass
class SeriesInfo:
    """One image series found on disk (headers only)."""

    uid: str
    modality: str
    description: str
    files: List[str]
    folder: str
    # path -> header parsed while finding the series (``find_series(keep_headers=True)``), pixel data deferred: the
    # series is then read from these, each file's header parsed once.
    headers: Dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_files(self) -> int:
        return len(self.files)

    def label(self) -> str:
        """Short description for messages (no patient data)."""
        text = "%s series %s (%d slices)" % (self.modality or "?", self.uid or "<no UID>", self.n_files)
        return text + (" '%s'" % self.description if self.description else "")


_DEFER_SIZE = "16 KB"  # elements larger than this (pixel data) are read from the file when first used


def _read_header(path: str, defer_pixels: bool = False):
    """The file's header (a pydicom Dataset), or None when it is not DICOM. ``defer_pixels``: keep the pixel data
    element, its value read from the file on first use, so the same Dataset can give the pixels later."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        if defer_pixels:
            return pydicom.dcmread(path, defer_size=_DEFER_SIZE)
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError, EOFError):
        return None
    except Exception:  # pydicom raises assorted errors on truncated or foreign files
        return None


def _series_key(ds) -> str:
    uid = str(getattr(ds, "SeriesInstanceUID", "") or "").strip()
    if uid:
        return uid
    # Some exports leave SeriesInstanceUID empty: group by what a series shares instead.
    parts = [
        str(getattr(ds, "StudyInstanceUID", "") or ""),
        str(getattr(ds, "SeriesNumber", "") or ""),
        str(getattr(ds, "Rows", "")),
        str(getattr(ds, "Columns", "")),
        ",".join("%.4f" % float(v) for v in getattr(ds, "ImageOrientationPatient", []) or []),
    ]
    return "no-uid:" + "|".join(parts)


def find_series(folder: str, keep_headers: bool = False) -> List[SeriesInfo]:
    """All DICOM image series below ``folder`` (recursively), largest first. Files that are not DICOM are skipped.
    ``keep_headers``: keep each file's parsed header in ``SeriesInfo.headers`` for ``read_series`` (to load one series;
    leave it off when only listing many)."""
    groups: Dict[Tuple[str, str], SeriesInfo] = {}
    for root, _dirs, names in os.walk(folder):
        for name in sorted(names):
            path = os.path.join(root, name)
            ds = _read_header(path, defer_pixels=keep_headers)
            if ds is None or not hasattr(ds, "Rows") or not hasattr(ds, "ImagePositionPatient"):
                continue  # RTSTRUCT, SR, presentation states...
            key = (_series_key(ds), root if not getattr(ds, "SeriesInstanceUID", "") else "")
            info = groups.get(key)
            if info is None:
                info = SeriesInfo(
                    uid=str(getattr(ds, "SeriesInstanceUID", "") or ""),
                    modality=str(getattr(ds, "Modality", "") or ""),
                    description=str(getattr(ds, "SeriesDescription", "") or ""),
                    files=[],
                    folder=root,
                )
                groups[key] = info
            info.files.append(path)
            if keep_headers:
                info.headers[path] = ds
    return sorted(groups.values(), key=lambda s: (-s.n_files, s.uid))


def choose_series(series: List[SeriesInfo], folder: str, series_uid: Optional[str] = None) -> Tuple[SeriesInfo, List[str]]:
    """Pick the requested series, or the CT series with the most slices; returns it and a note when there was a choice."""
    notes: List[str] = []
    if not series:
        raise InputError("no DICOM image files found in %s" % folder)
    if series_uid:
        for info in series:
            if info.uid == series_uid:
                return info, notes
        raise InputError(
            "series %s not found in %s; available: %s" % (series_uid, folder, "; ".join(s.label() for s in series))
        )
    ct_series = [s for s in series if s.modality.upper() == "CT"]
    if not ct_series:
        raise InputError(
            "no CT series in %s (found %s): calcium scoring needs CT" % (folder, "; ".join(s.label() for s in series))
        )
    chosen = ct_series[0]
    if len(series) > 1:
        others = [s.label() for s in series if s is not chosen]
        notes.append(
            "folder holds %d series; using the CT series with the most slices: %s (others: %s; pick one with --series UID)"
            % (len(series), chosen.label(), "; ".join(others))
        )
    return chosen, notes


@dataclass
class DicomSeriesData:
    """Voxels (HU, z-y-x), grid and the header values scoring needs."""

    array: np.ndarray
    geometry: Geometry
    header: Dict[str, object] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def _float_or_none(value) -> Optional[float]:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def contrast_agent_from_header(ds) -> Optional[str]:
    """The contrast agent named in the DICOM header (0018,0010 / 0018,1040), or None when none is recorded."""
    agent = str(getattr(ds, "ContrastBolusAgent", "") or "").strip()
    route = str(getattr(ds, "ContrastBolusRoute", "") or "").strip()
    if agent.upper() in _NO_CONTRAST_WORDS and route.upper() in _NO_CONTRAST_WORDS:
        return None
    return agent or route


# Header values every slice of one scan shares; a slice that differs is from another acquisition or reconstruction
# filed under the same SeriesInstanceUID (scoring uses the first slice's values for all).
_SHARED_TAGS = (("AcquisitionNumber", "acquisition number"), ("SliceThickness", "slice thickness"),
                ("ConvolutionKernel", "kernel"), ("KVP", "kVp"))


def _tag_text(ds, keyword: str) -> str:
    value = getattr(ds, keyword, None)
    if value is None or value == "":
        return "none"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def mixed_acquisition_notes(headers: List[object]) -> List[str]:
    """One warning per shared header value (acquisition number, slice thickness, kernel, kVp) that differs between
    the slices of a series, naming each value and its slice count."""
    from collections import Counter

    notes = []
    for keyword, label in _SHARED_TAGS:
        counts = Counter(_tag_text(ds, keyword) for ds in headers)
        if len(counts) > 1:
            listing = ", ".join("%s in %d slice(s)" % (value, n) for value, n in counts.most_common())
            notes.append("slices of this series differ in %s (%s): more than one acquisition or reconstruction under "
                         "one SeriesInstanceUID? Scoring uses the first slice's values; check that every slice belongs "
                         "to the same scan" % (label, listing))
    return notes


def _grid_value(ds, keyword: str) -> str:
    if keyword == "PixelSpacing" and getattr(ds, keyword, None):
        return "x".join("%.4g" % float(v) for v in ds.PixelSpacing)
    return _tag_text(ds, keyword)


def _check_one_grid(headers, info: SeriesInfo) -> None:
    """Refuse a series whose slices disagree on pixel spacing or frame of reference: no single grid holds them."""
    for keyword, what in (("PixelSpacing", "pixel spacings"), ("FrameOfReferenceUID", "frames of reference")):
        values = {_grid_value(ds, keyword) for _p, ds in headers}
        if len(values) > 1:
            raise InputError("series %s mixes %s (%s): slices from several scans under one SeriesInstanceUID cannot "
                             "be stacked into one volume" % (info.label(), what, "; ".join(sorted(values)[:3])))


def _stacking_order(info: SeriesInfo):
    """(path, header) pairs, slice positions (LPS mm), distances along the normal and the stacking order of a series."""
    headers = []
    for path in info.files:
        ds = info.headers.get(path) or _read_header(path)
        if ds is not None:
            headers.append((path, ds))
    first = headers[0][1]
    orientation = np.array([float(v) for v in first.ImageOrientationPatient], dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    positions = []
    for _path, ds in headers:
        if [round(float(v), 4) for v in ds.ImageOrientationPatient] != [round(v, 4) for v in orientation]:
            raise InputError("series %s mixes slice orientations; cannot stack it into a volume" % info.label())
        if (int(ds.Rows), int(ds.Columns)) != (int(first.Rows), int(first.Columns)):
            raise InputError("series %s mixes image sizes; cannot stack it into a volume" % info.label())
        positions.append(np.array([float(v) for v in ds.ImagePositionPatient], dtype=float))
    _check_one_grid(headers, info)
    distances = np.array([float(p @ normal) for p in positions])
    return headers, positions, distances, np.argsort(distances, kind="stable")


def series_headers(folder: str, series_uid: Optional[str] = None) -> List[object]:
    """The headers (pydicom Datasets, no pixels) of a series in the order ``read_series`` stacks its slices: frame k of
    a volume loaded from ``folder`` is the k-th dataset. Used to reference the source images in DICOM outputs."""
    info, _notes = choose_series(find_series(folder), folder, series_uid)
    headers, _positions, _distances, order = _stacking_order(info)
    return [headers[index][1] for index in order]


def read_series(info: SeriesInfo) -> DicomSeriesData:
    """Read one series into a HU volume ordered along the slice normal."""
    import pydicom

    headers, positions, distances, order = _stacking_order(info)
    first = headers[0][1]
    orientation = np.array([float(v) for v in first.ImageOrientationPatient], dtype=float)
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    distances = distances[order]
    warnings: List[str] = []
    steps = np.diff(distances)
    if len(steps) and np.any(steps < 1e-3):
        raise InputError(
            "series %s has %d slices at duplicate positions (several phases or reconstructions in one series?); "
            "export one phase" % (info.label(), int(np.sum(steps < 1e-3)) + 1)
        )
    increment = float(np.median(steps)) if len(steps) else _float_or_none(getattr(first, "SliceThickness", None)) or 1.0
    if len(steps):
        gaps = np.round(steps / increment).astype(int)
        missing = int(np.sum(gaps[gaps > 1] - 1))
        if missing:
            warnings.append(
                "%d missing slice(s) detected (gaps in slice positions); scoring uses the measured increment %.3g mm "
                "and the gaps contribute nothing" % (missing, increment)
            )
        irregular = np.abs(steps - gaps * increment) > max(0.01 * increment, 0.005)
        if np.any(irregular):
            warnings.append(
                "non-uniform slice spacing (%.3g-%.3g mm); normalised with the measured median increment %.3g mm"
                % (steps.min(), steps.max(), increment)
            )
        span = positions[order[-1]] - positions[order[0]]
        if np.linalg.norm(span) > 0:
            cos_angle = abs(float(span @ normal) / np.linalg.norm(span))
            tilt = float(np.degrees(np.arccos(min(1.0, cos_angle))))
            if tilt > 0.5:
                warnings.append(
                    "gantry tilt of %.1f degrees: slices are stacked along their normal; positions are approximate" % tilt
                )

    warnings.extend(mixed_acquisition_notes([ds for _p, ds in headers]))
    rows, cols = int(first.Rows), int(first.Columns)
    slopes = {float(getattr(ds, "RescaleSlope", 1) or 1) for _p, ds in headers}
    intercepts = {float(getattr(ds, "RescaleIntercept", 0) or 0) for _p, ds in headers}
    integer_rescale = all(s == 1.0 for s in slopes) and all(float(i).is_integer() for i in intercepts)
    dtype = np.int16 if integer_rescale else np.float32
    array = np.empty((len(headers), rows, cols), dtype=dtype)
    for out_index, header_index in enumerate(order):
        path, ds = headers[header_index]
        try:
            if "PixelData" not in ds:  # a header read without pixels: read the file
                ds = pydicom.dcmread(path)
            pixels = ds.pixel_array
            if ds is info.headers.get(path):
                del ds.PixelData  # the header stays; its pixel bytes and decoded array are not kept twice
        except Exception as error:  # decoder missing, truncated pixel data...
            raise InputError("cannot decode pixel data of %s: %s" % (os.path.basename(path), error)) from None
        slope = float(getattr(ds, "RescaleSlope", 1) or 1)
        intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
        if pixels.ndim != 2:
            raise InputError("%s holds a multi-frame or colour image; expected one grayscale CT slice per file" % path)
        if dtype == np.int16:
            hu = pixels.astype(np.int32) + int(intercept)
            np.clip(hu, -32768, 32767, out=hu)
            array[out_index] = hu
        else:
            array[out_index] = pixels.astype(np.float32) * slope + intercept

    row_spacing, col_spacing = (float(v) for v in first.PixelSpacing)
    direction = np.column_stack([row_dir, col_dir, normal])
    geometry = Geometry(
        shape=array.shape,
        spacing=(col_spacing, row_spacing, increment),
        origin=tuple(float(v) for v in positions[order[0]]),
        direction=tuple(float(v) for v in direction.ravel()),
    )
    header = {
        "modality": str(getattr(first, "Modality", "") or ""),
        "kvp": _float_or_none(getattr(first, "KVP", None)),
        "slice_thickness_mm": _float_or_none(getattr(first, "SliceThickness", None)),
        "manufacturer": str(getattr(first, "Manufacturer", "") or "") or None,
        "model": str(getattr(first, "ManufacturerModelName", "") or "") or None,
        "kernel": str(getattr(first, "ConvolutionKernel", "") or "") or None,
        "contrast_agent": contrast_agent_from_header(first),
        "series_uid": info.uid or None,
        "series_description": info.description or None,
        "study_date": str(getattr(first, "StudyDate", "") or "") or None,
        "patient_name": str(getattr(first, "PatientName", "") or "") or None,
        "patient_id": str(getattr(first, "PatientID", "") or "") or None,
        "rescale": "slope %s, intercept %s" % (sorted(slopes), sorted(intercepts)),
    }
    return DicomSeriesData(array=array, geometry=geometry, header=header, warnings=warnings)
