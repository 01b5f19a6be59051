"""The one result type, ``Assessment``, that flows to the Slicer panel, the CLI and the reports; and its JSON form.

JSON schema (``schema_version`` 3), top-level keys:
  schema_version, software {name, version}, case_id,
  agatston, volume_mm3, mass_mg (null without calibration), integrated_mass_mg (null without calibration),
  category {classic, classic_range, cac_drs, cac_drs_agatston, cac_drs_vessels, reliable}, per_artery {LM, LAD, LCX,
  RCA, unassigned: {agatston, volume_mm3, mass_mg, integrated_mass_mg, lesion_count}}, lesions [{id, artery, agatston,
  volume_mm3, mass_mg, peak_hu, mean_hu, voxel_count, centroid_lps_mm, first_slice, last_slice,
  integrated_mass_mg}], excluded_lesions [the same, with ``excluded``: the reason a lesion filter left it out of every
  total], image_quality {noise_hu, noise_region, noise_voxels, blood_pool_hu, max_noise_hu, reasons, reliable},
  settings {...every setting used, protocol {...}, integrated_mass {...}...}, warnings [...],
  input {source, format, kvp, slice_thickness_mm, slice_increment_mm, manufacturer, ... (patient name/ID only on
  request)}, region {source, voxels, labels {value: artery}} (``RegionSummary``), classifier (null unless a model ran: see classifier.prediction.Prediction),
  classifier_not_run ({reason} when a classifier was asked for and could not run, else null),
  ct_sha256 (of the CT's voxels and geometry: review refuses another CT), reviewed (bool), review (null until a
  reader edited: {readers, last_edit, edits [{action, lesion, artery, reason, point_lps_mm, reader, time, note}],
  automatic {agatston, volume_mm3, mass_mg, integrated_mass_mg, category, per_artery, lesions, excluded_lesions,
  warnings}}). With a review the top-level scores, lesions and categories are the reviewed ones.
Units: HU, mm, mm2, mm3, mg. Version 2 added the integrated-intensity mass (``integrated_mass_mg`` and
``settings.integrated_mass``), ``excluded_lesions``, ``image_quality``, ``category.reliable`` and
``settings.protocol``; every version-1 key is unchanged. ``classifier_not_run`` was added within version 2 (files
without it still read: ``ClassifierNotRun.from_dict`` falls back on the warning line). Version 3 added ``ct_sha256``,
``reviewed`` and ``review``; ``Assessment.from_dict`` reads versions 1-3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence

from . import __version__
from .classifier.prediction import ClassifierNotRun, Prediction
from .errors import InputError
from .io.ct import CTMetadata
from .review.edits import Edit
from .review.model import Review, apply_edits
from .scoring.agatston import ArteryScore, CalciumScore, Lesion, ScoringSettings
from .scoring.categories import Category
from .scoring.image_quality import ImageQuality

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


@dataclass
class RegionSummary:
    """The region of interest an assessment used, as the result keeps it: where it came from, its size in voxels and
    its label values with the artery each stands for (LM, LAD, LCX, RCA, unassigned)."""

    source: str
    voxels: int
    labels: Dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, region: Any) -> "RegionSummary":
        """The summary of a ``region.mask.RegionOfInterest``."""
        return cls(source=region.source, voxels=region.voxel_count(), labels=dict(region.names))

    def to_dict(self) -> Dict[str, Any]:
        return {"source": self.source, "voxels": self.voxels,
                "labels": {str(value): name for value, name in sorted(self.labels.items())}}

    @classmethod
    def from_dict(cls, data: Optional[Dict[str, Any]]) -> Optional["RegionSummary"]:
        """The summary of a result's ``region`` key; None when the result has none (an empty object)."""
        if not data:
            return None
        return cls(source=str(data["source"]), voxels=int(data["voxels"]),
                   labels={int(value): str(name) for value, name in dict(data.get("labels") or {}).items()})


@dataclass
class Assessment:
    """A scored case: the CT it came from, the region used, the calcium score and (optionally) the classifier output:
    ``classifier`` when a model ran, ``classifier_not_run`` (why) when one was asked for and did not."""

    case_id: str
    ct: CTMetadata
    score: CalciumScore
    region: Optional[RegionSummary] = None
    classifier: Optional[Prediction] = None
    classifier_not_run: Optional[ClassifierNotRun] = None
    features: Optional[Dict[str, float]] = None
    extra_warnings: List[str] = field(default_factory=list)
    # the voxels it was computed on, for writers that need them (segmentation files, report pictures); not in the JSON
    ct_volume: Optional[Any] = field(default=None, repr=False, compare=False)  # io.ct.CTVolume
    region_of_interest: Optional[Any] = field(default=None, repr=False, compare=False)  # region.mask.RegionOfInterest
    # names of the input files and folders (they can identify a patient): {name: placeholder}, left out of the JSON
    # and reports unless include_phi
    input_names: Dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    ct_sha256: Optional[str] = None
    review: Optional[Review] = None  # the automatic score and the reader's edits (``score`` is then the reviewed one)

    @property
    def reviewed(self) -> bool:
        return self.review is not None and self.review.reviewed

    @property
    def automatic_score(self) -> CalciumScore:
        return self.review.automatic if self.review is not None else self.score

    def apply_review(self, edits: Sequence[Edit], settings: Optional[ScoringSettings] = None) -> None:
        """Replace the review by ``edits`` (all of them, in order; fewer than before is an undo) and recompute the
        score from the automatic one. Adding a lesion needs ``ct_volume`` and ``settings``. On a bad edit
        (InputError) nothing changes."""
        automatic = self.automatic_score
        reviewed = apply_edits(automatic, list(edits), self.ct_volume, settings)
        self.review = Review(automatic=automatic, edits=list(edits), ct_sha256=self.ct_sha256)
        self.score = reviewed

    @property
    def warnings(self) -> List[str]:
        return list(self.score.warnings) + list(self.extra_warnings)

    def to_dict(self, include_phi: bool = False) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "software": {"name": "CoronaryCalcium", "version": __version__},
            "case_id": self.case_id,
        }
        data.update(self.score.to_dict())
        data["warnings"] = self.warnings
        data["input"] = self.ct.to_dict(include_phi=include_phi)
        data["region"] = self.region.to_dict() if self.region is not None else {}
        data["classifier"] = _plain(self.classifier)
        data["classifier_not_run"] = _plain(self.classifier_not_run)
        data["ct_sha256"] = self.ct_sha256
        data["reviewed"] = self.reviewed
        data["review"] = self.review.to_dict() if self.review is not None else None
        return data if include_phi else _without_names(data, self.input_names)

    def redact(self, text: str) -> str:
        """``text`` with the input file and folder names replaced by placeholders."""
        return _without_names(text, self.input_names)

    def to_json(self, include_phi: bool = False) -> str:
        return json.dumps(self.to_dict(include_phi=include_phi), indent=2, default=_json_default)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Assessment":
        """An Assessment from its JSON form (schema 1-3); no voxels (``ct_volume``, lesion map) come with it."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version not in READABLE_VERSIONS:
            raise InputError("result schema version %r is not one this version reads (%s)"
                             % (version, ", ".join(map(str, READABLE_VERSIONS))))
        try:
            calcium = _score_from_dict(data)
            review = None
            if data.get("review"):
                automatic = _score_from_dict(dict(data, **data["review"]["automatic"]))
                review = Review(automatic=automatic, edits=[Edit.from_dict(e) for e in data["review"]["edits"]],
                                ct_sha256=data.get("ct_sha256"))
            return cls(case_id=str(data["case_id"]), ct=CTMetadata(**_known(CTMetadata, data.get("input") or {})),
                       score=calcium, region=RegionSummary.from_dict(data.get("region")),
                       classifier=Prediction.from_dict(data.get("classifier")),
                       classifier_not_run=ClassifierNotRun.from_dict(data), ct_sha256=data.get("ct_sha256"), review=review)
        except (KeyError, TypeError, ValueError) as error:
            raise InputError("result file is incomplete or damaged: %s %s" % (type(error).__name__, error))


def _known(kind, data: Dict[str, Any]) -> Dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {key: value for key, value in data.items() if key in names}


def _lesion(data: Dict[str, Any]) -> Lesion:
    values = _known(Lesion, data)
    values["centroid_lps_mm"] = tuple(values["centroid_lps_mm"])
    return Lesion(**values)


def _score_from_dict(data: Dict[str, Any]) -> CalciumScore:
    """A CalciumScore (without its lesion map) from the JSON keys of one."""
    quality = data.get("image_quality")
    return CalciumScore(
        agatston=float(data["agatston"]), volume_mm3=float(data["volume_mm3"]), mass_mg=data.get("mass_mg"),
        integrated_mass_mg=data.get("integrated_mass_mg"),
        per_artery={name: ArteryScore(**_known(ArteryScore, entry)) for name, entry in data["per_artery"].items()},
        lesions=[_lesion(l) for l in data["lesions"]],
        excluded_lesions=[_lesion(l) for l in data.get("excluded_lesions") or []],
        category=Category(**_known(Category, data["category"])), settings=dict(data.get("settings") or {}),
        warnings=list(data.get("warnings") or []),
        image_quality=ImageQuality(**_known(ImageQuality, quality)) if quality else None)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError("%r is not JSON serialisable" % (value,))


def _without_names(value: Any, names: Dict[str, str]) -> Any:
    """``value`` (strings, lists and dicts of them) with the names in ``names`` replaced by their placeholders: a string
    that is a name entirely, and names inside text when they hold a non-letter (a path, a file name with its
    extension; a plain word such as "heart" is left, it would replace ordinary text)."""
    if not names:
        return value
    if isinstance(value, str):
        if value in names:
            return names[value]
        for name in sorted(names, key=len, reverse=True):
            if not name.isalpha():
                value = value.replace(name, names[name])
        return value
    if isinstance(value, dict):
        return {key: _without_names(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_names(item, names) for item in value]
    return value
