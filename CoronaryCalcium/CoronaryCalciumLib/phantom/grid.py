"""The output voxel grid, the slice sensitivity profile (SSP) and the finer z-sampling the renderer integrates over.

A reconstructed slice of nominal thickness T is the object weighted along z by the SSP, modelled as a rectangle of width T
blurred by a Gaussian of sigma 0.2 T (its FWHM stays T). Large anatomy is rendered on planes ``dz`` apart (dz <= T/3 and
<= 1 mm, an integer fraction of the increment) and summed with SSP weights; small calcium objects integrate the SSP
directly at a finer step (see ``calcium.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from ..io.geometry import Geometry

SSP_SIGMA_FRACTION = 0.2


def _normal_cdf(values: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(values)


@dataclass(frozen=True)
class SliceProfile:
    """Slice sensitivity profile of a slice ``thickness_mm`` thick; ``weights(dz)`` integrates to 1 over dz (mm)."""

    thickness_mm: float

    @property
    def sigma_mm(self) -> float:
        return SSP_SIGMA_FRACTION * self.thickness_mm

    @property
    def half_width_mm(self) -> float:
        """Distance beyond which the profile is negligible (< 0.1% of its peak)."""
        return self.thickness_mm / 2.0 + 3.2 * self.sigma_mm

    def density(self, dz_mm: np.ndarray) -> np.ndarray:
        """Profile value per mm at offsets ``dz_mm`` from the slice centre."""
        half = self.thickness_mm / 2.0
        sigma = self.sigma_mm
        dz = np.asarray(dz_mm, dtype=np.float64)
        return (_normal_cdf((dz + half) / sigma) - _normal_cdf((dz - half) / sigma)) / self.thickness_mm


@dataclass(frozen=True)
class Grid:
    """Output grid: ``shape`` (z, y, x); ``spacing`` (x, y, z) mm with z = increment; ``origin`` LPS of voxel 0."""

    shape: Tuple[int, int, int]
    spacing: Tuple[float, float, float]
    origin: Tuple[float, float, float]
    thickness_mm: float

    @property
    def pixel_mm(self) -> float:
        return self.spacing[0]

    @property
    def increment_mm(self) -> float:
        return self.spacing[2]

    def x(self) -> np.ndarray:
        return self.origin[0] + self.spacing[0] * np.arange(self.shape[2], dtype=np.float64)

    def y(self) -> np.ndarray:
        return self.origin[1] + self.spacing[1] * np.arange(self.shape[1], dtype=np.float64)

    def z(self) -> np.ndarray:
        return self.origin[2] + self.spacing[2] * np.arange(self.shape[0], dtype=np.float64)

    @property
    def geometry(self) -> Geometry:
        return Geometry(shape=self.shape, spacing=self.spacing, origin=self.origin)

    @property
    def profile(self) -> SliceProfile:
        return SliceProfile(self.thickness_mm)

    def column(self, x_mm: np.ndarray) -> np.ndarray:
        """Continuous column index of x (mm)."""
        return (np.asarray(x_mm) - self.origin[0]) / self.spacing[0]

    def row(self, y_mm: np.ndarray) -> np.ndarray:
        return (np.asarray(y_mm) - self.origin[1]) / self.spacing[1]

    def slice_index(self, z_mm: np.ndarray) -> np.ndarray:
        return (np.asarray(z_mm) - self.origin[2]) / self.spacing[2]


def make_grid(matrix: int, fov_mm: float, centre_xy: Tuple[float, float], z_top_mm: float, n_slices: int,
              increment_mm: float, thickness_mm: float) -> Grid:
    """Square ``matrix`` over ``fov_mm`` centred on ``centre_xy``; ``n_slices`` slices from ``z_top_mm`` downwards."""
    pixel = fov_mm / matrix
    origin_x = centre_xy[0] - fov_mm / 2.0 + pixel / 2.0
    origin_y = centre_xy[1] - fov_mm / 2.0 + pixel / 2.0
    origin_z = z_top_mm - (n_slices - 1) * increment_mm
    return Grid(shape=(n_slices, matrix, matrix), spacing=(pixel, pixel, increment_mm),
                origin=(origin_x, origin_y, origin_z), thickness_mm=thickness_mm)


@dataclass(frozen=True)
class FineSampling:
    """Planes the anatomy is rendered on: ``z`` (mm, ascending); output slice k is the SSP-weighted sum of planes
    ``first(k) + i`` for i in range(len(weights))."""

    z: np.ndarray
    step_mm: float
    per_increment: int
    weights: np.ndarray

    @property
    def count(self) -> int:
        return int(self.z.size)

    def first(self, k: int) -> int:
        return k * self.per_increment

    def outputs_of_plane(self, j: int, n_slices: int):
        """[(output slice k, weight)] that plane j contributes to."""
        result = []
        reach = self.weights.size
        k_low = max(0, int(math.ceil((j - reach + 1) / self.per_increment)))
        k_high = min(n_slices - 1, j // self.per_increment)
        for k in range(k_low, k_high + 1):
            i = j - k * self.per_increment
            if 0 <= i < reach:
                result.append((k, float(self.weights[i])))
        return result


def fine_sampling(grid: Grid, max_step_mm: float = 1.0) -> FineSampling:
    """Planes at an integer fraction of the increment, no more than T/3 and ``max_step_mm`` apart."""
    increment = grid.increment_mm
    target = min(max_step_mm, grid.thickness_mm / 3.0)
    per_increment = max(1, int(math.ceil(increment / target - 1e-9)))
    step = increment / per_increment
    profile = grid.profile
    reach = int(math.ceil(profile.half_width_mm / step))
    offsets = np.arange(-reach, reach + 1) * step
    weights = profile.density(offsets) * step
    weights = weights / weights.sum()
    z0 = grid.origin[2] - reach * step
    count = (grid.shape[0] - 1) * per_increment + 2 * reach + 1
    z = z0 + step * np.arange(count, dtype=np.float64)
    return FineSampling(z=z, step_mm=step, per_increment=per_increment, weights=weights.astype(np.float64))
