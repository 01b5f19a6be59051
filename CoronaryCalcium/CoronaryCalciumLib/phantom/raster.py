"""Anti-aliased painting of analytic shapes on one axial plane.

Every shape yields a signed distance ``d`` (mm, negative inside) on the pixels of its bounding box; coverage is the ramp
``clip(0.5 - d / pixel, 0, 1)``, which gives edges the partial-volume values a pixel-sized box would. Painting replaces:
``img += coverage * (value - img)``. Only bounding boxes are touched, so cost follows the shape, not the plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np


@dataclass
class Plane:
    """One axial plane at height ``z`` (mm): pixel centres ``x`` (columns) and ``y`` (rows) in mm, image ``img`` (HU)."""

    x: np.ndarray
    y: np.ndarray
    z: float
    pixel: float
    img: np.ndarray

    def box(self, xmin: float, xmax: float, ymin: float, ymax: float) -> Optional[Tuple[slice, slice]]:
        """(rows, cols) slices of the pixels whose centres lie within the rectangle grown by one pixel, or None."""
        x0, pixel = self.x[0], self.pixel
        c0 = max(0, int(math.floor((xmin - x0) / pixel)) - 1)
        c1 = min(self.x.size, int(math.ceil((xmax - x0) / pixel)) + 2)
        y0 = self.y[0]
        r0 = max(0, int(math.floor((ymin - y0) / pixel)) - 1)
        r1 = min(self.y.size, int(math.ceil((ymax - y0) / pixel)) + 2)
        if c0 >= c1 or r0 >= r1:
            return None
        return slice(r0, r1), slice(c0, c1)


def coverage(distance: Optional[np.ndarray], pixel: float) -> Optional[np.ndarray]:
    """Fraction of a pixel covered by a shape, from the signed distance (mm) of the pixel centre to its edge; None for
    a shape outside the plane (its distance is None)."""
    if distance is None:
        return None
    cover = 0.5 - distance * (1.0 / pixel)
    np.clip(cover, 0.0, 1.0, out=cover)
    return cover


def paint(plane: Plane, box: Optional[Tuple[slice, slice]], cover: Optional[np.ndarray], value) -> None:
    """Replace the plane's value by ``value`` (scalar or array) in proportion to ``cover``; nothing for a shape
    outside the plane (box None)."""
    if box is None:
        return
    region = plane.img[box]
    region += cover * (value - region)


def ellipse_distance(plane: Plane, cx: float, cy: float, a: float, b: float, margin: float = 0.0):
    """(box, signed distance) of an axis-aligned ellipse with semi-axes a (x) and b (y), mm; distance measured along the
    ray from the centre (exact on the axes, close elsewhere)."""
    if a <= 0 or b <= 0:
        return None, None
    box = plane.box(cx - a - margin, cx + a + margin, cy - b - margin, cy + b + margin)
    if box is None:
        return None, None
    dx = (plane.x[box[1]] - cx).astype(np.float32)
    dy = (plane.y[box[0]] - cy).astype(np.float32)
    q = (dx * dx)[None, :] / np.float32(a * a) + (dy * dy)[:, None] / np.float32(b * b)
    radius = np.sqrt((dx * dx)[None, :] + (dy * dy)[:, None])
    root = np.sqrt(q)
    np.maximum(root, 1e-6, out=root)
    distance = radius * (1.0 - 1.0 / root)
    return box, distance


def quadric_section_distance(plane: Plane, centre: Sequence[float], matrix: np.ndarray, margin: float = 0.0):
    """(box, signed distance) of the section at ``plane.z`` of the ellipsoid (p - c)^T M (p - c) <= 1; None if missed."""
    m2 = matrix[:2, :2]
    m_xz = matrix[:2, 2]
    w = plane.z - centre[2]
    inverse = np.linalg.inv(m2)
    shift = -inverse @ (m_xz * w)
    rho2 = 1.0 - matrix[2, 2] * w * w + float((m_xz * w) @ inverse @ (m_xz * w))
    if rho2 <= 1e-6:
        return None, None
    a11, a12, a22 = m2[0, 0] / rho2, m2[0, 1] / rho2, m2[1, 1] / rho2
    cx, cy = centre[0] + shift[0], centre[1] + shift[1]
    # half extents of the ellipse u^T A u <= 1 along x and y
    det = a11 * a22 - a12 * a12
    half_x = math.sqrt(a22 / det)
    half_y = math.sqrt(a11 / det)
    box = plane.box(cx - half_x - margin, cx + half_x + margin, cy - half_y - margin, cy + half_y + margin)
    if box is None:
        return None, None
    dx = (plane.x[box[1]] - cx).astype(np.float32)
    dy = (plane.y[box[0]] - cy).astype(np.float32)
    q = (np.float32(a11) * dx * dx)[None, :] + np.float32(2 * a12) * np.outer(dy, dx) + (np.float32(a22) * dy * dy)[:, None]
    radius = np.sqrt((dx * dx)[None, :] + (dy * dy)[:, None])
    root = np.sqrt(q)
    np.maximum(root, 1e-6, out=root)
    return box, radius * (1.0 - 1.0 / root)


def ellipsoid_matrix(axes: np.ndarray, semi_axes: Sequence[float]) -> np.ndarray:
    """M of the ellipsoid whose principal directions are the rows of ``axes`` with the given semi-axes (mm)."""
    rotation = np.asarray(axes, dtype=np.float64)
    scale = np.diag([1.0 / (s * s) for s in semi_axes])
    return rotation.T @ scale @ rotation


def rectangle_distance(plane: Plane, cx: float, cy: float, half_x: float, half_y: float):
    """(box, signed distance) of an axis-aligned rectangle (box distance, exact)."""
    box = plane.box(cx - half_x, cx + half_x, cy - half_y, cy + half_y)
    if box is None:
        return None, None
    dx = np.abs(plane.x[box[1]] - cx).astype(np.float32) - np.float32(half_x)
    dy = np.abs(plane.y[box[0]] - cy).astype(np.float32) - np.float32(half_y)
    outside = np.sqrt(np.maximum(dx, 0)[None, :] ** 2 + np.maximum(dy, 0)[:, None] ** 2)
    inside = np.minimum(np.maximum(dx[None, :], dy[:, None]), 0)
    return box, outside + inside


class TubeSet:
    """Tubes given as dense centre-line points (N, 3) mm with radii (N,) mm and an integer tag per point.

    A tube is the union of the spheres on its points (sphere-swept), so each plane sees discs; consecutive points must be
    closer than about half the radius. ``hits(plane, ...)`` returns the pixels within reach with the signed distance to
    the nearest surface and the tag of the nearest point.
    """

    def __init__(self, points: np.ndarray, radii: np.ndarray, tags: Optional[np.ndarray] = None,
                 extra: Optional[np.ndarray] = None):
        order = np.argsort(points[:, 2], kind="stable")
        self.points = np.asarray(points, dtype=np.float64)[order]
        self.radii = np.asarray(radii, dtype=np.float64)[order]
        self.tags = (np.zeros(len(order), dtype=np.int64) if tags is None else np.asarray(tags, dtype=np.int64)[order])
        self.extra = None if extra is None else np.asarray(extra, dtype=np.float64)[order]
        self.max_radius = float(self.radii.max()) if self.radii.size else 0.0
        self.z_range = ((float(self.points[:, 2].min() - self.max_radius), float(self.points[:, 2].max() + self.max_radius))
                        if self.radii.size else (0.0, -1.0))

    def __len__(self) -> int:
        return int(self.radii.size)

    def hits(self, x: np.ndarray, y: np.ndarray, z: float, pixel: float, reach: float = 0.0, half_thickness: float = 0.0,
             nearest: bool = True):
        """Pixels of the plane at ``z`` (or of the slab ``z`` +- ``half_thickness``) within ``reach`` mm outside a tube.

        Returns (flat pixel index, signed distance mm, tag, index of the nearest point in this set's z-sorted order),
        one entry per pixel, or None when no tube reaches the plane. With ``nearest=False`` only the first two are
        filled (faster; tags and point indices are None).
        """
        if not len(self):
            return None
        window = self.max_radius + reach + half_thickness
        lo = int(np.searchsorted(self.points[:, 2], z - window, side="left"))
        hi = int(np.searchsorted(self.points[:, 2], z + window, side="right"))
        if lo >= hi:
            return None
        idx = np.arange(lo, hi)
        dz = np.abs(self.points[idx, 2] - z) - half_thickness
        np.maximum(dz, 0.0, out=dz)
        outer = self.radii[idx] + reach
        keep = dz < outer
        if not keep.any():
            return None
        idx, dz, outer = idx[keep], dz[keep], outer[keep]
        # disc radius of each sphere on this plane (surface and reach)
        disc = np.sqrt(np.maximum(self.radii[idx] ** 2 - dz ** 2, 0.0))
        reach_disc = np.sqrt(outer ** 2 - dz ** 2)
        nx, ny = x.size, y.size
        col = np.rint((self.points[idx, 0] - x[0]) / pixel).astype(np.int64)
        row = np.rint((self.points[idx, 1] - y[0]) / pixel).astype(np.int64)
        # offset of the rounded centre from the true centre, in mm
        fx = (x[0] + col * pixel) - self.points[idx, 0]
        fy = (y[0] + row * pixel) - self.points[idx, 1]
        flat_all, dist_all, point_all = [], [], []
        half = _bucket(np.ceil(reach_disc / pixel).astype(np.int64))
        for size in np.unique(half):
            members = np.flatnonzero(half == size)
            oy, ox = _offsets(int(size))
            c = col[members][:, None] + ox[None, :]
            r = row[members][:, None] + oy[None, :]
            ddx = fx[members][:, None] + ox[None, :] * pixel
            ddy = fy[members][:, None] + oy[None, :] * pixel
            planar = np.sqrt(ddx * ddx + ddy * ddy)
            ok = (planar <= reach_disc[members][:, None]) & (c >= 0) & (c < nx) & (r >= 0) & (r < ny)
            if not ok.any():
                continue
            flat_all.append((r * nx + c)[ok])
            dist_all.append((planar - disc[members][:, None])[ok])
            if nearest:
                point_all.append(np.broadcast_to(idx[members][:, None], ok.shape)[ok])
        if not flat_all:
            return None
        flat = np.concatenate(flat_all)
        dist = np.concatenate(dist_all)
        if not nearest:
            buffer = _scratch(nx * ny)
            np.minimum.at(buffer, flat, dist)
            unique = np.unique(flat)
            dist = buffer[unique].copy()
            buffer[unique] = np.inf
            return unique, dist, None, None
        point = np.concatenate(point_all)
        # nearest surface per pixel: sort by (pixel, distance) and keep the first of each pixel
        order = np.lexsort((dist, flat))
        flat, dist, point = flat[order], dist[order], point[order]
        first = np.ones(flat.size, dtype=bool)
        first[1:] = flat[1:] != flat[:-1]
        return flat[first], dist[first], self.tags[point[first]], point[first]


_OFFSETS = {}
_SCRATCH = {}


def _offsets(size: int):
    """Row and column offsets of a (2 size + 1)^2 square, cached."""
    if size not in _OFFSETS:
        off = np.arange(-size, size + 1)
        oy, ox = np.meshgrid(off, off, indexing="ij")
        _OFFSETS[size] = (oy.ravel(), ox.ravel())
    return _OFFSETS[size]


def _scratch(n: int) -> np.ndarray:
    """A float64 buffer of n infinities, reused between calls (callers restore the entries they touch)."""
    if n not in _SCRATCH:
        _SCRATCH[n] = np.full(n, np.inf)
    return _SCRATCH[n]


class CapsuleChain:
    """A tube as a chain of cones between nodes (N, 3) mm with radii (N,) mm: distance to each segment minus the radius
    interpolated at the closest point. Exact for a polyline centre line; used for the large vessels and airways."""

    def __init__(self, nodes: np.ndarray, radii: np.ndarray):
        self.a = np.asarray(nodes[:-1], dtype=np.float64)
        self.b = np.asarray(nodes[1:], dtype=np.float64)
        self.ra = np.asarray(radii[:-1], dtype=np.float64)
        self.rb = np.asarray(radii[1:], dtype=np.float64)
        r = np.maximum(self.ra, self.rb)
        self.zlo = np.minimum(self.a[:, 2], self.b[:, 2]) - r
        self.zhi = np.maximum(self.a[:, 2], self.b[:, 2]) + r
        self.z_range = (float(self.zlo.min()), float(self.zhi.max())) if len(self.ra) else (0.0, -1.0)

    def distance(self, plane: Plane, grow: float = 0.0):
        """(box, signed distance) of the chain on ``plane`` (radii grown by ``grow`` mm), or (None, None)."""
        z = plane.z
        active = np.flatnonzero((self.zlo - grow <= z) & (self.zhi + grow >= z))
        if active.size == 0:
            return None, None
        boxes = []
        for i in active:
            r = max(self.ra[i], self.rb[i]) + grow
            # the part of the segment within r of the plane
            a, b = self.a[i], self.b[i]
            dzs = b[2] - a[2]
            if abs(dzs) > 1e-9:
                t0 = np.clip(((z - r) - a[2]) / dzs, 0.0, 1.0)
                t1 = np.clip(((z + r) - a[2]) / dzs, 0.0, 1.0)
                p0, p1 = a + min(t0, t1) * (b - a), a + max(t0, t1) * (b - a)
            else:
                p0, p1 = a, b
            box = plane.box(min(p0[0], p1[0]) - r, max(p0[0], p1[0]) + r, min(p0[1], p1[1]) - r, max(p0[1], p1[1]) + r)
            if box is not None:
                boxes.append((i, box))
        if not boxes:
            return None, None
        r0 = min(bx[0].start for _, bx in boxes)
        r1 = max(bx[0].stop for _, bx in boxes)
        c0 = min(bx[1].start for _, bx in boxes)
        c1 = max(bx[1].stop for _, bx in boxes)
        union = (slice(r0, r1), slice(c0, c1))
        best = np.full((r1 - r0, c1 - c0), np.inf, dtype=np.float32)
        for i, box in boxes:
            a, ab = self.a[i], self.b[i] - self.a[i]
            length2 = max(float(ab @ ab), 1e-12)
            px = (plane.x[box[1]] - a[0]).astype(np.float32)[None, :]
            py = (plane.y[box[0]] - a[1]).astype(np.float32)[:, None]
            pz = np.float32(z - a[2])
            t = (px * np.float32(ab[0]) + py * np.float32(ab[1]) + pz * np.float32(ab[2])) * np.float32(1.0 / length2)
            np.clip(t, 0.0, 1.0, out=t)
            qx = px - t * np.float32(ab[0])
            qy = py - t * np.float32(ab[1])
            qz = pz - t * np.float32(ab[2])
            radius = np.float32(self.ra[i] + grow) + t * np.float32(self.rb[i] - self.ra[i])
            d = np.sqrt(qx * qx + qy * qy + qz * qz) - radius
            sub = best[box[0].start - r0: box[0].stop - r0, box[1].start - c0: box[1].stop - c0]
            np.minimum(sub, d, out=sub)
        return union, best


def _bucket(half: np.ndarray) -> np.ndarray:
    """Round pixel half-sizes up to a few buckets so points are processed in a handful of batches."""
    buckets = np.array([1, 2, 3, 4, 6, 8, 11, 15, 20, 27, 36, 48, 64, 85, 113, 150, 200, 270, 360, 480])
    return buckets[np.minimum(np.searchsorted(buckets, half), buckets.size - 1)]
