"""Recomputing an assessment's scores from its automatic lesions and a reader's edits.

Nothing is scored twice by other rules: counted lesions keep the Agatston, volume, mass and integrated mass the
scoring stage gave them, an added lesion is scored by ``scoring.agatston.score`` on the >= threshold 26-connected
component at its seed point (whether or not it lies in the region of interest), and the per-artery scores, totals
and classic / CAC-DRS categories come from ``scoring.agatston.per_artery_scores`` and ``scoring.categories``. The
region and the classifier are not re-run. Edits are replayed in order from the automatic result every time, so undo
is dropping an edit. A bad edit raises InputError and changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

import numpy as np

from .edits import Edit
from .._lazy import lazy_module
from ..errors import InputError
from ..io.ct import CTVolume
from ..region.arteries import ARTERIES, UNASSIGNED
from ..region.mask import RegionOfInterest, bounding_box
from ..scoring.agatston import CalciumScore, Lesion, ScoringSettings, per_artery_scores, score
from ..scoring.categories import categorise

ADD_REACH_MM = 60.0  # an added lesion's calcium must lie within this of its seed point (else: bone, aorta)
ndimage = lazy_module("scipy.ndimage")  # loaded when a lesion is added, not when result imports Review

READER_EXCLUSION_PREFIX = "reader: "  # Lesion.excluded of a lesion the reader excluded, before the reason

REVIEW_WARNING_PREFIXES = ("some calcium lies outside the per-artery labels",)


@dataclass
class Review:
    """The automatic score, the edits made on it, and the SHA-256 of the CT they were made on (``ct_sha256``)."""

    automatic: CalciumScore
    edits: List[Edit] = field(default_factory=list)
    ct_sha256: Optional[str] = None

    @property
    def reviewed(self) -> bool:
        return bool(self.edits)

    def readers(self) -> List[str]:
        return sorted({edit.reader for edit in self.edits if edit.reader})

    def last_time(self) -> Optional[str]:
        return max((edit.time for edit in self.edits), default=None)

    def to_dict(self) -> Dict[str, object]:
        automatic = self.automatic.to_dict()
        return {"readers": self.readers(), "last_edit": self.last_time(),
                "edits": [edit.to_dict() for edit in self.edits],
                "automatic": {key: automatic[key] for key in ("agatston", "volume_mm3", "mass_mg",
                                                              "integrated_mass_mg", "category", "per_artery",
                                                              "lesions", "excluded_lesions", "warnings")}}


def ct_sha256(ct: CTVolume) -> str:
    """SHA-256 of a CT's HU voxels (as stored), their shape and dtype, and its geometry: a review is refused on any
    other CT."""
    digest = hashlib.sha256()
    array = np.ascontiguousarray(ct.array)
    digest.update(("%s %s|" % (array.dtype.str, array.shape)).encode())
    geometry = ct.geometry
    digest.update(np.asarray(tuple(geometry.spacing) + tuple(geometry.origin) + tuple(geometry.direction),
                             dtype=np.float64).round(6).tobytes())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def reader_exclusion(excluded: Optional[str]) -> Optional[str]:
    """The reason a reader excluded a lesion for, from its ``Lesion.excluded``; None when the lesion is counted or a
    lesion filter left it out."""
    if excluded and excluded.startswith(READER_EXCLUSION_PREFIX):
        return excluded[len(READER_EXCLUSION_PREFIX):]
    return None


def apply_edits(automatic: CalciumScore, edits: List[Edit], ct: Optional[CTVolume] = None,
                settings: Optional[ScoringSettings] = None) -> CalciumScore:
    """The reviewed score: ``automatic`` with ``edits`` applied in order (each validated against the state the edits
    before it left). ``ct`` and ``settings`` are needed only to add lesions. ``automatic`` is not changed; an add
    edit's ``lesion`` is set to the id it got."""
    lesions: Dict[int, Lesion] = {l.id: copy.copy(l) for l in automatic.lesions + automatic.excluded_lesions}
    labels = None  # full-grid lesion ids, made when an add needs them
    absorbed: Dict[int, int] = {}  # excluded lesion id -> the added lesion that took its voxels
    for edit in edits:
        edit.validate()
        if edit.action == "add":
            if labels is None:
                labels = automatic.lesion_label_volume()
            labels = _add(lesions, labels, absorbed, edit, ct, settings, automatic)
            continue
        lesion = lesions.get(edit.lesion)
        if lesion is None:
            raise InputError("no lesion %d in this case (lesion ids are 1-%d)" % (edit.lesion, len(lesions))
                             if lesions else "no lesion %d: this case has no lesions" % edit.lesion)
        if edit.action == "artery":
            lesion.artery = edit.artery
        elif edit.action == "exclude":
            if lesion.excluded is not None:
                raise InputError("lesion %d is already excluded (%s)" % (lesion.id, lesion.excluded))
            lesion.excluded = READER_EXCLUSION_PREFIX + edit.reason
        elif lesion.excluded is None:
            raise InputError("lesion %d is counted already: only an excluded lesion can be included" % lesion.id)
        elif lesion.id in absorbed:
            raise InputError("lesion %d is part of added lesion %d now: exclude that one first"
                             % (lesion.id, absorbed[lesion.id]))
        else:
            lesion.excluded = None
    return _rescored(automatic, lesions, labels)


def _rescored(automatic: CalciumScore, lesions: Dict[int, Lesion], labels: Optional[np.ndarray]) -> CalciumScore:
    ordered = [lesions[key] for key in sorted(lesions)]
    counted = [l for l in ordered if l.excluded is None]
    excluded = [l for l in ordered if l.excluded is not None]
    with_mass = automatic.mass_mg is not None
    per_artery = per_artery_scores(counted, with_mass)
    integrated = automatic.integrated_mass_mg is not None
    for entry in per_artery.values():
        entry.integrated_mass_mg = 0.0 if integrated else None
    for lesion in counted:
        if integrated and lesion.integrated_mass_mg is not None:
            per_artery[lesion.artery].integrated_mass_mg += lesion.integrated_mass_mg
    warnings = [w for w in automatic.warnings if not w.startswith(REVIEW_WARNING_PREFIXES)]
    vessels_known = any(l.artery in ARTERIES for l in counted) or (
        automatic.category.cac_drs_vessels is not None and automatic.category.cac_drs_agatston != "A0")
    vessels = sum(1 for name in ARTERIES if per_artery[name].agatston > 0) if vessels_known else None
    if vessels_known and per_artery[UNASSIGNED].agatston > 0:
        warnings.append(REVIEW_WARNING_PREFIXES[0] + " (unassigned); CAC-DRS N counts labelled vessels only")
    total = float(sum(l.agatston for l in counted))
    box, lesion_labels = automatic.bounding_box, automatic.lesion_labels
    if labels is not None:
        box = bounding_box(labels)
        lesion_labels = labels[box] if box is not None else None
    return replace(
        automatic,
        agatston=total,
        volume_mm3=float(sum(l.volume_mm3 for l in counted)),
        mass_mg=float(sum(l.mass_mg for l in counted)) if with_mass else None,
        integrated_mass_mg=(float(sum(e.integrated_mass_mg for e in per_artery.values())) if integrated else None),
        per_artery=per_artery,
        lesions=counted,
        excluded_lesions=excluded,
        category=categorise(total, vessels),
        warnings=warnings,
        lesion_labels=lesion_labels,
        bounding_box=box,
    )


def _add(lesions: Dict[int, Lesion], labels: np.ndarray, absorbed: Dict[int, int], edit: Edit,
         ct: Optional[CTVolume], settings: Optional[ScoringSettings], automatic: CalciumScore) -> np.ndarray:
    """Score the calcium at ``edit``'s point and add it as new lesion(s); returns the updated full-grid label map."""
    if ct is None or settings is None:
        raise InputError("adding a lesion needs the case's CT (not available)")
    if tuple(ct.array.shape) != tuple(automatic.ct_shape):
        raise InputError("the CT (%s voxels) is not the one this case was scored on (%s)"
                         % (ct.array.shape, automatic.ct_shape))
    point = edit.point_lps_mm
    index = tuple(int(round(v)) for v in ct.geometry.lps_to_index(point))
    if any(not 0 <= i < n for i, n in zip(index, ct.array.shape)):
        raise InputError("point (%.1f, %.1f, %.1f) LPS mm lies outside the CT" % tuple(point))
    threshold = float(automatic.settings["threshold_hu"])
    if float(ct.array[index]) < threshold:
        raise InputError("no calcium at (%.1f, %.1f, %.1f) LPS mm: %.0f HU there, below the %.0f HU threshold"
                         % (tuple(point) + (float(ct.array[index]), threshold)))
    owner = int(labels[index])
    if owner and lesions[owner].excluded is None:
        raise InputError("the point lies in lesion %d: set its artery instead of adding it" % owner)
    reach = [max(1, int(np.ceil(ADD_REACH_MM / s))) for s in (ct.geometry.spacing[2], ct.geometry.spacing[1],
                                                              ct.geometry.spacing[0])]
    box = tuple(slice(max(0, i - r), min(n, i + r + 1)) for i, r, n in zip(index, reach, ct.array.shape))
    bright = ct.array[box] >= threshold
    components, _ = ndimage.label(bright, structure=np.ones((3, 3, 3), dtype=bool))
    local = tuple(i - b.start for i, b in zip(index, box))
    component = components == components[local]
    shape = ct.array.shape
    if any((component.take(0, axis=axis).any() and box[axis].start > 0)
           or (component.take(-1, axis=axis).any() and box[axis].stop < shape[axis]) for axis in range(3)):
        raise InputError("the calcium at (%.1f, %.1f, %.1f) LPS mm reaches further than %.0f mm: bone or aorta, not a "
                         "lesion to add" % (tuple(point) + (ADD_REACH_MM,)))
    region_labels = np.zeros(ct.array.shape, dtype=np.uint8)
    region_labels[box][component] = 1
    artery = edit.artery or UNASSIGNED
    region = RegionOfInterest(labels=region_labels, names={1: artery}, source="reader seed point")
    scored = score(ct, region, replace(settings, lesion_filters="off", allow_contrast=True))
    if not scored.lesions:
        raise InputError("the calcium at (%.1f, %.1f, %.1f) LPS mm is smaller than the minimum area: nothing to add"
                         % tuple(point))
    new_labels = scored.lesion_label_volume()
    taken = labels[new_labels > 0]
    counted_overlap = sorted({int(i) for i in np.unique(taken) if i and lesions[int(i)].excluded is None})
    if counted_overlap:
        raise InputError("the calcium at the point is part of counted lesion(s) %s that the region cut: exclude "
                         "them first, then add" % ", ".join(map(str, counted_overlap)))
    first_id = max(lesions, default=0) + 1
    labels = labels.copy()
    for offset, lesion in enumerate(scored.lesions):
        new_id = first_id + offset
        for old in np.unique(labels[new_labels == lesion.id]):
            if old:
                absorbed[int(old)] = new_id
        labels[new_labels == lesion.id] = new_id
        lesions[new_id] = replace(lesion, id=new_id, artery=artery, excluded=None)
    edit.lesion = first_id
    return labels
