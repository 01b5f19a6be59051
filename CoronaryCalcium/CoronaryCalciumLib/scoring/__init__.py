"""Stage 3, scoring: calcified lesions in the region and their Agatston, volume, mass and integrated-intensity mass scores per artery, the risk categories, the contrast check, mass calibration, and agreement with a reference."""

from .._lazy import lazy_api

_API = {
    "ScoringSettings": ".agatston",
    "Lesion": ".agatston",
    "ArteryScore": ".agatston",
    "CalciumScore": ".agatston",
    "score": ".agatston",
    "scoring_settings": ".agatston",
    "Category": ".categories",
    "classic_category": ".categories",
    "cac_drs_grade": ".categories",
    "categorise": ".categories",
    "ContrastCheck": ".contrast",
    "check_contrast": ".contrast",
    "Calibration": ".calibration",
    "calibrate_auto": ".calibration",
    "calibrate_with_masks": ".calibration",
    "IntegratedMassSettings": ".integrated_mass",
    "integrated_masses": ".integrated_mass",
    "integrated_mass_of_seed": ".integrated_mass",
    "insert_masses": ".qrm_mass",
    "Agreement": ".agreement",
    "measure_agreement": ".agreement",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
