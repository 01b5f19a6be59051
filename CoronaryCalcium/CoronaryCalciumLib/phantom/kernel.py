"""Reconstruction kernels of the phantom: "soft" (today's images: a Gaussian in-plane PSF only) and "sharp" (an MTF with
a mid-frequency boost, as the sharp body and lung kernels of real scanners have).

The sharp kernel multiplies the soft MTF by ``1 + boost * (1 - exp(-2 pi^2 s^2 f^2))`` (f in cycles/mm, s =
``boost_sigma_mm``): an unsharp mask, applied to the rendered anatomy and calcium and, through the noise power
spectrum, to the noise. It gives a symmetric overshoot on the dense side and undershoot on the light side of every edge,
within about 1-2 mm of it, and noise with a finer texture (NPS shifted to higher frequencies).

Reference: the real LIDC-IDRI-0314 scan (``../shared/data/lidc-idri-0314-chest-ct-thin``: Philips Brilliance 16P,
ConvolutionKernel "D", 120 kVp, 0.781 mm pixels, 1 mm slices at 1 mm), measured with ``Testing/support/texture.py``
(the measurement the phantom tests apply to phantoms; ``Testing/phantom/test_phantom_kernel.py`` re-measures the scan):

- lung/soft-tissue borders (mediastinum, chest wall, diaphragm; 4,700 row profiles aligned at the -450 HU crossing):
  lung plateau -851 HU, an undershoot of 24 HU about 1.8 mm into the lung; soft tissue 22 HU, with no peak above it
  on the tissue side (pleura and extrapleural fat lie there, in the phantom too).
- air/fat borders (the skin; 4,500 profiles): a rim 165 HU above the fat plateau (-80 HU) 1.3 mm from the edge. The
  skin itself is denser than fat: the soft phantom shows 105 HU there, so the kernel adds about 60. Air borders with
  soft tissue behind (trachea, bronchi; 600 profiles) show a rim 77 HU above the tissue 2 mm in, partly bronchial
  wall and cartilage. The air side is clipped at -1000 HU by the scan's stored range and shows no undershoot.
- noise in the heart's blood pool and the liver (ROIs detrended by a quadratic surface): SD 22-27 HU, in-plane
  autocorrelation 0.24-0.31 at one pixel (0.78 mm) and -0.02 to -0.12 at two. The soft B19f scan LUNG1-001 (3 mm,
  0.977 mm pixels) for comparison: SD 17 HU, 0.30-0.35 along rows and 0.55 along columns at its coarser pixels.

With ``boost`` 0.7 and ``boost_sigma_mm`` 0.7 on a 1.0 mm FWHM PSF (protocol "chest-thin-sharp", 0.74 mm pixels)
the noise-free phantom shows a 25 HU undershoot at lung borders (soft: 0), the skin rim 167 HU above fat (soft: 106)
with a 21 HU undershoot in the air beside it (soft: 0); its noise has autocorrelation 0.22 at one pixel (soft kernel,
same PSF and pixels: 0.30) and -0.14 at two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Kernel:
    """A reconstruction kernel: its DICOM ConvolutionKernel name (Siemens naming: B = body, the number grows with
    sharpness, f = flying focal spot) and the mid-frequency boost of its MTF (0 = none)."""

    name: str
    convolution_kernel: str
    description: str
    boost: float = 0.0
    boost_sigma_mm: float = 0.0


KERNELS: Dict[str, Kernel] = {
    # B35f is Siemens' standard calcium-scoring kernel ("medium smooth"); LUNG1-001's B19f is smoother still
    "soft": Kernel("soft", "B35f", "soft (calcium-scoring) kernel: Gaussian PSF only"),
    # B50f is a Siemens "sharp" body kernel (41-59), the class of the Philips "D" scan LIDC-IDRI-0314 the figures are
    # fitted to, so protocol normalisation gives both the same 0.7 mm blur (scoring/kernels.py)
    "sharp": Kernel("sharp", "B50f", "sharp kernel: MTF boosted at mid frequencies (edge overshoot, fine noise)",
                    boost=0.7, boost_sigma_mm=0.7),
}


def get_kernel(name: str) -> Kernel:
    """The kernel called ``name``; InputError with the known names otherwise."""
    kernel = KERNELS.get(name)
    if kernel is None:
        raise InputError("reconstruction kernel must be one of %s, not %r" % (", ".join(KERNELS), name))
    return kernel


def boost_gain(f_squared: np.ndarray, kernel: Kernel) -> Optional[np.ndarray]:
    """The kernel's MTF factor over the soft one at squared frequencies ``f_squared`` (cycles/mm)^2; None when 1."""
    if kernel.boost <= 0:
        return None
    low_pass = np.exp(-2.0 * (math.pi * kernel.boost_sigma_mm) ** 2 * f_squared)
    return 1.0 + kernel.boost * (1.0 - low_pass)


def sharpen(volume: np.ndarray, pixel_mm: float, kernel: Kernel) -> None:
    """Apply the kernel's boost in place, in plane: ``v + boost * (v - G_s v)`` (HU), nothing for a soft kernel."""
    from scipy import ndimage

    if kernel.boost <= 0:
        return
    sigma = kernel.boost_sigma_mm / pixel_mm
    blurred = ndimage.gaussian_filter1d(volume, sigma, axis=1, mode="nearest", truncate=4.0)
    ndimage.gaussian_filter1d(blurred, sigma, axis=2, output=blurred, mode="nearest", truncate=4.0)
    blurred -= volume
    blurred *= np.float32(-kernel.boost)
    volume += blurred
