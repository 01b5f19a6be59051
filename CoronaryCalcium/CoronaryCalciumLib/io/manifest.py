"""The one manifest reader: a CSV with one row per case, paths relative to the CSV's folder, and the one case type.

Columns (case-insensitive; aliases in brackets), read as UTF-8 (a byte-order mark is allowed):
  case_id [id, case]                    optional; default see ``ids`` below
  image [ct, image_path, ct_path]       CT: DICOM folder, NIfTI, NRRD or MHA
  mask [roi, region, mask_path, coronary_mask, roi_path]   region of interest (coronary tree or heart)
  label [cac, nonzero, cac_nonzero]     optional binary label: 0/1, zero/non-zero, no/yes, false/true
  agatston [reference_agatston, agatston_score, reference_score, score]
                                        optional reference Agatston score: gives the binary label (> 0) and the
                                        classic risk category when no label/category column is given
  category [risk_category, classic_category]   optional classic category: none, minimal, mild, moderate, severe
  contrast [contrast_enhanced, enhanced] optional: yes/no (1/0, true/false, contrast/non-contrast); a blank cell or no
                                        column leaves it to the project's contrast detection (``scoring.contrast``)

Two callers, two ID rules: ``assess`` (``ids="pseudonym"``: an unnamed case gets ``case-`` + 12 hex digits of the
SHA-256 of its absolute image path, so no output names a patient; IDs are made safe as folder names) and ``train`` /
``evaluate`` (``ids="stem"``: the image's file name without its extension, readable in reports). Labels and contrast
are parsed only with ``labelled=True``, so a batch manifest's extra columns never stop an assessment.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ..errors import InputError
from .integrity import read_csv_rows

COLUMN_ALIASES = {
    "case_id": ("case_id", "id", "case"),
    "image": ("image", "ct", "image_path", "ct_path"),
    "mask": ("mask", "roi", "region", "mask_path", "coronary_mask", "roi_path"),
    "label": ("label", "cac", "nonzero", "cac_nonzero"),
    "agatston": ("agatston", "reference_agatston", "agatston_score", "reference_score", "score"),
    "category": ("category", "risk_category", "classic_category"),
    "contrast": ("contrast", "contrast_enhanced", "enhanced"),
}
BINARY_WORDS = {"0": "zero", "1": "non-zero", "zero": "zero", "non-zero": "non-zero", "nonzero": "non-zero",
                "no": "zero", "yes": "non-zero", "false": "zero", "true": "non-zero", "negative": "zero",
                "positive": "non-zero"}
CONTRAST_WORDS = {"yes": True, "y": True, "1": True, "true": True, "contrast": True, "enhanced": True,
                  "no": False, "n": False, "0": False, "false": False, "non-contrast": False, "noncontrast": False,
                  "unenhanced": False, "native": False}
IMAGE_STEM_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd")


@dataclass
class ManifestCase:
    """One case: its ID, CT path (file or DICOM folder), optional mask and DICOM series, and whatever labels and
    contrast status the manifest gives (``contrast`` None: not stated; ``contrast_source`` says who decided)."""

    case_id: str
    image: str
    mask: Optional[str] = None
    series_uid: Optional[str] = None
    label: Optional[str] = None
    agatston: Optional[float] = None
    category: Optional[str] = None
    contrast: Optional[bool] = None
    contrast_source: str = ""
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


def pseudonym(key: str) -> str:
    """``case-`` + 12 hex digits of SHA-256 of ``key`` (a SeriesInstanceUID or an absolute path)."""
    # surrogateescape: a path whose name is not UTF-8 hashes its own bytes (a UTF-8 path hashes as before)
    return "case-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def safe_id(case_id: str) -> str:
    """``case_id`` usable as a folder name (characters other than letters, digits, ``-_.`` become ``_``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id).strip(".")
    if not safe:
        raise InputError("case ID '%s' has no usable characters" % case_id)
    return safe


def image_stem(path: str) -> str:
    """The file or folder name of an image without its image extension."""
    name = os.path.basename(os.path.normpath(path))
    for suffix in IMAGE_STEM_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_manifest(path: str, ids: str = "stem", require_mask: bool = True,
                  labelled: bool = True) -> List[ManifestCase]:
    """Parse a manifest CSV; raises InputError naming the row and column of anything unusable.

    ``ids``: "stem" (unnamed case: the image's file stem) or "pseudonym" (unnamed case: a hash; IDs made folder-safe).
    """
    if not os.path.exists(path):
        raise InputError("manifest not found: %s" % path)
    folder = os.path.dirname(os.path.abspath(path))
    fieldnames, rows = read_csv_rows(path)
    if not fieldnames:
        raise InputError("manifest %s is empty" % path)
    columns = _resolve_columns(fieldnames, path, ("image", "mask") if require_mask else ("image",))
    cases: List[ManifestCase] = []
    seen = set()
    for number, row in enumerate(rows, start=2):
        value = {key: (row.get(column) or "").strip() for key, column in columns.items()}
        if not any(value.values()):
            continue
        if not value.get("image") or (require_mask and not value.get("mask")):
            raise InputError("manifest %s row %d: %s required" % (path, number, "image and mask are" if require_mask
                                                                   else "an image is"))
        image = _absolute(value["image"], folder)
        case_id = value.get("case_id") or (image_stem(image) if ids == "stem" else pseudonym(os.path.abspath(image)))
        if ids == "pseudonym":
            case_id = safe_id(case_id)
        if case_id in seen:
            raise InputError("manifest %s row %d: case_id %s appears twice" % (path, number, case_id))
        seen.add(case_id)
        case = ManifestCase(case_id=case_id, image=image,
                            mask=_absolute(value["mask"], folder) if value.get("mask") else None, row=number)
        if labelled:
            _parse_labels(case, value, "manifest %s row %d" % (path, number))
        cases.append(case)
    if not cases:
        raise InputError("manifest %s lists no cases" % path)
    return cases


def _parse_labels(case: ManifestCase, value: Dict[str, str], where: str) -> None:
    from ..scoring.categories import CLASSIC_CODES

    if value.get("label"):
        word = value["label"].lower()
        if word not in BINARY_WORDS:
            raise InputError("%s: label '%s' is not 0/1, zero/non-zero, no/yes" % (where, value["label"]))
        case.label = BINARY_WORDS[word]
    if value.get("agatston"):
        try:
            case.agatston = float(value["agatston"])
        except ValueError:
            raise InputError("%s: Agatston score '%s' is not a number" % (where, value["agatston"])) from None
        if case.agatston < 0:
            raise InputError("%s: negative Agatston score %s" % (where, value["agatston"]))
    if value.get("category"):
        category = value["category"].lower()
        if category not in CLASSIC_CODES:
            raise InputError("%s: category '%s' is not one of %s" % (where, value["category"], ", ".join(CLASSIC_CODES)))
        case.category = category
    if value.get("contrast"):
        word = value["contrast"].lower()
        if word not in CONTRAST_WORDS:
            raise InputError("%s: contrast '%s' is not yes/no (or 1/0, contrast/non-contrast)" % (where, value["contrast"]))
        case.contrast = CONTRAST_WORDS[word]
        case.contrast_source = "manifest"


def _resolve_columns(fieldnames: Sequence[str], path: str, required: Sequence[str]) -> Dict[str, str]:
    lower = {name.strip().lower(): name for name in fieldnames if name}
    columns: Dict[str, str] = {}
    for key, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in lower:
                columns[key] = lower[alias]
                break
    for name in required:
        if name not in columns:
            raise InputError("manifest %s has no %s column (columns: %s)" % (path, name, ", ".join(fieldnames)))
    return columns


def _absolute(value: str, folder: str) -> str:
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(folder, value))
