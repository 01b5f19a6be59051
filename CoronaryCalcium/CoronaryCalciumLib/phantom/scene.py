"""The anatomy as an ordered list of painters, each drawing its structure on one axial plane (later painters cover earlier).

Order: body layers and lungs, lung vessels, mediastinal fat, abdomen below the diaphragm, heart (pericardium, epicardial
fat, myocardium, blood), groove fat around the coronaries, great vessels, airway and oesophagus, spine, ribs, sternum,
and last the coronary arteries. Calcium is not painted here (see ``calcium.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import materials as hu
from .anatomy import Anatomy, Tube
from .raster import (CapsuleChain, Plane, TubeSet, coverage, ellipse_distance, ellipsoid_matrix, paint,
                     quadric_section_distance,
                     rectangle_distance)

Z_ALL = (-1e9, 1e9)


class Painter:
    """Draws one structure; ``z_range`` (mm) bounds the planes it can touch."""

    z_range: Tuple[float, float] = Z_ALL
    name = "structure"

    def paint(self, plane: Plane) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class BodyPainter(Painter):
    """Air, skin, subcutaneous fat, muscle and the lungs (with a gravity gradient); cached while the section is unchanged."""

    name = "body"

    def __init__(self, anatomy: Anatomy):
        self.anatomy = anatomy
        self._cache_key: Optional[float] = None
        self._cache: Optional[np.ndarray] = None

    def paint(self, plane: Plane) -> None:
        key = round(self.anatomy.narrowing(plane.z), 3)
        if key != self._cache_key or self._cache is None or self._cache.shape != plane.img.shape:
            self._cache = self._draw(plane)
            self._cache_key = key
        np.copyto(plane.img, self._cache)

    def _draw(self, plane: Plane) -> np.ndarray:
        plane.img.fill(hu.AIR)
        layers = self.anatomy.body.layers(plane.z, self.anatomy.narrowing(plane.z))
        for (cx, cy, a, b), value in zip(layers[:3], (hu.SKIN, hu.FAT, hu.MUSCLE)):
            box, distance = ellipse_distance(plane, cx, cy, a, b)
            if box is not None:
                paint(plane, box, coverage(distance, plane.pixel), value)
        cx, cy, a, b = layers[3]
        box, distance = ellipse_distance(plane, cx, cy, a, b)
        if box is not None:
            rows = plane.y[box[0]]
            lung = (hu.LUNG + 45.0 * np.clip((rows - cy) / b, -1.0, 1.0)).astype(np.float32)[:, None]
            paint(plane, box, coverage(distance, plane.pixel), lung)
        return plane.img.copy()


class EllipsePainter(Painter):
    """A vertical elliptic cylinder (axis-aligned section) between z bounds, optionally only inside the pleural cavity."""

    def __init__(self, name: str, cx: float, cy: float, a: float, b: float, value: float,
                 z_range: Tuple[float, float] = Z_ALL):
        self.name, self.cx, self.cy, self.a, self.b, self.value, self.z_range = name, cx, cy, a, b, value, z_range

    def paint(self, plane: Plane) -> None:
        box, distance = ellipse_distance(plane, self.cx, self.cy, self.a, self.b)
        if box is not None:
            paint(plane, box, coverage(distance, plane.pixel), self.value)


class AbdomenPainter(Painter):
    """Below the diaphragm domes: liver on the right, spleen and stomach on the left, inside the cavity outline."""

    name = "abdomen"

    def __init__(self, anatomy: Anatomy):
        self.anatomy = anatomy
        self.z_range = (-1e9, max(d.z for d in anatomy.domes.values()))

    def paint(self, plane: Plane) -> None:
        cx, cy, a, b = self.anatomy.cavity(plane.z)
        for name, value in (("left", hu.SPLEEN), ("right", hu.LIVER)):
            dome = self.anatomy.domes[name]
            radius = dome.radius_at(plane.z)
            if radius <= 0:
                continue
            box, d_disc = ellipse_distance(plane, dome.x, dome.y, radius, radius)
            if box is None:
                continue
            _, d_cav = _ellipse_on_box(plane, box, cx, cy, a + 1.0, b + 1.0)
            paint(plane, box, coverage(np.maximum(d_disc, d_cav), plane.pixel), value)


def _ellipse_on_box(plane: Plane, box, cx, cy, a, b):
    dx = (plane.x[box[1]] - cx).astype(np.float32)
    dy = (plane.y[box[0]] - cy).astype(np.float32)
    q = (dx * dx)[None, :] / np.float32(a * a) + (dy * dy)[:, None] / np.float32(b * b)
    radius = np.sqrt((dx * dx)[None, :] + (dy * dy)[:, None])
    root = np.maximum(np.sqrt(q), 1e-6)
    return box, radius * (1.0 - 1.0 / root)


class EllipsoidPainter(Painter):
    """A general ellipsoid (quadric), optionally cut by a half-space n.(p - c) >= -offset."""

    def __init__(self, name: str, centre: Sequence[float], matrix: np.ndarray, value,
                 cut: Optional[Tuple[np.ndarray, np.ndarray, float]] = None):
        self.name = name
        self.centre = np.asarray(centre, dtype=float)
        self.matrix = matrix
        self.value = value
        self.cut = cut
        half_z = math.sqrt(np.linalg.inv(matrix)[2, 2])
        self.z_range = (self.centre[2] - half_z, self.centre[2] + half_z)

    def distance(self, plane: Plane):
        box, distance = quadric_section_distance(plane, self.centre, self.matrix)
        if box is None or self.cut is None:
            return box, distance
        normal, point, offset = self.cut
        planar = math.hypot(normal[0], normal[1])
        g = (normal[0] * (plane.x[box[1]] - point[0]))[None, :] + (normal[1] * (plane.y[box[0]] - point[1]))[:, None] \
            + normal[2] * (plane.z - point[2]) + offset
        if planar < 1e-3:
            cut_distance = np.where(g >= 0, -10.0, 10.0).astype(np.float32)
        else:
            cut_distance = (-g / planar).astype(np.float32)
        return box, np.maximum(distance, cut_distance)

    def paint(self, plane: Plane) -> None:
        box, distance = self.distance(plane)
        if box is not None:
            paint(plane, box, coverage(distance, plane.pixel), self.value)


class UnionPainter(Painter):
    """Several distance-giving painters drawn as one shape with one value (e.g. the grown heart outline)."""

    def __init__(self, name: str, parts: List[EllipsoidPainter], value: float):
        self.name, self.parts, self.value = name, parts, value
        self.z_range = (min(p.z_range[0] for p in parts), max(p.z_range[1] for p in parts))

    def paint(self, plane: Plane) -> None:
        for part in self.parts:
            if part.z_range[0] <= plane.z <= part.z_range[1]:
                box, distance = part.distance(plane)
                if box is not None:
                    paint(plane, box, coverage(distance, plane.pixel), self.value)


class TubePainter(Painter):
    """Tubes (sphere-swept centre lines) filled with ``value``; radii grown by ``grow`` mm (e.g. a fat sleeve)."""

    def __init__(self, name: str, points: np.ndarray, radii: np.ndarray, value: float, grow: float = 0.0):
        self.name = name
        self.tubes = TubeSet(points, np.asarray(radii) + grow)
        self.value = value
        self.z_range = self.tubes.z_range

    def paint(self, plane: Plane) -> None:
        hits = self.tubes.hits(plane.x, plane.y, plane.z, plane.pixel, reach=plane.pixel * 0.5, nearest=False)
        if hits is None:
            return
        flat, distance = hits[0], hits[1]
        cover = coverage(distance.astype(np.float32), plane.pixel)
        view = plane.img.reshape(-1)
        view[flat] += cover * (self.value - view[flat])


class ChainPainter(Painter):
    """A large tube (aorta, pulmonary arteries, veins, airway) as a chain of cones through nodes ~``node_mm`` apart."""

    def __init__(self, name: str, points: np.ndarray, radii: np.ndarray, value: float, grow: float = 0.0,
                 node_mm: float = 4.0):
        self.name, self.value, self.grow = name, value, grow
        step = max(1, int(round(node_mm / max(_spacing(points), 1e-6))))
        keep = np.unique(np.concatenate([np.arange(0, len(points), step), [len(points) - 1]]))
        self.chain = CapsuleChain(points[keep], np.asarray(radii)[keep])
        self.z_range = (self.chain.z_range[0] - grow, self.chain.z_range[1] + grow)

    def distance(self, plane: Plane):
        return self.chain.distance(plane, self.grow)

    def paint(self, plane: Plane) -> None:
        box, distance = self.chain.distance(plane, self.grow)
        if box is not None:
            paint(plane, box, coverage(distance, plane.pixel), self.value)


def _spacing(points: np.ndarray) -> float:
    if len(points) < 2:
        return 1.0
    return float(np.median(np.linalg.norm(np.diff(points, axis=0), axis=1)))


class SpinePainter(Painter):
    """Vertebral bodies (cortical rim, cancellous core, endplates) with discs, canal, arch, spinous and transverse
    processes, and the paraspinal soft tissue around them."""

    name = "spine"

    def __init__(self, anatomy: Anatomy):
        self.spine = anatomy.spine

    def paint(self, plane: Plane) -> None:
        s = self.spine
        level = s.level_height + s.disc_height
        phase = (plane.z - s.phase) % level
        r = s.radius * (1.0 + 0.002 * max(0.0, -plane.z))
        pixel = plane.pixel
        # paraspinal and paravertebral soft tissue
        for cx, cy, a, b, value in ((0.0, s.canal_y + 8.0, r + 16.0, 30.0, hu.MUSCLE),
                                    (0.0, s.y, r * 1.15 + 5.0, r + 4.0, hu.MUSCLE)):
            box, d = ellipse_distance(plane, cx, cy, a, b)
            if box is not None:
                paint(plane, box, coverage(d, pixel), value)
        if phase < s.disc_height:
            box, d = ellipse_distance(plane, 0.0, s.y, r * 1.12, r)
            paint(plane, box, coverage(d, pixel), hu.DISC)
        else:
            endplate = min(phase - s.disc_height, level - phase) < 1.2
            box, d = ellipse_distance(plane, 0.0, s.y, r * 1.12, r)
            paint(plane, box, coverage(d, pixel), hu.CORTICAL_BONE * 0.8)
            if not endplate:
                box, d = ellipse_distance(plane, 0.0, s.y, r * 1.12 - 1.6, r - 1.6)
                paint(plane, box, coverage(d, pixel), hu.CANCELLOUS_BONE)
        # neural arch, canal, spinous and (in part of each level) transverse processes
        box, d = ellipse_distance(plane, 0.0, s.canal_y + 1.0, 11.0, 11.0)
        paint(plane, box, coverage(d, pixel), 450.0)
        box, d = rectangle_distance(plane, 0.0, s.canal_y + 21.0, 2.5, 11.0)
        paint(plane, box, coverage(d, pixel), 420.0)
        if s.disc_height + 0.2 * s.level_height < phase < s.disc_height + 0.55 * s.level_height:
            for side in (-1.0, 1.0):
                box, d = rectangle_distance(plane, side * 21.0, s.canal_y, 10.0, 3.5)
                paint(plane, box, coverage(d, pixel), 420.0)
        box, d = ellipse_distance(plane, 0.0, s.canal_y, 7.5, 7.0)
        paint(plane, box, coverage(d, pixel), hu.CSF)


class RibPainter(Painter):
    """Ribs in the chest wall just outside the pleura (cortical shell, marrow) and the costal cartilages of the upper
    seven ribs; position along the wall is the angle from the posterior midline."""

    name = "ribs"

    def __init__(self, anatomy: Anatomy):
        self.anatomy = anatomy
        self._key = None
        self._band = None

    def _band_coordinates(self, plane: Plane):
        """Pixels of the chest-wall band around the cavity, per side sorted by angle: {side: (flat, depth, angle)}."""
        cx, cy, a, b = self.anatomy.cavity(plane.z)
        key = (round(cx, 2), round(cy, 2), round(a, 2), round(b, 2), plane.img.shape)
        if key != self._key:
            wall = self.anatomy.body.wall + 3.0
            box = plane.box(cx - a - wall, cx + a + wall, cy - b - wall, cy + b + wall)
            dx = (plane.x[box[1]] - cx)[None, :]
            dy = (plane.y[box[0]] - cy)[:, None]
            ex, ey = dx / a, dy / b
            rho = np.sqrt(ex * ex + ey * ey)
            boundary = np.sqrt(dx * dx + dy * dy) / np.maximum(rho, 1e-6)
            depth = (rho - 1.0) * boundary  # mm outside the cavity outline
            rows, cols = np.nonzero((depth > -0.5) & (depth < wall))
            angle = np.degrees(np.arctan2(np.abs(ex[0, cols]), ey[rows, 0]))
            side = np.sign(dx[0, cols])
            flat = (rows + box[0].start) * plane.img.shape[1] + cols + box[1].start
            band = {}
            for sign in (-1, 1):
                pick = np.flatnonzero(side == sign)
                order = pick[np.argsort(angle[pick], kind="stable")]
                band[sign] = (flat[order], depth[rows[order], cols[order]].astype(np.float32),
                              angle[order].astype(np.float32))
            self._band = band
            self._key = key
        return self._band

    def paint(self, plane: Plane) -> None:
        ribs = [r for r in self.anatomy.ribs if r.z_head - r.drop - 40.0 - r.height <= plane.z <= r.z_head + r.height]
        if not ribs:
            return
        band = self._band_coordinates(plane)
        view = plane.img.reshape(-1)
        for rib in ribs:
            flat, depth, angle = band[rib.side]
            half_t, half_h = rib.thickness / 2.0, rib.height / 2.0
            lo, hi = self._angle_window(rib, plane.z, half_h * 1.3)
            if hi > lo:
                i0, i1 = np.searchsorted(angle, [lo, hi])
                if i1 > i0:
                    part = slice(i0, i1)
                    u = (depth[part] - (0.5 + half_t)) / half_t
                    v = (plane.z - rib.z_at(angle[part])) / half_h
                    self._draw(view, flat[part], u, v, half_t, plane.pixel, cortical=True)
            if rib.end_deg >= 135.0:  # true ribs: cartilage to the sternum, rising slightly towards it
                z_end = float(rib.z_at(np.array([rib.end_deg]))[0])
                lo_c = max(rib.end_deg, rib.end_deg + (plane.z - half_h * 1.3 - z_end) / 0.25)
                hi_c = min(178.0, rib.end_deg + (plane.z + half_h * 1.3 - z_end) / 0.25)
                if hi_c > lo_c:
                    i0, i1 = np.searchsorted(angle, [lo_c, hi_c])
                    if i1 > i0:
                        part = slice(i0, i1)
                        u = (depth[part] - (0.5 + half_t)) / half_t
                        v = (plane.z - (z_end + 0.25 * (angle[part] - rib.end_deg))) / half_h
                        self._draw(view, flat[part], u, v, half_t, plane.pixel, cortical=False)

    @staticmethod
    def _angle_window(rib, z: float, half: float):
        """Angles (degrees) where the rib's centre height lies within ``half`` mm of z."""
        def angle_of(z_value: float) -> float:
            fraction = np.clip((rib.z_head - z_value) / rib.drop, 0.0, 1.0) ** (1.0 / 1.15)
            return rib.start_deg + fraction * (rib.end_deg - rib.start_deg)
        lo, hi = sorted((angle_of(z + half), angle_of(z - half)))
        if z - half > rib.z_head or z + half < rib.z_head - rib.drop:
            return 0.0, 0.0
        return lo, hi

    @staticmethod
    def _draw(view, flat, u, v, half_t, pixel, cortical: bool) -> None:
        q = u * u + v * v
        hit = q < 1.6
        if not hit.any():
            return
        q = q[hit]
        distance = (np.sqrt(q) - 1.0) * half_t
        cover = coverage(distance.astype(np.float32), pixel)
        if cortical:
            value = np.where(q > 0.45, hu.CORTICAL_BONE, 260.0).astype(np.float32)
        else:
            value = np.float32(hu.CARTILAGE)
        index = flat[hit]
        view[index] += cover * (value - view[index])


class SternumPainter(Painter):
    """Sternum behind the anterior chest wall: cortical shell and marrow, wider manubrium at the top."""

    name = "sternum"

    def __init__(self, anatomy: Anatomy):
        self.anatomy = anatomy
        half_w, half_t, top, bottom = anatomy.sternum
        self.half_w, self.half_t = half_w, half_t
        self.z_range = (bottom, top)

    def paint(self, plane: Plane) -> None:
        cx, cy, a, b = self.anatomy.cavity(plane.z)
        top = self.z_range[1]
        width = self.half_w * (1.5 if plane.z > top - 35.0 else 1.0)
        if plane.z < self.z_range[0] + 15.0:
            width *= 0.6  # xiphoid
        centre_y = cy - b - self.half_t - 1.0
        box, d = ellipse_distance(plane, 0.0, centre_y, width, self.half_t)
        if box is None:
            return
        paint(plane, box, coverage(d, plane.pixel), hu.CORTICAL_BONE * 0.85)
        box, d = ellipse_distance(plane, 0.0, centre_y, width - 1.5, self.half_t - 1.5)
        if box is not None:
            paint(plane, box, coverage(d, plane.pixel), 240.0)


def heart_parts(anatomy: Anatomy, grow: float) -> List[EllipsoidPainter]:
    """Ventricles (cut at the base) and atria as ellipsoid painters grown by ``grow`` mm (value set by the caller)."""
    heart = anatomy.heart
    parts = [EllipsoidPainter("ventricles", heart.base, heart.ventricle_matrix(grow), 0.0,
                              cut=(heart.long_axis, heart.base, 0.22 * heart.length + grow))]
    for name, (centre, axes) in anatomy.atria.items():
        matrix = ellipsoid_matrix(heart.rotation, tuple(s + grow for s in axes))
        parts.append(EllipsoidPainter(name, centre, matrix, 0.0))
    return parts


@dataclass
class Enhancement:
    """HU of the blood pool (chambers, aorta, great vessels, coronary lumen) and myocardium of a contrast scan."""

    blood_hu: float
    myocardium_hu: float

    @classmethod
    def at(cls, blood_hu: float) -> "Enhancement":
        return cls(blood_hu, hu.MYOCARDIUM + hu.MYOCARDIUM_ENHANCEMENT * (blood_hu - hu.BLOOD))


def heart_painters(anatomy: Anatomy, enhancement: Optional[Enhancement] = None) -> List[Painter]:
    blood = enhancement.blood_hu if enhancement else hu.BLOOD
    heart = anatomy.heart
    fat = anatomy.epicardial_fat
    painters: List[Painter] = [
        UnionPainter("pericardium", heart_parts(anatomy, fat + 1.3), 30.0),
        UnionPainter("epicardial fat", heart_parts(anatomy, fat), hu.FAT),
        UnionPainter("myocardium", heart_parts(anatomy, 0.0)[:1],
                     enhancement.myocardium_hu if enhancement else hu.MYOCARDIUM),
        UnionPainter("atria", heart_parts(anatomy, 0.0)[1:], blood),
    ]
    lv_centre = heart.to_world([0.42 * heart.length, -0.22 * heart.radius_a, -0.28 * heart.radius_b])
    lv = ellipsoid_matrix(heart.rotation, (0.5 * heart.length, 0.55 * heart.radius_a, 0.5 * heart.radius_b))
    rv_centre = heart.to_world([0.3 * heart.length, 0.38 * heart.radius_a, 0.3 * heart.radius_b])
    rv = ellipsoid_matrix(heart.rotation, (0.42 * heart.length, 0.33 * heart.radius_a, 0.45 * heart.radius_b))
    painters.append(EllipsoidPainter("left ventricle", lv_centre, lv, blood))
    painters.append(EllipsoidPainter("right ventricle", rv_centre, rv, blood))
    return painters


def heart_envelope(anatomy: Anatomy) -> UnionPainter:
    """The heart as TotalSegmentator outlines it here: myocardium, chambers and epicardial fat inside the pericardium."""
    return UnionPainter("heart", heart_parts(anatomy, anatomy.epicardial_fat), 1.0)


def _tube_painters(tube: Tube, value: float, sleeve: float = 0.0, sleeve_value: float = hu.FAT,
                   skip_start_mm: float = 0.0) -> List[Painter]:
    """The tube, after a fat sleeve ``sleeve`` mm thick that leaves out the first ``skip_start_mm`` (inside the heart)."""
    painters: List[Painter] = []
    if sleeve > 0:
        path = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(tube.points, axis=0), axis=1))])
        keep = path >= skip_start_mm
        if keep.any():
            painters.append(ChainPainter(tube.name + " sleeve", tube.points[keep], tube.radii[keep], sleeve_value, sleeve))
    painters.append(ChainPainter(tube.name, tube.points, tube.radii, value))
    return painters


def build_scene(anatomy: Anatomy, lung_vessel_points: Optional[Tuple[np.ndarray, np.ndarray]] = None,
                groove_fat: float = 3.0, enhancement: Optional[Enhancement] = None) -> List[Painter]:
    """The painters of ``anatomy`` in drawing order (coronary arteries last, calcium excluded); ``enhancement``: a
    contrast-enhanced scan."""
    blood = enhancement.blood_hu if enhancement else hu.BLOOD
    painters: List[Painter] = [BodyPainter(anatomy)]
    if lung_vessel_points is not None and len(lung_vessel_points[1]):
        painters.append(TubePainter("lung vessels", lung_vessel_points[0], lung_vessel_points[1], blood))
    cx, cy, a, b = anatomy.cavity(0.0)
    lowest_dome = min(d.z for d in anatomy.domes.values())
    painters.append(EllipsePainter("mediastinal fat", 5.0, cy + 0.2 * b, 24.0, 0.8 * b, hu.FAT, (lowest_dome - 30.0, 1e9)))
    painters.append(AbdomenPainter(anatomy))
    if anatomy.stomach_bubble is not None:
        centre, axes = anatomy.stomach_bubble
        painters.append(EllipsoidPainter("stomach gas", centre, ellipsoid_matrix(np.eye(3), axes), hu.AIR))
    painters.extend(heart_painters(anatomy, enhancement))
    points, radii, _ids, _path = anatomy.coronary.all_points()
    painters.append(TubePainter("coronary groove fat", points[::2], radii[::2], hu.FAT, grow=groove_fat))
    painters.append(SpinePainter(anatomy))
    root, root_axis, _ = anatomy.aortic_root
    painters.extend(_tube_painters(anatomy.aorta, blood, sleeve=2.5, skip_start_mm=30.0))
    for tube in anatomy.pulmonary:
        skip = 15.0 if tube.name == "pulmonary trunk" else 0.0
        painters.extend(_tube_painters(tube, blood, sleeve=2.0, skip_start_mm=skip))
    for tube in anatomy.veins:
        painters.extend(_tube_painters(tube, blood))
    painters.append(ChainPainter(anatomy.esophagus.name, anatomy.esophagus.points, anatomy.esophagus.radii, hu.ESOPHAGUS))
    for tube in anatomy.trachea:
        painters.append(ChainPainter(tube.name + " wall", tube.points, tube.radii, hu.SOFT_TISSUE, grow=1.8))
    for tube in anatomy.trachea:
        painters.append(ChainPainter(tube.name, tube.points, tube.radii, hu.AIR))
    painters.append(RibPainter(anatomy))
    painters.append(SternumPainter(anatomy))
    painters.append(TubePainter("coronary arteries", points, radii, hu.SOFT_TISSUE))
    if enhancement is not None:
        painters.append(TubePainter("coronary lumen", points, radii * hu.LUMEN_FRACTION, blood))
    return painters
