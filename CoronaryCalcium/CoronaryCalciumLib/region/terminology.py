"""Standard terminology (SNOMED CT codes) for the segments this project writes.

One table serves the .seg.nrrd files of the core and the segmentation nodes of the Slicer module. The anatomy (arteries,
heart) is in Slicer's DICOM master lists. "Pathologic calcification" (SCT 18115005) is in none of Slicer's lists: the
calcium segments name the extension's own terminology context (CALCIUM_TERMINOLOGY_CONTEXT, shipped as
``Resources/Terminologies/*.term.json`` and loaded by the Slicer module), with the DICOM master list's anatomic codes.
"""

from __future__ import annotations

from typing import Optional, Tuple

Code = Tuple[str, str]

ARTERY_CODES = {
    "LM": ("3227004", "Left Main Coronary Artery"),
    "LAD": ("59438005", "Left Anterior Descending Coronary Artery"),
    "LCX": ("57396003", "Circumflex Coronary Artery"),
    "RCA": ("13647002", "Right Coronary Artery"),
    "unassigned": ("41801008", "Coronary artery"),
}
HEART_CODE: Code = ("80891009", "Heart")
ANATOMICAL_STRUCTURE: Code = ("123037004", "Anatomical Structure")
MORPHOLOGICALLY_ALTERED_STRUCTURE: Code = ("49755003", "Morphologically Altered Structure")
CALCIFICATION: Code = ("18115005", "Pathologic calcification")
TERMINOLOGY_CONTEXT = "Segmentation category and type - DICOM master list"
CALCIUM_TERMINOLOGY_CONTEXT = "Segmentation category and type - Coronary calcium"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"


def terminology_entry(category: Code, property_type: Code, region: Optional[Code] = None,
                      context: str = TERMINOLOGY_CONTEXT) -> str:
    """Slicer's serialised terminology entry (context~category~type~modifier~anatomic context~region~modifier)."""

    def code(pair: Optional[Code]) -> str:
        return "SCT^%s^%s" % pair if pair else "^^"

    return "~".join([context, code(category), code(property_type), "^^", ANATOMIC_CONTEXT, code(region),
                     "^^"])


def region_terminology(artery: str, heart: bool = False) -> str:
    """Anatomical structure: an artery (LM/LAD/LCX/RCA), the coronary tree ('unassigned') or the heart."""
    return terminology_entry(ANATOMICAL_STRUCTURE, HEART_CODE if heart else ARTERY_CODES[artery])


def calcium_terminology(artery: str) -> str:
    """Pathologic calcification located in an artery (the coronary tree for unassigned calcium)."""
    return terminology_entry(MORPHOLOGICALLY_ALTERED_STRUCTURE, CALCIFICATION, ARTERY_CODES[artery],
                             context=CALCIUM_TERMINOLOGY_CONTEXT)
