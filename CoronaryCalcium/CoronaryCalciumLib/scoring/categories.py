"""Risk categories from the unrounded Agatston score: classic bands and CAC-DRS 2018 (Hecht et al., JCCT 2018)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Optional

CLASSIC_BANDS = (
    (0.0, "0", "none"),
    (10.0, "1-10", "minimal"),
    (100.0, "11-100", "mild"),
    (400.0, "101-400", "moderate"),
)
CLASSIC_CODES = ("none", "minimal", "mild", "moderate", "severe")
CAC_DRS_CODES = ("A0", "A1", "A2", "A3")


@dataclass
class Category:
    """Classic band and CAC-DRS grade. ``cac_drs_vessels`` (N) is None when calcium could not be attributed to vessels."""

    classic: str
    classic_range: str
    cac_drs: str
    cac_drs_agatston: str
    cac_drs_vessels: Optional[int]

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def classic_category(agatston: float):
    """('minimal', '1-10') etc. Bands are (0], (0, 10], (10, 100], (100, 400], above 400 on the unrounded score."""
    for upper, label, name in CLASSIC_BANDS:
        if agatston <= upper:
            return name, label
    return "severe", ">400"


def cac_drs_grade(agatston: float) -> str:
    """A0 = 0, A1 = 1-99, A2 = 100-299, A3 >= 300 (unrounded: 99.6 is A1)."""
    if agatston <= 0:
        return "A0"
    if agatston < 100:
        return "A1"
    if agatston < 300:
        return "A2"
    return "A3"


def categorise(agatston: float, vessels_with_calcium: Optional[int]) -> Category:
    """Both schemes for a total Agatston score and the number (0-4) of LM/LAD/LCX/RCA with calcium (None: unknown)."""
    name, band = classic_category(agatston)
    grade = cac_drs_grade(agatston)
    if grade == "A0":
        text = "CAC-DRS A0"
    elif vessels_with_calcium is None:
        text = "CAC-DRS %s" % grade
    else:
        text = "CAC-DRS %s/N%d" % (grade, vessels_with_calcium)
    return Category(classic=name, classic_range=band, cac_drs=text, cac_drs_agatston=grade,
                    cac_drs_vessels=vessels_with_calcium if grade != "A0" else 0)
