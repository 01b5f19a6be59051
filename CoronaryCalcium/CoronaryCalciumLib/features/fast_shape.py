"""pyradiomics' 3D shape features with the same values, computed in a fraction of the time.

pyradiomics 3.0.1 (``radiomics._cshape.calculate_coefficients``) builds the marching-cubes mesh of the (padded) mask and
searches the four maximum diameters over every pair of mesh vertices, O(n^2) in the vertex count: most of the
extraction time on a heart-sized region. Here the same quantities are found without the pair search:

- surface area (mm2) and mesh volume (mm3) are sums over the 2x2x2 cubes of the mask. Each cube's share depends only on
  its corner pattern (256 of them) and, for the volume, linearly on the cube's position; the per-pattern shares are
  measured once per voxel spacing by running pyradiomics' own C routine on single cubes (and on a cube shifted by one
  voxel along each axis), so its marching-cubes table is used as is, never copied.
- the mesh vertices are the midpoints between face-adjacent inside/outside voxels (the isovalue sits halfway); the
  largest distance between points is reached between two vertices of their convex hull, so the 3D diameter is searched
  on the hull's vertices (``scipy.spatial.ConvexHull``) and each 2D diameter (vertices sharing a z, y or x coordinate)
  on the hull of that plane's vertices. Degenerate (flat or collinear) sets are searched in full.

``Testing/features/test_fast_shape.py`` pins every feature against stock pyradiomics on generated regions.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from typing import Iterator, Tuple

import numpy as np

# Corner order of a cube, (dz, dy, dx): bit k of a pattern index is corner k. Any fixed order works, because the
# per-pattern shares are measured on cubes built with this same order.
_CORNERS = tuple((dz, dy, dx) for dz in (0, 1) for dy in (0, 1) for dx in (0, 1))
_CHUNK = 2048
_PATCH_LOCK = threading.Lock()


def _c_coefficients(mask: np.ndarray, spacing: np.ndarray):
    from radiomics import cShape

    return cShape.calculate_coefficients(mask, spacing)


@functools.lru_cache(maxsize=16)
def _pattern_shares(spacing: Tuple[float, float, float]):
    """Per corner pattern: surface area (mm2), volume share at the origin (mm3) and its change per voxel of shift
    along z, y and x (mm3), from pyradiomics' C routine on single cubes."""
    spacing_array = np.asarray(spacing, dtype=float)
    area = np.zeros(256)
    volume = np.zeros(256)
    slope = np.zeros((256, 3))
    cubes = np.zeros((256, 2, 2, 2), dtype=bool)
    for pattern in range(256):
        for bit, corner in enumerate(_CORNERS):
            cubes[pattern][corner] = bool(pattern >> bit & 1)
    for pattern in range(1, 255):
        cube = cubes[pattern]
        area[pattern], volume[pattern], _diameters = _c_coefficients(cube, spacing_array)
    for pattern in range(1, 255):
        cube = cubes[pattern]
        for axis in range(3):
            # The cube shifted by one voxel along ``axis``: an empty plane before it adds one cube whose pattern is
            # the empty plane plus the cube's first plane.
            shape = [2, 2, 2]
            shape[axis] = 3
            shifted = np.zeros(shape, dtype=bool)
            index = [slice(None)] * 3
            index[axis] = slice(1, 3)
            shifted[tuple(index)] = cube
            first = [slice(None)] * 3
            first[axis] = slice(0, 2)
            lead = _pattern_of(shifted[tuple(first)])
            _area, total, _diameters = _c_coefficients(shifted, spacing_array)
            slope[pattern, axis] = total - volume[lead] - volume[pattern]
    return area, volume, slope


def _pattern_of(cube: np.ndarray) -> int:
    return int(sum(1 << bit for bit, corner in enumerate(_CORNERS) if cube[corner]))


def surface_and_volume(mask: np.ndarray, spacing) -> Tuple[float, float]:
    """Mesh surface area (mm2) and volume (mm3) of a padded boolean (z, y, x) mask, as pyradiomics computes them."""
    area, volume, slope = _pattern_shares(tuple(float(s) for s in spacing))
    mask = np.asarray(mask, dtype=bool)
    nz, ny, nx = mask.shape
    pattern = np.zeros((nz - 1, ny - 1, nx - 1), dtype=np.uint8)
    for bit, (dz, dy, dx) in enumerate(_CORNERS):
        pattern |= mask[dz:nz - 1 + dz, dy:ny - 1 + dy, dx:nx - 1 + dx].astype(np.uint8) << bit
    where = np.nonzero((pattern != 0) & (pattern != 255))
    kinds = pattern[where].astype(np.intp)
    counts = np.bincount(kinds, minlength=256).astype(float)
    surface = float(counts @ area)
    total = float(counts @ volume)
    for axis in range(3):
        offsets = np.bincount(kinds, weights=where[axis].astype(float), minlength=256)
        total += float(offsets @ slope[:, axis])
    return surface, total


def mesh_vertices(mask: np.ndarray) -> np.ndarray:
    """The mesh vertices of a padded boolean mask in doubled voxel indices (z, y, x): 2i+1 halfway between i and i+1."""
    mask = np.asarray(mask, dtype=bool)
    points = []
    for axis in range(3):
        lower = [slice(None)] * 3
        upper = [slice(None)] * 3
        lower[axis] = slice(0, -1)
        upper[axis] = slice(1, None)
        crossing = np.argwhere(mask[tuple(lower)] != mask[tuple(upper)]) * 2
        crossing[:, axis] += 1
        points.append(crossing)
    return np.concatenate(points)


def _max_squared_distance(points: np.ndarray) -> float:
    """Largest squared distance between two of ``points`` (physical, mm), by a chunked full search."""
    best = 0.0
    for start in range(0, len(points), _CHUNK):
        block = points[start:start + _CHUNK]
        d = block[:, None, :] - points[None, start:, :]
        best = max(best, float(np.max(np.einsum("ijk,ijk->ij", d, d), initial=0.0)))
    return best


def _hull_max_squared_distance(points: np.ndarray) -> float:
    from scipy.spatial import ConvexHull, QhullError

    if len(points) > points.shape[1] + 1:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:  # flat or collinear: every point may matter
            pass
    return _max_squared_distance(points)


def diameters(mask: np.ndarray, spacing) -> Tuple[float, float, float, float]:
    """Maximum 2D diameters in slice (same z), column (same y) and row (same x) planes and the maximum 3D diameter
    (mm) of the mesh of a padded boolean mask, in pyradiomics' order."""
    doubled = mesh_vertices(mask)
    if len(doubled) == 0:
        return 0.0, 0.0, 0.0, 0.0
    physical = doubled / 2.0 * np.asarray(spacing, dtype=float)
    planes = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        order = np.argsort(doubled[:, axis], kind="stable")
        keys = doubled[order, axis]
        cuts = np.flatnonzero(np.diff(keys)) + 1
        best = 0.0
        for group in np.split(order, cuts):
            if len(group) > 1:
                best = max(best, _hull_max_squared_distance(physical[group][:, others]))
        planes.append(best)
    full = _hull_max_squared_distance(physical)
    return tuple(float(np.sqrt(v)) for v in planes + [full])


def calculate_coefficients(mask: np.ndarray, spacing) -> Tuple[float, float, Tuple[float, float, float, float]]:
    """Drop-in for ``radiomics.cShape.calculate_coefficients``: (surface area mm2, volume mm3, diameters mm)."""
    surface, volume = surface_and_volume(mask, spacing)
    return surface, volume, diameters(mask, spacing)


class _FastCShape:
    """Stands in for the ``radiomics.cShape`` module inside ``radiomics.shape`` (``shape2D`` keeps its own)."""

    calculate_coefficients = staticmethod(calculate_coefficients)


_patched = {"depth": 0, "stock": None}


@contextmanager
def fast_shape() -> Iterator[None]:
    """While the block runs, pyradiomics' 3D shape class (``radiomics.shape.RadiomicsShape``, which looks its C
    module up at call time) gets its mesh coefficients from ``calculate_coefficients`` above; restored afterwards.
    pyradiomics has no per-extractor hook for this (its feature classes are one global table). Nested and concurrent
    blocks share one swap."""
    import radiomics.shape

    with _PATCH_LOCK:
        if _patched["depth"] == 0:
            _patched["stock"] = radiomics.shape.cShape
            radiomics.shape.cShape = _FastCShape
        _patched["depth"] += 1
    try:
        yield
    finally:
        with _PATCH_LOCK:
            _patched["depth"] -= 1
            if _patched["depth"] == 0:
                radiomics.shape.cShape = _patched["stock"]
