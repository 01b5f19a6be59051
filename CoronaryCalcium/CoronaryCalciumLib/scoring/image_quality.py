"""Image-quality gate: noise in the blood pool, and whether the category can be trusted.

Noise is the robust standard deviation (1.4826 x median absolute deviation, so a calcified spot does not inflate it)
of the HU in the blood-pool reference (aortic lumen eroded 3 mm, else the heart deeper than 15 mm), measured on the image
that was scored (after protocol normalisation). Above ``MAX_NOISE_HU`` (30 HU) the 130 HU threshold sits less than 3
noise SDs above non-contrast blood (about 40 HU) and noise itself crosses it; calcium-scoring protocols aim at 20-25
HU. Then, or when a sharp kernel was left unsmoothed, the category is flagged as unreliable in every output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import numpy as np

MAX_NOISE_HU = 30.0
MIN_VOXELS = 50


@dataclass
class ImageQuality:
    """Noise (HU SD) and median (HU) of the blood pool and the verdict on the category: ``reliable`` False with
    ``reasons``."""

    noise_hu: Optional[float]
    noise_region: str
    noise_voxels: int
    blood_pool_hu: Optional[float] = None
    max_noise_hu: float = MAX_NOISE_HU
    reasons: List[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        return not self.reasons

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["reliable"] = self.reliable
        return data


def robust_sd(values: np.ndarray) -> float:
    """1.4826 x the median absolute deviation: the SD of Gaussian noise, unmoved by a few outliers."""
    values = np.asarray(values, dtype=np.float64)
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def measure(array: np.ndarray, blood_pool: Optional[np.ndarray], sharp_left_unsmoothed: bool = False,
            max_noise_hu: float = MAX_NOISE_HU) -> ImageQuality:
    """The image quality of ``array`` (HU, z y x) from its blood-pool mask (same grid; None: not measured)."""
    noise, median, voxels, where = None, None, 0, "no blood-pool reference (heart or aorta mask)"
    if blood_pool is not None:
        values = array[blood_pool > 0]
        voxels = int(values.size)
        if voxels >= MIN_VOXELS:
            noise, median = robust_sd(values), float(np.median(values))
            where = "blood pool (aortic lumen or deep heart)"
        else:
            where = "blood pool too small (%d voxels)" % voxels
    quality = ImageQuality(noise_hu=noise, noise_region=where, noise_voxels=voxels, blood_pool_hu=median,
                           max_noise_hu=max_noise_hu)
    if noise is not None and noise > max_noise_hu:
        quality.reasons.append("image noise %.0f HU in the blood pool is above %.0f HU: noise crosses the threshold"
                               % (noise, max_noise_hu))
    if sharp_left_unsmoothed:
        quality.reasons.append("sharp reconstruction kernel not normalised: edge overshoot crosses the threshold")
    return quality
