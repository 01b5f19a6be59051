"""Correlated CT noise: white noise shaped in plane by the noise power spectrum of filtered back-projection,
NPS(f) ~ |f| MTF(f)^2 (ramp filter times the reconstruction kernel), correlated along z as slices made with the slice
sensitivity profile are (overlapping slices share noise as real overlapping reconstructions do), and scaled to the
requested standard deviation.

The z-correlation is exact without rendering noise on every plane: one white field per slice is filtered along z by the
zero-phase kernel whose autocorrelation equals that of the SSP weights at multiples of the increment.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .grid import FineSampling, Grid
from .kernel import Kernel, boost_gain


def nps_filter(ny: int, nx: int, pixel_mm: float, psf_sigma_mm: float, kernel: Optional[Kernel] = None) -> np.ndarray:
    """Amplitude filter sqrt(|f|) * MTF(f) on the rfft2 grid (f in cycles/mm); a sharp ``kernel`` multiplies the
    MTF by its mid-frequency boost."""
    fy = np.fft.fftfreq(ny, d=pixel_mm)[:, None]
    fx = np.fft.rfftfreq(nx, d=pixel_mm)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    mtf = np.exp(-2.0 * (math.pi * psf_sigma_mm * f) ** 2)
    gain = boost_gain(f * f, kernel) if kernel is not None else None
    if gain is not None:
        mtf = mtf * gain
    return (np.sqrt(f) * mtf).astype(np.float32)


def correlated_noise(grid: Grid, sampling: FineSampling, psf_sigma_mm: float, sd_hu: float,
                     rng: np.random.Generator, kernel: Optional[Kernel] = None) -> np.ndarray:
    """Noise volume (float32, HU) on ``grid`` with standard deviation ``sd_hu``, shaped by the reconstruction
    ``kernel`` (None: soft)."""
    from scipy import fft

    nz, ny, nx = grid.shape
    if sd_hu <= 0:
        return np.zeros(grid.shape, dtype=np.float32)
    along_z = z_kernel(sampling)
    reach = (along_z.size - 1) // 2
    white = rng.standard_normal((nz + 2 * reach, ny, nx), dtype=np.float32)
    if reach:
        noise = np.zeros(grid.shape, dtype=np.float32)
        for lag, weight in enumerate(along_z):
            noise += np.float32(weight) * white[lag:lag + nz]
        del white
    else:
        noise = white
    shaping = nps_filter(ny, nx, grid.pixel_mm, psf_sigma_mm, kernel)
    chunk = 16
    for start in range(0, nz, chunk):
        block = noise[start:start + chunk]
        spectrum = fft.rfft2(block, axes=(1, 2), workers=1)
        spectrum *= shaping
        block[...] = fft.irfft2(spectrum, s=(ny, nx), axes=(1, 2), workers=1)
    sd = float(noise.std(dtype=np.float64))
    if sd > 0:
        noise *= np.float32(sd_hu / sd)
    return noise


def z_kernel(sampling: FineSampling) -> np.ndarray:
    """Symmetric kernel along z (per slice) whose autocorrelation matches that of the slice profile weights."""
    weights = sampling.weights
    m = sampling.per_increment
    lags = (weights.size - 1) // m + 1
    auto = np.array([float(np.dot(weights[: weights.size - lag * m], weights[lag * m:])) if lag * m < weights.size else 0.0
                     for lag in range(lags)])
    if lags == 1 or auto[1:].max() < 1e-4 * auto[0]:
        return np.array([1.0])
    size = 64
    omega = 2.0 * math.pi * np.arange(size) / size
    spectrum = auto[0] + 2.0 * sum(auto[lag] * np.cos(omega * lag) for lag in range(1, lags))
    kernel = np.real(np.fft.ifft(np.sqrt(np.clip(spectrum, 0.0, None))))
    full = np.concatenate([kernel[-(lags - 1):], kernel[:lags]])
    return full / math.sqrt(float((full ** 2).sum()))
