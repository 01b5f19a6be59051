"""Ground truth of a phantom: every calcified object, and the reference scores computed with the project's own scoring
(``scoring.score``) on the noise-free image inside the lesion truth masks."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import numpy as np

from . import materials
from .calcium import CalciumObject
from ..region.arteries import ARTERIES

TRUTH_SCHEMA = "coronary-calcium-phantom-truth/1"
# Bumped whenever the same seed and settings would give different images (anatomy, physics or calcium changes), so
# cohorts and models made from phantoms can say which generator made them.
PHANTOM_REVISION = 1


@dataclass
class ReferenceScore:
    """Scores of the noise-free image in the lesion truth masks (Agatston, mm3, mg; mass with the exact calibration)."""

    agatston: float
    volume_mm3: float
    mass_mg: Optional[float]
    per_artery: Dict[str, Dict[str, float]]
    classic: str
    classic_range: str
    cac_drs: str
    lesion_count: int
    settings: Dict[str, object] = field(default_factory=dict)

    @property
    def label(self) -> int:
        """1 when the reference Agatston score is above zero (non-zero CAC), else 0."""
        return int(self.agatston > 0)


def reference_score(ct_noise_free, lesion_artery_labels: np.ndarray, blood_pool: Optional[np.ndarray]) -> ReferenceScore:
    """Score ``ct_noise_free`` (a CTVolume) inside the coronary lesion truth labels (1-4). A case without coronary calcium
    scores exactly 0 (there is nothing to segment, so the scoring function is not asked to score an empty region)."""
    from ..scoring.categories import categorise
    from ..region.mask import region_from_array
    from ..scoring.agatston import ScoringSettings, score

    if not lesion_artery_labels.any():
        category = categorise(0.0, 0)
        return ReferenceScore(0.0, 0.0, 0.0, {a: _zero_artery() for a in ARTERIES}, category.classic,
                              category.classic_range, category.cac_drs, 0, {"note": "no coronary calcium in the phantom"})
    region = region_from_array(lesion_artery_labels, names={1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"},
                               source="lesion truth mask", blood_pool=blood_pool)
    settings = ScoringSettings(calibration_factor=materials.CALIBRATION_FACTOR_MG_PER_MM3_HU)
    result = score(ct_noise_free, region, settings)
    per_artery = {name: {"agatston": result.per_artery[name].agatston, "volume_mm3": result.per_artery[name].volume_mm3,
                         "mass_mg": result.per_artery[name].mass_mg, "lesion_count": result.per_artery[name].lesion_count}
                  for name in ARTERIES}
    return ReferenceScore(
        agatston=result.agatston, volume_mm3=result.volume_mm3, mass_mg=result.mass_mg, per_artery=per_artery,
        classic=result.category.classic, classic_range=result.category.classic_range, cac_drs=result.category.cac_drs,
        lesion_count=len(result.lesions), settings={k: result.settings[k] for k in (
            "threshold_hu", "weight_rule", "kvp", "min_area_mm2", "connectivity_2d", "slice_increment_mm",
            "increment_factor", "calibration_factor_mg_per_mm3_hu")})


def _zero_artery() -> Dict[str, float]:
    return {"agatston": 0.0, "volume_mm3": 0.0, "mass_mg": 0.0, "lesion_count": 0}


def physical_totals(objects: List[CalciumObject]) -> Dict[str, object]:
    """Physical volume (mm3) and HA mass (mg) of the coronary plaques per artery and in total."""
    per_artery = {name: {"volume_mm3": 0.0, "mass_mg": 0.0, "count": 0} for name in ARTERIES}
    for obj in objects:
        if obj.coronary:
            entry = per_artery[obj.location]
            entry["volume_mm3"] += obj.volume_mm3
            entry["mass_mg"] += obj.mass_mg
            entry["count"] += 1
    return {
        "coronary_volume_mm3": sum(e["volume_mm3"] for e in per_artery.values()),
        "coronary_mass_mg": sum(e["mass_mg"] for e in per_artery.values()),
        "coronary_count": sum(e["count"] for e in per_artery.values()),
        "per_artery": per_artery,
        "extracoronary_count": sum(1 for o in objects if not o.coronary),
    }


@dataclass
class PhantomTruth:
    """Everything known exactly about one generated case (written as the truth JSON)."""

    case_id: str
    seed: int
    variant: str
    config: Dict[str, object]
    grid: Dict[str, object]
    objects: List[Dict[str, object]]
    reference: ReferenceScore
    physical: Dict[str, object]
    anatomy: Dict[str, object]
    mask_imperfections: List[str]
    burden: str
    reconstruction: Dict[str, object] = field(default_factory=dict)  # kernel, slices, gating (case._reconstruction_truth)
    generator_version: str = ""

    @property
    def label(self) -> int:
        return self.reference.label

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["schema"] = TRUTH_SCHEMA
        data["phantom_revision"] = PHANTOM_REVISION
        data["label"] = self.label
        data["hu_model"] = {
            "formula": "HU = matrix_hu + k * density (mg HA/cm3)",
            "k_hu_per_mg_cm3": materials.K_HU_PER_MG_CM3,
            "calibration_factor_mg_per_mm3_hu": materials.CALIBRATION_FACTOR_MG_PER_MM3_HU,
            "coronary_matrix_hu": materials.SOFT_TISSUE,
            "basis": "200 mg HA/cm3 reads 230 HU above its background (QRM rod in the real Canon scan)",
        }
        data["reference"]["source"] = "scoring.score on the noise-free image inside the lesion truth mask" + (
            " (soft reconstruction of a sharp-kernel case)" if self.reconstruction.get("mtf_boost") else "")
        return _rounded(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, np.generic):
        return _rounded(value.item())
    return value
