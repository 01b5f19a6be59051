"""Tiny synthetic CT volumes with exactly known calcium, for rule-by-rule tests."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from CoronaryCalciumLib.ct import CTMetadata, ct_from_array
from CoronaryCalciumLib.roi import region_from_array


def blank_ct(shape=(6, 40, 40), spacing=(0.5, 0.5, 3.0), background=40, kvp=120.0, thickness=None):
    """Soft tissue (``background`` HU) with an air border so the volume validates as CT in HU."""
    array = np.full(shape, background, dtype=np.int16)
    array[:, :2, :] = -1000
    meta = CTMetadata(source="synthetic", format="array", kvp=kvp, slice_thickness_mm=thickness or spacing[2],
                      slice_increment_mm=spacing[2])
    return array, meta


def as_ct(array, meta, spacing: Sequence[float]):
    return ct_from_array(array, spacing, metadata=meta)


def full_region(shape, label=1, names=None):
    labels = np.zeros(shape, dtype=np.uint8)
    labels[:, 2:, :] = label
    return region_from_array(labels, names)
