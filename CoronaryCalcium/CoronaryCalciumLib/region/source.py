"""Where the region of interest comes from: one name for the command line's ``--region`` and the Slicer panel.

A member's value is the command line's choice (``mask``, ``heart``, ``coronary``); its name is what a Slicer parameter
node stores (``CORONARY``, ``HEART``, ``SEGMENTATION``), so scenes saved before keep loading. ``MASK`` is another name of
``SEGMENTATION``: a mask file on the command line, segments of a segmentation in Slicer.
"""

from __future__ import annotations

import enum
from typing import Any, Dict, Tuple, Union


class RegionSource(enum.Enum):
    """Where the region of interest comes from. Iterates in the order the panel offers them."""

    CORONARY = "coronary"
    HEART = "heart"
    SEGMENTATION = "mask"
    MASK = "mask"  # the same member (an alias): the command line's name

    @classmethod
    def _missing_(cls, value: Any):
        """A member's name in any case also names it: ``RegionSource("segmentation")`` is SEGMENTATION."""
        if isinstance(value, str):
            return cls.__members__.get(value.strip().upper())
        return None

    @classmethod
    def of(cls, value: Union["RegionSource", str]) -> "RegionSource":
        """The member for a member, a command-line value or a member's name (any case); ValueError otherwise."""
        return value if isinstance(value, cls) else cls(value)

    @property
    def uses_totalsegmentator(self) -> bool:
        """True when TotalSegmentator builds the region (heart, coronary), False for a given mask or segmentation."""
        return self is not RegionSource.SEGMENTATION

    def label(self) -> str:
        """The choice as the panel shows it (English)."""
        return LABELS[self]


LABELS: Dict[RegionSource, str] = {
    RegionSource.CORONARY: "TotalSegmentator coronary arteries (licensed)",
    RegionSource.HEART: "TotalSegmentator heart (free)",
    RegionSource.SEGMENTATION: "Existing segmentation",
}
# the command line's --region choices, in the order its help lists them
CLI_CHOICES: Tuple[str, ...] = (RegionSource.MASK.value, RegionSource.HEART.value, RegionSource.CORONARY.value)
