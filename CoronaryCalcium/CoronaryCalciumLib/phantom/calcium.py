"""Calcified objects (coronary plaques, aortic wall, aortic valve and mitral annulus calcium, phantom inserts) and their
exact partial-volume rendering.

Each object is an ellipsoid or a cylinder of hydroxyapatite density rho (mg/cm3); it adds ``K * rho`` HU (see
``materials.py``) times its blurred occupancy to the tissue it replaces. Occupancy of an output voxel is computed by
supersampling the pixel in plane (3-12 samples per side, more for smaller objects) and integrating the slice sensitivity
profile along z at a step of a few tenths of a millimetre, then the in-plane PSF is applied in a padded box around the
object. So the integral of the added HU over the volume equals K * rho * volume (mass is conserved), as in a real scanner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from . import materials
from .grid import Grid

KINDS = ("coronary", "aortic_wall", "aortic_valve", "mitral_annulus", "insert")


@dataclass
class CalciumObject:
    """One calcification. ``axes`` rows are its principal directions (unit vectors, LPS); ``semi_axes`` in mm (for a
    cylinder: radius, radius, half length along ``axes[2]``). ``location`` is the artery (LM, LAD, LCX, RCA) for coronary
    plaques, else a place name. ``motion_mm`` is an in-plane displacement the object sweeps (non-gated scans)."""

    id: int
    kind: str
    location: str
    centre: np.ndarray
    axes: np.ndarray
    semi_axes: Tuple[float, float, float]
    density_mg_cm3: float
    shape: str = "ellipsoid"
    matrix_hu: float = materials.SOFT_TISSUE
    motion_mm: Optional[np.ndarray] = None
    bend: Optional[np.ndarray] = None  # curvature vector (1/mm, LPS) of the vessel the object follows
    vessel: str = ""
    path_mm: float = 0.0
    info: Dict[str, object] = field(default_factory=dict)

    @property
    def coronary(self) -> bool:
        return self.kind == "coronary"

    @property
    def volume_mm3(self) -> float:
        a, b, c = self.semi_axes
        if self.shape == "cylinder":
            return math.pi * a * b * 2.0 * c
        return 4.0 / 3.0 * math.pi * a * b * c

    @property
    def hu(self) -> float:
        return materials.hu_from_density(self.density_mg_cm3, self.matrix_hu)

    @property
    def added_hu(self) -> float:
        return materials.K_HU_PER_MG_CM3 * self.density_mg_cm3

    @property
    def mass_mg(self) -> float:
        return materials.mass_mg(self.volume_mm3, self.density_mg_cm3)

    def half_extent(self) -> np.ndarray:
        """Half size of the axis-aligned box around the object (mm, x y z)."""
        axes = np.asarray(self.axes, dtype=float)
        if self.shape == "cylinder":
            r, _, h = self.semi_axes
            direction = axes[2]
            return np.abs(direction) * h + r * np.sqrt(np.clip(1.0 - direction ** 2, 0.0, None))
        scaled = axes * np.asarray(self.semi_axes, dtype=float)[:, None]
        extent = np.sqrt((scaled ** 2).sum(axis=0))
        if self.bend is not None:
            extent = extent + 0.5 * self.semi_axes[2] ** 2 * np.abs(np.asarray(self.bend, dtype=float))
        return extent

    def inside(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Boolean mask of points (broadcastable arrays, mm) inside the object."""
        dx, dy, dz = x - self.centre[0], y - self.centre[1], z - self.centre[2]
        axes = np.asarray(self.axes, dtype=float)
        u = [dx * axes[k, 0] + dy * axes[k, 1] + dz * axes[k, 2] for k in range(3)]
        if self.bend is not None:
            # follow the vessel's curve: remove the parabolic offset of the centre line along the third axis
            kappa = axes @ np.asarray(self.bend, dtype=float)
            half_square = 0.5 * u[2] * u[2]
            u[0] = u[0] - kappa[0] * half_square
            u[1] = u[1] - kappa[1] * half_square
        a, b, c = self.semi_axes
        if self.shape == "cylinder":
            return ((u[0] / a) ** 2 + (u[1] / b) ** 2 <= 1.0) & (np.abs(u[2]) <= c)
        return (u[0] / a) ** 2 + (u[1] / b) ** 2 + (u[2] / c) ** 2 <= 1.0

    def to_truth(self) -> Dict[str, object]:
        """Plain-dict description for the truth JSON (LPS mm, mm3, mg HA/cm3, HU, mg)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "coronary": self.coronary,
            "artery": self.location if self.coronary else None,
            "location": self.location,
            "vessel": self.vessel or None,
            "shape": self.shape,
            "position_lps_mm": [round(float(v), 3) for v in self.centre],
            "semi_axes_mm": [round(float(v), 3) for v in self.semi_axes],
            "size_mm": round(2.0 * float(max(self.semi_axes)), 3),
            "volume_mm3": round(self.volume_mm3, 4),
            "density_mg_ha_cm3": round(float(self.density_mg_cm3), 2),
            "hu": round(self.hu, 1),
            "mass_mg": round(self.mass_mg, 5),
            "distance_from_ostium_mm": round(float(self.path_mm), 1) if self.coronary else None,
            "motion_mm": [round(float(v), 3) for v in self.motion_mm] if self.motion_mm is not None else None,
        }


@dataclass
class RenderedObject:
    """Blurred occupancy (0-1, float32) of one object on the output grid inside ``box`` (z, y, x slices)."""

    object_id: int
    box: Tuple[slice, slice, slice]
    occupancy: np.ndarray


def render_object(obj: CalciumObject, grid: Grid, psf_sigma_px: float, motion_steps: int = 7) -> Optional[RenderedObject]:
    """Occupancy of ``obj`` on ``grid`` after partial volume, slice profile and in-plane PSF; None if outside the grid."""
    pixel = grid.pixel_mm
    profile = grid.profile
    extent = obj.half_extent()
    shifts = [np.zeros(3)]
    if obj.motion_mm is not None and np.linalg.norm(obj.motion_mm) > 0.05:
        fractions = np.linspace(-0.5, 0.5, motion_steps)
        shifts = [np.asarray(obj.motion_mm, dtype=float) * f for f in fractions]
    sweep = np.max(np.abs(np.array(shifts)), axis=0)
    low = obj.centre - extent - sweep
    high = obj.centre + extent + sweep
    pad = int(math.ceil(4.0 * psf_sigma_px)) + 1
    c0 = int(math.floor(grid.column(low[0]))) - 1
    c1 = int(math.ceil(grid.column(high[0]))) + 2
    r0 = int(math.floor(grid.row(low[1]))) - 1
    r1 = int(math.ceil(grid.row(high[1]))) + 2
    k0 = int(math.floor(grid.slice_index(low[2] - profile.half_width_mm)))
    k1 = int(math.ceil(grid.slice_index(high[2] + profile.half_width_mm))) + 1
    nz, ny, nx = grid.shape
    if c1 <= 0 or r1 <= 0 or k1 <= 0 or c0 >= nx or r0 >= ny or k0 >= nz:
        return None
    smallest = max(0.05, min(obj.semi_axes))
    sub = int(np.clip(math.ceil(3.0 * pixel / smallest), 3, 12))
    dz_step = min(0.1, smallest / 3.0, grid.thickness_mm / 12.0)
    z_samples = np.arange(low[2] + dz_step / 2.0, high[2], dz_step)
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    cols = np.arange(c0, c1)
    rows = np.arange(r0, r1)
    xs = (grid.origin[0] + (cols[:, None] + offsets[None, :]) * pixel).ravel()
    ys = (grid.origin[1] + (rows[:, None] + offsets[None, :]) * pixel).ravel()
    occupancy_fine = np.zeros((z_samples.size, rows.size, cols.size), dtype=np.float32)
    for shift in shifts:
        for i, z in enumerate(z_samples):
            hit = obj.inside(xs[None, :] - shift[0], ys[:, None] - shift[1], z - shift[2])
            if hit.any():
                occupancy_fine[i] += hit.reshape(rows.size, sub, cols.size, sub).mean(axis=(1, 3), dtype=np.float32)
    occupancy_fine /= len(shifts)
    slices = np.arange(k0, k1)
    z_out = grid.origin[2] + slices * grid.increment_mm
    weights = profile.density(z_samples[None, :] - z_out[:, None]) * dz_step
    occupancy = (weights.astype(np.float32) @ occupancy_fine.reshape(z_samples.size, -1)).reshape(slices.size, rows.size,
                                                                                                  cols.size)
    padded = np.zeros((slices.size, rows.size + 2 * pad, cols.size + 2 * pad), dtype=np.float32)
    padded[:, pad:-pad, pad:-pad] = occupancy
    if psf_sigma_px > 0:
        ndimage.gaussian_filter1d(padded, psf_sigma_px, axis=1, output=padded, mode="constant", truncate=4.0)
        ndimage.gaussian_filter1d(padded, psf_sigma_px, axis=2, output=padded, mode="constant", truncate=4.0)
    # clip to the grid
    zlo, ylo, xlo = k0, r0 - pad, c0 - pad
    zs = slice(max(0, zlo), min(nz, zlo + padded.shape[0]))
    ys_ = slice(max(0, ylo), min(ny, ylo + padded.shape[1]))
    xs_ = slice(max(0, xlo), min(nx, xlo + padded.shape[2]))
    local = padded[zs.start - zlo: zs.stop - zlo, ys_.start - ylo: ys_.stop - ylo, xs_.start - xlo: xs_.stop - xlo]
    if local.size == 0:
        return None
    return RenderedObject(obj.id, (zs, ys_, xs_), np.ascontiguousarray(local))


def frame_from_direction(direction: Sequence[float], normal_hint: Sequence[float]) -> np.ndarray:
    """Orthonormal rows (tangent-based): row 2 = ``direction``, row 0 = ``normal_hint`` made perpendicular, row 1 = cross."""
    t = np.asarray(direction, dtype=float)
    t = t / np.linalg.norm(t)
    n = np.asarray(normal_hint, dtype=float)
    n = n - (n @ t) * t
    if np.linalg.norm(n) < 1e-6:
        n = np.cross(t, [1.0, 0.0, 0.0])
        if np.linalg.norm(n) < 1e-6:
            n = np.cross(t, [0.0, 1.0, 0.0])
    n = n / np.linalg.norm(n)
    b = np.cross(t, n)
    return np.vstack([n, b, t])


def occupancy_integral_mm3(rendered: RenderedObject, grid: Grid) -> float:
    """Volume (mm3) recovered by summing the occupancy (checks mass conservation)."""
    return float(rendered.occupancy.sum(dtype=np.float64) * grid.pixel_mm ** 2 * grid.increment_mm)
