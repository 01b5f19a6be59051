"""One assessment: load -> region of interest -> calcium scoring -> (radiomics -> classifier) -> Assessment."""

from __future__ import annotations

import os
from typing import Callable, Optional

from .ct import CTVolume, load_ct
from .result import Assessment
from .roi import LabelSpec, RegionOfInterest, load_region
from .scoring import ScoringSettings, score

Progress = Callable[[float, str], None]


def _silent(_fraction: float, _message: str) -> None:
    return None


def assess(
    ct: CTVolume,
    region: RegionOfInterest,
    settings: Optional[ScoringSettings] = None,
    case_id: str = "case",
    progress: Progress = _silent,
) -> Assessment:
    """Score an already loaded CT in a region of interest on its grid."""
    progress(0.5, "scoring calcium")
    calcium = score(ct, region, settings)
    progress(1.0, "done")
    return Assessment(
        case_id=case_id,
        ct=ct.metadata,
        score=calcium,
        region={
            "source": region.source,
            "voxels": region.voxel_count(),
            "labels": {str(k): v for k, v in sorted(region.names.items())},
        },
    )


def assess_files(
    image_path: str,
    mask_path: str,
    settings: Optional[ScoringSettings] = None,
    labels: LabelSpec = None,
    series_uid: Optional[str] = None,
    case_id: Optional[str] = None,
    progress: Progress = _silent,
) -> Assessment:
    """Load a CT and a mask from disk and assess them."""
    progress(0.0, "loading CT")
    ct = load_ct(image_path, series_uid=series_uid)
    progress(0.3, "loading region of interest")
    region = load_region(mask_path, ct, labels)
    return assess(ct, region, settings, case_id=case_id or _case_id(image_path), progress=progress)


def _case_id(path: str) -> str:
    name = os.path.basename(os.path.normpath(path))
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
