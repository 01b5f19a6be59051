"""HU of the tissues of a non-contrast CT at 120 kVp, and the linear hydroxyapatite (HA) model used for calcium.

Calcium model (stated, not measured per case): an object of HA density rho (mg HA/cm3) set in a matrix of ``matrix_hu``
reads ``HU = matrix_hu + K_HU_PER_MG_CM3 * rho``. K = 1.15 HU per mg/cm3 is chosen so that 200 mg HA/cm3 reads 230 HU
above its background, as the QRM calibration rod does in the real Canon scan of ../shared/data (about 307 vs 77 HU).
The exact mass calibration factor of every phantom is therefore c_HA = 1 / (1000 K) = 0.000870 mg/(mm3 HU) against the
matrix (the formula c = rho / (HU_rod - HU_background) gives the same value on the phantom's noise-free image).
"""

from __future__ import annotations

K_HU_PER_MG_CM3 = 1.15
CALIBRATION_FACTOR_MG_PER_MM3_HU = 1.0 / (1000.0 * K_HU_PER_MG_CM3)

AIR = -1000.0
LUNG = -860.0  # inflated lung parenchyma; the renderer adds a gravity gradient of +/- 50 HU
FAT = -100.0
SKIN = 30.0
MUSCLE = 50.0
BLOOD = 40.0  # unenhanced blood pool
MYOCARDIUM = 48.0
SOFT_TISSUE = 40.0  # matrix of calcified plaque; vessel wall
LIVER = 58.0
SPLEEN = 48.0
CSF = 10.0
DISC = 80.0
CANCELLOUS_BONE = 220.0
CORTICAL_BONE = 750.0
CARTILAGE = 110.0
ESOPHAGUS = 35.0
# Contrast-enhanced CT (CCTA-like): blood pool, aorta and the coronary lumen at the drawn enhancement level, the
# myocardium mildly enhanced (a fifth of the blood's enhancement), the lumen a tube of this fraction of the vessel's
# outer radius. Calcium is added on top of whatever it lies in (a plaque reaching into the lumen reads brighter).
CONTRAST_BLOOD_HU = (250.0, 450.0)
MYOCARDIUM_ENHANCEMENT = 0.2
LUMEN_FRACTION = 0.55
CONTRAST_AGENT = "Iodinated contrast (synthetic phantom)"
HU_MIN = -1024
HU_MAX = 3071


def hu_from_density(density_mg_cm3: float, matrix_hu: float = SOFT_TISSUE) -> float:
    """HU of HA at ``density_mg_cm3`` (mg HA/cm3) in a matrix of ``matrix_hu`` at 120 kVp (linear model above)."""
    return matrix_hu + K_HU_PER_MG_CM3 * density_mg_cm3


def density_from_hu(hu: float, matrix_hu: float = SOFT_TISSUE) -> float:
    """Inverse of ``hu_from_density`` (mg HA/cm3)."""
    return (hu - matrix_hu) / K_HU_PER_MG_CM3


def mass_mg(volume_mm3: float, density_mg_cm3: float) -> float:
    """Physical HA mass (mg) of ``volume_mm3`` at ``density_mg_cm3``."""
    return volume_mm3 * density_mg_cm3 / 1000.0


# Calcium reads brighter at lower tube voltage. The factor scales K and follows the published kVp-specific detection
# thresholds (Graeni et al. 2018: 207/177/145 HU at 70/80/100 kVp for 130 HU at 120 kVp); 140 kVp is extrapolated.
KVP_CALCIUM_FACTOR = {70.0: 207.0 / 130.0, 80.0: 177.0 / 130.0, 100.0: 145.0 / 130.0, 120.0: 1.0, 140.0: 0.92}


def calcium_factor(kvp: float) -> float:
    """Multiplier of the HA contrast at ``kvp`` relative to 120 kVp (bone and soft tissue are not rescaled)."""
    return KVP_CALCIUM_FACTOR.get(float(kvp), 1.0)
