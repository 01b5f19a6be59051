"""The coronary-artery vocabulary, in one place: names, the order of per-artery tables, default label numbers, display
colours and long names, and the rule that reads an artery from a segment or label name."""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

ARTERIES = ("LM", "LAD", "LCX", "RCA")
UNASSIGNED = "unassigned"
ARTERIES_AND_UNASSIGNED = ARTERIES + (UNASSIGNED,)  # the order of every per-artery table
DEFAULT_LABELS: Dict[int, str] = {1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"}
# Display colours (RGB, 0-1) shared by reports, segmentation files and the Slicer module.
ARTERY_COLORS: Dict[str, Tuple[float, float, float]] = {
    "LM": (1.0, 0.84, 0.0),
    "LAD": (0.90, 0.10, 0.10),
    "LCX": (0.10, 0.70, 0.25),
    "RCA": (0.15, 0.45, 1.0),
    UNASSIGNED: (0.80, 0.30, 0.90),
}

_ARTERY_PATTERNS = (
    ("LM", r"\b(lm|lmca|left[ _-]*main)\b"),
    ("LAD", r"\b(lad|left[ _-]*anterior[ _-]*descending)\b"),
    ("LCX", r"\b(lcx|cx|circumflex)\b"),
    ("RCA", r"\b(rca|right[ _-]*coronary)\b"),
)

# long names, as segment names in Slicer
ARTERY_LONG_NAMES = {
    "LM": "Left main coronary artery",
    "LAD": "Left anterior descending coronary artery",
    "LCX": "Circumflex coronary artery",
    "RCA": "Right coronary artery",
    "unassigned": "Coronary artery",
}


def artery_for_name(name: str) -> Optional[str]:
    """LM/LAD/LCX/RCA for a segment or label name such as 'Left anterior descending artery', else None."""
    text = name.strip().lower().replace("_", " ")
    for artery, pattern in _ARTERY_PATTERNS:
        if re.search(pattern, text):
            return artery
    return None
