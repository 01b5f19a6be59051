"""Measurements of a CT's reconstruction kernel and noise texture, the same on real scans and on phantoms.

``edge_profile``: the mean profile across edges between air or lung and soft tissue, along image rows, aligned at the
-450 HU crossing (distance in mm, positive into the tissue). ``noise_texture``: SD (HU) and in-plane autocorrelation at
lags of one and two pixels of a noise field or of an ROI detrended by a quadratic surface per slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Tuple

import numpy as np
from scipy import ndimage

CROSSING_HU = -450.0


@dataclass
class EdgeProfile:
    distance_mm: np.ndarray
    mean_hu: np.ndarray
    count: int

    def _mean(self, low: float, high: float) -> float:
        inside = (self.distance_mm >= low) & (self.distance_mm <= high)
        return float(self.mean_hu[inside].mean())

    @property
    def tissue_hu(self) -> float:
        """Plateau 4-8 mm into the tissue."""
        return self._mean(4.0, 8.0)

    @property
    def light_hu(self) -> float:
        """Plateau 4-8 mm into the air or lung."""
        return self._mean(-8.0, -4.0)

    @property
    def overshoot_hu(self) -> float:
        """Highest mean within 3 mm on the tissue side, above the tissue plateau."""
        near = (self.distance_mm >= 0) & (self.distance_mm <= 3.0)
        return float(self.mean_hu[near].max()) - self.tissue_hu

    @property
    def undershoot_hu(self) -> float:
        """How far the mean dips below the air or lung plateau within 3 mm of the edge."""
        near = (self.distance_mm <= 0) & (self.distance_mm >= -3.0)
        return self.light_hu - float(self.mean_hu[near].min())


def edge_profile(image: np.ndarray, pixel_mm: float, slices: Iterable[int], light_below_hu: float = -700.0,
                 tissue_hu: Tuple[float, float] = (-60.0, 120.0), half_mm: float = 8.0) -> EdgeProfile:
    """Mean row profile across edges whose light side stays below ``light_below_hu`` and whose tissue side stays in
    ``tissue_hu`` for 4-8 mm (judged on the image smoothed with a 1.5 mm Gaussian), where the edge runs within 18
    degrees of perpendicular to the rows; samples of the unsmoothed image every 0.1 mm."""
    grid = np.arange(-half_mm, half_mm + 0.05, 0.1)
    near, far = int(np.ceil(4.0 / pixel_mm)), int(np.ceil(8.0 / pixel_mm))
    reach = int(np.ceil(half_mm / pixel_mm)) + 2
    profiles = []
    for k in slices:
        raw = image[k].astype(np.float64)
        smooth = ndimage.gaussian_filter(raw, 1.5 / pixel_mm)
        gy, gx = ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)
        across = np.abs(gx) >= 0.95 * np.hypot(gx, gy)
        positions = np.arange(raw.shape[1]) * pixel_mm
        for row in range(raw.shape[0]):
            s = smooth[row]
            below = s < CROSSING_HU
            for i in np.nonzero(below[:-1] != below[1:])[0]:
                if i < reach or i + reach + 1 >= s.size or not across[row, i]:
                    continue
                sign = 1 if below[i] else -1  # +1: light on the left
                steps = np.arange(near, far + 1)
                light = s[i - sign * steps + (0 if sign > 0 else 1)]
                tissue = s[i + sign * steps + (1 if sign > 0 else 0)]
                if (light >= light_below_hu).any() or (tissue <= tissue_hu[0]).any() or (tissue >= tissue_hu[1]).any():
                    continue
                crossing = (i + (CROSSING_HU - s[i]) / (s[i + 1] - s[i])) * pixel_mm
                profiles.append(np.interp(crossing + sign * grid, positions, raw[row]))
    if not profiles:
        return EdgeProfile(grid, np.full(grid.shape, np.nan), 0)
    return EdgeProfile(grid, np.mean(profiles, axis=0), len(profiles))


@dataclass
class NoiseTexture:
    sd_hu: float
    lag1: float  # mean of the row and column autocorrelation at one pixel
    lag2: float


def detrended(roi: np.ndarray) -> np.ndarray:
    """Each slice of ``roi`` minus its least-squares quadratic surface (removes slow anatomy and cupping)."""
    ny, nx = roi.shape[1:]
    yy, xx = np.mgrid[:ny, :nx]
    design = np.c_[np.ones(ny * nx), yy.ravel(), xx.ravel(), yy.ravel() ** 2, xx.ravel() ** 2, (yy * xx).ravel()]
    out = np.empty(roi.shape, dtype=np.float64)
    for k, plane in enumerate(roi.astype(np.float64)):
        coefficients = np.linalg.lstsq(design, plane.ravel(), rcond=None)[0]
        out[k] = (plane.ravel() - design @ coefficients).reshape(ny, nx)
    return out


def noise_texture(noise: np.ndarray) -> NoiseTexture:
    """SD and in-plane autocorrelation of a (z, y, x) noise field (its mean removed)."""
    v = noise.astype(np.float64) - float(noise.mean())
    power = float((v * v).mean())

    def lag(n: int) -> float:
        rows = float((v[:, :, n:] * v[:, :, :-n]).mean())
        columns = float((v[:, n:, :] * v[:, :-n, :]).mean())
        return 0.5 * (rows + columns) / power

    return NoiseTexture(sd_hu=float(np.sqrt(power)), lag1=lag(1), lag2=lag(2))
