"""The one result type, ``Assessment``, that flows to the Slicer panel, the CLI and the reports; and its JSON form.

JSON schema (``schema_version`` 2), top-level keys:
  schema_version, software {name, version}, case_id,
  agatston, volume_mm3, mass_mg (null without calibration), integrated_mass_mg (null without calibration),
  category {classic, classic_range, cac_drs, cac_drs_agatston, cac_drs_vessels, reliable}, per_artery {LM, LAD, LCX,
  RCA, unassigned: {agatston, volume_mm3, mass_mg, integrated_mass_mg, lesion_count}}, lesions [{id, artery, agatston,
  volume_mm3, mass_mg, peak_hu, mean_hu, voxel_count, centroid_lps_mm, first_slice, last_slice,
  integrated_mass_mg}], excluded_lesions [the same, with ``excluded``: the reason a lesion filter left it out of every
  total], image_quality {noise_hu, noise_region, noise_voxels, blood_pool_hu, max_noise_hu, reasons, reliable},
  settings {...every setting used, protocol {...}, integrated_mass {...}...}, warnings [...],
  input {source, format, kvp, slice_thickness_mm, slice_increment_mm, manufacturer, ... (patient name/ID only on
  request)}, region {source, voxels, labels}, classifier (null until a model ran: see model.Prediction).
Units: HU, mm, mm2, mm3, mg. Version 2 added the integrated-intensity mass (``integrated_mass_mg`` and
``settings.integrated_mass``), ``excluded_lesions``, ``image_quality``, ``category.reliable`` and
``settings.protocol``; every version-1 key is unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import __version__
from .io.ct import CTMetadata
from .scoring.agatston import CalciumScore

SCHEMA_VERSION = 2


@dataclass
class Assessment:
    """A scored case: the CT it came from, the region used, the calcium score and (optionally) the classifier output."""

    case_id: str
    ct: CTMetadata
    score: CalciumScore
    region: Dict[str, Any] = field(default_factory=dict)
    classifier: Optional[Any] = None
    features: Optional[Dict[str, float]] = None
    extra_warnings: List[str] = field(default_factory=list)
    # the voxels it was computed on, for writers that need them (segmentation files, report pictures); not in the JSON
    ct_volume: Optional[Any] = field(default=None, repr=False, compare=False)  # io.ct.CTVolume
    region_of_interest: Optional[Any] = field(default=None, repr=False, compare=False)  # region.mask.RegionOfInterest
    # names of the input files and folders (they can identify a patient): {name: placeholder}, left out of the JSON
    # and reports unless include_phi
    input_names: Dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def warnings(self) -> List[str]:
        return list(self.score.warnings) + list(self.extra_warnings)

    def to_dict(self, include_phi: bool = False) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "software": {"name": "CoronaryCalcium", "version": __version__},
            "case_id": self.case_id,
        }
        data.update(self.score.to_dict())
        data["warnings"] = self.warnings
        data["input"] = self.ct.to_dict(include_phi=include_phi)
        data["region"] = dict(self.region)
        data["classifier"] = _plain(self.classifier)
        return data if include_phi else _without_names(data, self.input_names)

    def redact(self, text: str) -> str:
        """``text`` with the input file and folder names replaced by placeholders."""
        return _without_names(text, self.input_names)

    def to_json(self, include_phi: bool = False) -> str:
        return json.dumps(self.to_dict(include_phi=include_phi), indent=2, default=_json_default)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError("%r is not JSON serialisable" % (value,))


def _without_names(value: Any, names: Dict[str, str]) -> Any:
    """``value`` (strings, lists and dicts of them) with the names in ``names`` replaced by their placeholders: a string
    that is a name entirely, and names inside text when they hold a non-letter (a path, a file name with its
    extension; a plain word such as "heart" is left, it would replace ordinary text)."""
    if not names:
        return value
    if isinstance(value, str):
        if value in names:
            return names[value]
        for name in sorted(names, key=len, reverse=True):
            if not name.isalpha():
                value = value.replace(name, names[name])
        return value
    if isinstance(value, dict):
        return {key: _without_names(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_names(item, names) for item in value]
    return value
