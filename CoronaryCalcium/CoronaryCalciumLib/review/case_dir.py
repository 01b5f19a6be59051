"""Reviewing a case folder written by ``assess``: read its result, CT (checked against the stored SHA-256), region
and lesion map, apply the reader's edits, and rewrite the reviewed files atomically, keeping the automatic ones in
``automatic/`` beside them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Callable, List, Optional

import numpy as np

from .edits import Edit
from .model import ct_sha256
from ..errors import InputError
from ..io.ct import CTVolume, load_ct, read_image_file
from ..region.mask import RegionOfInterest, bounding_box, load_region
from ..reporting.case_files import REVIEWED_FILES, write_case_outputs
from ..result import Assessment
from ..scoring.agatston import ScoringSettings, scoring_settings

AUTOMATIC_FOLDER = "automatic"


def read_case(case_dir: str, image: Optional[str] = None) -> Assessment:
    """The Assessment of a case folder with its CT, region and lesion map; refuses a CT that is gone or changed."""
    path = os.path.join(case_dir, "result.json")
    if not os.path.isfile(path):
        raise InputError("%s is not a case folder: it has no result.json" % case_dir)
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except ValueError as error:
        raise InputError("%s is not valid JSON: %s" % (path, error))
    case = Assessment.from_dict(data)
    if not case.ct_sha256:
        raise InputError("%s predates review (no CT hash): assess the case again to review it" % path)
    source = image or (data.get("input") or {}).get("source")
    if not source or not os.path.exists(source):
        raise InputError("the CT of %s is gone%s: give it with --image PATH"
                         % (case_dir, " (%s)" % source if source else " (its path is not in the result)"))
    ct = load_ct(source)
    ids_path = os.path.join(case_dir, "lesion_ids.nrrd")
    if not os.path.isfile(ids_path):
        raise InputError("%s has no lesion_ids.nrrd: assess the case again to review it" % case_dir)
    import SimpleITK as sitk

    labels = sitk.GetArrayFromImage(read_image_file(ids_path, "lesion map"))
    return with_voxels(case, ct, lambda: load_region(os.path.join(case_dir, "region.seg.nrrd"), ct), labels,
                       "the CT at %s" % source, case_dir)


def with_voxels(case: Assessment, ct: CTVolume, region: Callable[[], RegionOfInterest], labels: Optional[np.ndarray],
                ct_name: str, case_name: str) -> Assessment:
    """``case`` (read from its JSON, no voxels) given its CT, region (made by ``region()`` once the CT is checked) and
    lesion-id map (full CT grid, z-y-x; ids above the automatic ones are added lesions), ready to be reviewed and
    written. Refuses a CT whose SHA-256 is not the stored one and a map that is missing or off the CT grid."""
    if ct_sha256(ct) != case.ct_sha256:
        raise InputError("%s is not the one %s was assessed on (its SHA-256 differs)" % (ct_name, case_name))
    if labels is None:
        raise InputError("%s has no lesion id map: assess the case again to review it" % case_name)
    if labels.shape != ct.array.shape:
        raise InputError("the lesion id map of %s is not on the CT grid" % case_name)
    labels = labels.astype(np.uint16)
    case.ct_volume = ct
    case.region_of_interest = region()
    automatic = case.automatic_score
    automatic_ids = max([l.id for l in automatic.lesions + automatic.excluded_lesions], default=0)
    for calcium, map_ in ((automatic, np.where(labels <= automatic_ids, labels, 0).astype(np.uint16)),
                          (case.score, labels)):
        box = bounding_box(map_)
        calcium.ct_shape = tuple(ct.array.shape)
        calcium.bounding_box = box if box is not None else (slice(0, 0),) * 3
        calcium.lesion_labels = map_[calcium.bounding_box]
    return case


def settings_of(case: Assessment) -> ScoringSettings:
    """The scoring settings the case was assessed with, from its result's ``settings``."""
    used = case.score.settings
    protocol = used.get("protocol") or {}
    return scoring_settings(threshold_hu=used["threshold_hu"], min_area_mm2=used["min_area_mm2"],
                            connectivity=used["connectivity_2d"], kvp=used.get("kvp"),
                            kvp_specific=used.get("kvp_specific", True),
                            calibration_factor=used.get("calibration_factor_mg_per_mm3_hu"),
                            allow_contrast=bool(used.get("allow_contrast")),
                            thin_slices=protocol.get("thin_slices", "auto"),
                            sharp_kernel=protocol.get("sharp_kernel", "auto"))


def review_case(case_dir: str, edits: List[Edit], image: Optional[str] = None, undo: int = 0) -> Assessment:
    """Add ``edits`` to the case's review (after dropping its last ``undo`` edits) and rewrite result.json,
    lesions.csv, calcium.seg.nrrd, lesion_ids.nrrd and report.html; on the first review the automatic ones are kept
    in ``automatic/``. A bad edit or input raises InputError and leaves the folder as it was."""
    case = read_case(case_dir, image)
    previous = list(case.review.edits) if case.review is not None else []
    if undo:
        if undo > len(previous):
            raise InputError("cannot undo %d edit(s): the case has %d" % (undo, len(previous)))
        previous = previous[:-undo]
    case.apply_review(previous + list(edits), settings_of(case))
    include_phi = bool(case.ct.source)
    work = tempfile.mkdtemp(prefix=".review-", dir=case_dir)
    try:
        write_case_outputs(work, case, include_phi=include_phi, names=REVIEWED_FILES)
        keep = os.path.join(case_dir, AUTOMATIC_FOLDER)
        if not os.path.isdir(keep):
            staged = tempfile.mkdtemp(prefix=".automatic-", dir=case_dir)
            for name in REVIEWED_FILES:
                if os.path.exists(os.path.join(case_dir, name)):
                    shutil.copy2(os.path.join(case_dir, name), staged)
            os.rename(staged, keep)
        for name in REVIEWED_FILES:
            os.replace(os.path.join(work, name), os.path.join(case_dir, name))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return case
