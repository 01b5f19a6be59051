"""Rendering physics: anatomy planes summed with the slice sensitivity profile, then the in-plane point-spread function.

Planes are rendered one at a time and added into the output slices they belong to, so memory holds the output volume and
one plane. The in-plane PSF is a Gaussian of the configured FWHM, applied as two 1D passes over the volume.
"""

from __future__ import annotations

import math
from typing import List, Optional

import numpy as np
from scipy import ndimage

from .grid import FineSampling, Grid
from .raster import Plane
from .scene import Painter
from ..progress import Progress

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def render_planes(grid: Grid, sampling: FineSampling, painters: List[Painter],
                  progress: Optional[Progress] = None) -> np.ndarray:
    """Output volume (float32, HU, before the PSF): each slice the SSP-weighted sum of its planes."""
    nz, ny, nx = grid.shape
    out = np.zeros(grid.shape, dtype=np.float32)
    img = np.empty((ny, nx), dtype=np.float32)
    x, y = grid.x(), grid.y()
    scratch = np.empty_like(img)
    for j, z in enumerate(sampling.z):
        plane = Plane(x=x, y=y, z=float(z), pixel=grid.pixel_mm, img=img)
        for painter in painters:
            if painter.z_range[0] <= z <= painter.z_range[1]:
                painter.paint(plane)
        for k, weight in sampling.outputs_of_plane(j, nz):
            np.multiply(img, np.float32(weight), out=scratch)
            out[k] += scratch
        if progress is not None and j % 16 == 0:
            progress(j / sampling.count, "rendering anatomy")
    return out


def psf_sigma_pixels(grid: Grid, fwhm_mm: float) -> float:
    return fwhm_mm / FWHM_PER_SIGMA / grid.pixel_mm


def apply_psf(volume: np.ndarray, sigma_pixels: float) -> None:
    """In-place in-plane Gaussian blur (rows then columns)."""
    if sigma_pixels <= 0:
        return
    ndimage.gaussian_filter1d(volume, sigma_pixels, axis=1, output=volume, mode="nearest", truncate=4.0)
    ndimage.gaussian_filter1d(volume, sigma_pixels, axis=2, output=volume, mode="nearest", truncate=4.0)
