"""One assessment: load -> region of interest -> calcium scoring -> (radiomics -> classifier) -> Assessment.

``assess`` works on a loaded CT and region (the Slicer module calls it with arrays from nodes); ``assess_case`` reads
them from disk or builds the region with TotalSegmentator (the CLI and batch runs). Both return the same
``Assessment``, which also carries the CT volume and region for writers that need voxels (segmentation files, report
pictures).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Callable, Dict, Optional

import numpy as np

from .io.ct import CTVolume, count_nonfinite, load_ct
from .errors import InputError
from .result import Assessment, RegionSummary
from .review.model import ct_sha256
from .region.mask import LabelSpec, RegionOfInterest, load_region
from .scoring.agatston import ScoringSettings, score
from .progress import Progress, silent

if TYPE_CHECKING:  # pragma: no cover
    from .region.totalseg_region import TotalSegRegionSettings

Classify = Callable[[CTVolume, RegionOfInterest, Assessment], None]


def assess(
    ct: CTVolume,
    region: RegionOfInterest,
    settings: Optional[ScoringSettings] = None,
    case_id: str = "case",
    progress: Progress = silent,
    classify: Optional[Classify] = None,
) -> Assessment:
    """Score an already loaded CT in a region on its grid; ``classify`` (features + model) may add its verdict."""
    fingerprint = ct_sha256(ct)
    ct = finite_ct(ct, region)
    progress(0.6, "scoring calcium")
    calcium = score(ct, region, settings)
    assessment = Assessment(
        case_id=case_id,
        ct=ct.metadata,
        score=calcium,
        region=RegionSummary.of(region),
        ct_volume=ct,
        region_of_interest=region,
        ct_sha256=fingerprint,
    )
    if classify is not None:
        progress(0.75, "radiomics and classifier")
        classify(ct, region, assessment)
    progress(1.0, "done")
    return assessment


def finite_ct(ct: CTVolume, region: RegionOfInterest) -> CTVolume:
    """``ct`` when every voxel is finite; refused (InputError) when a NaN or infinite voxel lies in the region; else a
    copy with those voxels set to -1024 HU (air: below every threshold and outside the blood-pool reference)."""
    if not count_nonfinite(ct.array):
        return ct
    if region.labels.shape == ct.array.shape:
        inside = count_nonfinite(ct.array[region.labels != 0])
        if inside:
            raise InputError("%d voxel(s) inside the region of interest of %s are NaN or infinite: their HU is unknown, "
                             "so no score can be given" % (inside, ct.metadata.source or "the CT"))
    array = np.where(np.isfinite(ct.array), ct.array, np.float32(-1024)).astype(ct.array.dtype)
    return dataclasses.replace(ct, array=array)


def assess_case(
    image_path: str,
    mask_path: Optional[str],
    settings: Optional[ScoringSettings] = None,
    labels: LabelSpec = None,
    series_uid: Optional[str] = None,
    case_id: Optional[str] = None,
    progress: Progress = silent,
    classify: Optional[Classify] = None,
    totalseg: Optional["TotalSegRegionSettings"] = None,
) -> Assessment:
    """Load a CT and assess it (the Assessment keeps the CT and region for writers that need voxels). The region is
    the mask file or, with ``totalseg`` settings and no mask, built by TotalSegmentator."""
    progress(0.0, "loading CT")
    ct = load_ct(image_path, series_uid=series_uid)
    region = load_case_region(ct, mask_path, labels, totalseg, progress)
    assessment = assess(ct, region, settings, case_id=case_id or case_name(image_path), progress=progress,
                        classify=classify)
    assessment.input_names = input_names(image_path, mask_path)
    return assessment


def input_names(image_path: str, mask_path: Optional[str]) -> Dict[str, str]:
    """{name: placeholder} for the file and folder names of a case's inputs (and the case name made from the image's),
    which outputs leave out unless they may carry identifying data."""
    names: Dict[str, str] = {case_name(image_path): "case"}
    for path, placeholder in ((image_path, "<image>"), (mask_path, "<mask>")):
        if path:
            for name in (path, os.path.abspath(path), os.path.basename(os.path.normpath(path))):
                names[name] = placeholder
    return names


def load_case_region(ct: CTVolume, mask_path: Optional[str], labels: LabelSpec = None,
                     totalseg: Optional["TotalSegRegionSettings"] = None, progress: Progress = silent
                     ) -> RegionOfInterest:
    """The region of interest of a case: its mask file, else TotalSegmentator's region (``totalseg``)."""
    if mask_path:
        progress(0.1, "loading region of interest")
        return load_region(mask_path, ct, labels)
    if totalseg is None:
        raise InputError("no region of interest: give a mask or a TotalSegmentator region (--region heart|coronary)")
    from .region.totalseg_region import build_region

    return build_region(ct, totalseg, progress=lambda fraction, message: progress(0.1 + 0.45 * fraction, message)
                        ).region


def case_name(path: str) -> str:
    """A readable case name from a file or folder path (file name without image suffixes)."""
    name = os.path.basename(os.path.normpath(path))
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
