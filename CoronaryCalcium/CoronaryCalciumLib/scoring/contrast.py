"""Detecting contrast enhancement, which makes the 130 HU calcium threshold fire on blood.

Evidence is either the DICOM header (a contrast agent recorded) or the image: the median of the non-fat voxels (above
-30 HU) in the blood-pool reference (heart or aorta when known, else the box around the region of interest grown by 10 mm, which
holds the heart and great vessels around coronaries, and keeps a tight region around a calcification from looking
enhanced) above 120 HU. Unenhanced
blood and myocardium measure 30-60 HU; enhanced blood 150-500 HU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from ..io.ct import CTVolume
from ..region.mask import RegionOfInterest, bounding_box

ENHANCED_MEDIAN_HU = 120.0
SOFT_TISSUE_FLOOR_HU = -30.0
MIN_REFERENCE_VOXELS = 50
SURROUNDINGS_MM = 10.0


@dataclass
class ContrastCheck:
    """Outcome of the contrast check; ``median_hu`` is the non-fat median of the reference region (HU)."""

    enhanced: bool
    evidence: List[str] = field(default_factory=list)
    median_hu: Optional[float] = None
    reference: str = ""

    def reason(self) -> str:
        return "; ".join(self.evidence)


def check_contrast(ct: CTVolume, region: RegionOfInterest) -> ContrastCheck:
    """Look for contrast enhancement in the header and in the blood-pool reference of ``region``."""
    evidence: List[str] = []
    if ct.metadata.contrast_agent:
        evidence.append("DICOM header records contrast agent '%s'" % ct.metadata.contrast_agent)
    if region.blood_pool is not None:
        reference_name = "blood pool (heart/aorta)"
        median = _non_fat_median(ct.array, region.blood_pool)
    else:
        reference_name = "surroundings of the region of interest"
        median = _surroundings_median(ct, region.labels)
    if median is not None and median > ENHANCED_MEDIAN_HU:
        evidence.append(
            "median of non-fat voxels in the %s is %.0f HU (unenhanced blood is 30-60 HU; limit %.0f)"
            % (reference_name, median, ENHANCED_MEDIAN_HU)
        )
    return ContrastCheck(enhanced=bool(evidence), evidence=evidence, median_hu=median, reference=reference_name)


def _non_fat_median(array: np.ndarray, reference: np.ndarray) -> Optional[float]:
    box = bounding_box(reference)
    if box is None:
        return None
    return _median_above_floor(array[box][reference[box] > 0])


def _surroundings_median(ct: CTVolume, labels: np.ndarray) -> Optional[float]:
    box = bounding_box(labels)
    if box is None:
        return None
    margins = [int(np.ceil(SURROUNDINGS_MM / s)) for s in ct.geometry.spacing[::-1]]
    grown = tuple(slice(max(0, b.start - m), min(n, b.stop + m)) for b, m, n in zip(box, margins, labels.shape))
    return _median_above_floor(ct.array[grown])


def _median_above_floor(values: np.ndarray) -> Optional[float]:
    values = values[values > SOFT_TISSUE_FLOOR_HU]
    if values.size < MIN_REFERENCE_VOXELS:
        return None
    return float(np.median(values))
