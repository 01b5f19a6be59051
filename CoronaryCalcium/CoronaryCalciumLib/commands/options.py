"""Command-line options shared by the commands that score (score, assess)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Optional

from ..errors import InputError
from ..scoring import ScoringSettings


def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scoring")
    group.add_argument("--kvp", type=float, help="tube voltage in kV (default: from DICOM; unknown -> 120 kVp rule)")
    group.add_argument("--threshold", type=float, metavar="HU",
                       help="detection threshold in HU (default 130, or the kVp-specific bound)")
    group.add_argument("--min-area", type=float, default=1.0, metavar="MM2", help="minimum lesion area per slice (mm2)")
    group.add_argument("--connectivity", type=int, choices=(4, 8), default=8, help="in-plane connectivity")
    group.add_argument("--no-kvp-thresholds", action="store_true",
                       help="use the 130/200/300/400 HU rule at every tube voltage")
    group.add_argument("--calibration", metavar="C_OR_JSON",
                       help="mass calibration factor c_HA in mg/(mm3 HU), or the JSON written by `calibrate`")
    group.add_argument("--allow-contrast", action="store_true",
                       help="score even if the CT looks contrast-enhanced (results flagged as not valid Agatston)")


def calibration_factor(value: Optional[str]) -> Optional[float]:
    """A number, or a calibration JSON file holding ``factor_mg_per_mm3_hu``."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    if not os.path.isfile(value):
        raise InputError("--calibration %s is neither a number nor a calibration JSON file" % value)
    try:
        with open(value, encoding="utf-8") as stream:
            return float(json.load(stream)["factor_mg_per_mm3_hu"])
    except (ValueError, KeyError, TypeError):
        raise InputError("%s is not a calibration JSON (no factor_mg_per_mm3_hu)" % value) from None


def settings_from_args(args: argparse.Namespace) -> ScoringSettings:
    settings = ScoringSettings(
        threshold_hu=args.threshold,
        min_area_mm2=args.min_area,
        connectivity=args.connectivity,
        kvp=args.kvp,
        kvp_specific=not args.no_kvp_thresholds,
        calibration_factor=calibration_factor(args.calibration),
        allow_contrast=args.allow_contrast,
    )
    settings.validate()
    return settings
