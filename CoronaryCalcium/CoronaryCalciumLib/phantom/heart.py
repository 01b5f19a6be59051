"""Heart geometry in its own frame and the coronary tree (LM, LAD, LCX, RCA with diagonal, marginal and PDA branches).

Frame: ``base`` is the centre of the ventricular base (LPS mm); ``long_axis`` points from base to apex (left, anterior,
inferior); ``anterior`` and ``right`` span the atrioventricular (AV) plane. The ventricles are the apex side of an
ellipsoid (semi-axes ``length`` along the long axis, ``radius_a`` and ``radius_b`` in the AV plane); a point on their
surface is given by height fraction t (0 base, 1 apex) and angle phi in the AV plane (0 anterior, 90 degrees right,
180 posterior at the crux, 270 left). The RCA and LCX run in the AV groove, the LAD in the anterior and the PDA in the
posterior interventricular groove, a millimetre or so outside the myocardium in epicardial fat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

ARTERY_IDS: Dict[str, int] = {"LM": 1, "LAD": 2, "LCX": 3, "RCA": 4}


@dataclass
class HeartFrame:
    """Position, orientation and size of the heart (mm, LPS)."""

    base: np.ndarray
    long_axis: np.ndarray
    anterior: np.ndarray
    right: np.ndarray
    length: float
    radius_a: float
    radius_b: float

    @classmethod
    def from_angles(cls, base: Sequence[float], azimuth_deg: float, elevation_deg: float, length: float,
                    radius_a: float, radius_b: float) -> "HeartFrame":
        """Long axis ``azimuth_deg`` from patient left towards anterior and ``elevation_deg`` below the axial plane."""
        az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
        axis = np.array([math.cos(el) * math.cos(az), -math.cos(el) * math.sin(az), -math.sin(el)])
        anterior = np.array([0.0, -1.0, 0.0])
        anterior = anterior - (anterior @ axis) * axis
        anterior /= np.linalg.norm(anterior)
        right = np.cross(axis, anterior)
        return cls(np.asarray(base, dtype=float), axis, anterior, right, length, radius_a, radius_b)

    @property
    def rotation(self) -> np.ndarray:
        """Rows: long axis, anterior, right (world -> local)."""
        return np.vstack([self.long_axis, self.anterior, self.right])

    def to_world(self, local: Sequence[float]) -> np.ndarray:
        """Local (along long axis, anterior, right) mm -> LPS mm."""
        return self.base + np.asarray(local, dtype=float) @ self.rotation

    def surface(self, t: np.ndarray, phi_deg: np.ndarray, offset: np.ndarray = 0.0) -> Tuple[np.ndarray, np.ndarray]:
        """Ventricular surface points at height fraction t and angle phi, pushed ``offset`` mm along the outward normal;
        returns (points (N, 3), unit normals (N, 3))."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        phi = np.radians(np.atleast_1d(np.asarray(phi_deg, dtype=float)))
        scale = np.sqrt(np.clip(1.0 - t * t, 0.0, None))
        l_coord = t * self.length
        a_coord = scale * self.radius_a * np.cos(phi)
        b_coord = scale * self.radius_b * np.sin(phi)
        normal_local = np.stack([l_coord / self.length ** 2, a_coord / self.radius_a ** 2, b_coord / self.radius_b ** 2], 1)
        normal_world = normal_local @ self.rotation
        normal_world /= np.linalg.norm(normal_world, axis=1, keepdims=True)
        points = self.base + np.stack([l_coord, a_coord, b_coord], 1) @ self.rotation
        return points + normal_world * np.reshape(offset, (-1, 1)), normal_world

    def ventricle_matrix(self, grow: float = 0.0) -> np.ndarray:
        """Quadric matrix of the ventricular ellipsoid grown by ``grow`` mm (centred at ``base``)."""
        from .raster import ellipsoid_matrix

        return ellipsoid_matrix(self.rotation, (self.length + grow, self.radius_a + grow, self.radius_b + grow))


@dataclass
class Vessel:
    """One coronary segment: dense centre line (N, 3) mm, outer radius (N,) mm, distance from the artery's ostium (N,) mm."""

    name: str
    artery: str
    points: np.ndarray
    radii: np.ndarray
    path_mm: np.ndarray

    @property
    def artery_id(self) -> int:
        return ARTERY_IDS[self.artery]

    @property
    def length_mm(self) -> float:
        return float(self.path_mm[-1] - self.path_mm[0])

    def tangents(self) -> np.ndarray:
        tangent = np.gradient(self.points, axis=0)
        return tangent / np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)


def catmull_rom(control: np.ndarray, step_mm: float = 0.25) -> np.ndarray:
    """Smooth curve through ``control`` points (uniform Catmull-Rom spline), resampled every ``step_mm``."""
    control = np.asarray(control, dtype=float)
    padded = np.vstack([2 * control[0] - control[1], control, 2 * control[-1] - control[-2]])
    dense = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        n = max(2, int(math.ceil(np.linalg.norm(p2 - p1) / (step_mm / 4))))
        s = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
        dense.append(0.5 * ((2 * p1) + (-p0 + p2) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s ** 2
                            + (-p0 + 3 * p1 - 3 * p2 + p3) * s ** 3))
    dense.append(control[-1:])
    curve = np.vstack(dense)
    return resample(curve, step_mm)


def resample(curve: np.ndarray, step_mm: float) -> np.ndarray:
    """Points every ``step_mm`` along a polyline."""
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(math.floor(arc[-1] / step_mm)) + 1)
    targets = np.linspace(0.0, arc[-1], n)
    return np.stack([np.interp(targets, arc, curve[:, k]) for k in range(3)], 1)


def _arc(points: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


@dataclass
class CoronaryTree:
    """The vessels of one heart and their ostia on the aortic root."""

    vessels: List[Vessel]
    ostia: Dict[str, np.ndarray] = field(default_factory=dict)
    dominance: str = "right"

    def by_artery(self, artery: str) -> List[Vessel]:
        return [v for v in self.vessels if v.artery == artery]

    def all_points(self):
        """(points, radii, artery ids, path mm) of every vessel, concatenated."""
        points = np.vstack([v.points for v in self.vessels])
        radii = np.concatenate([v.radii for v in self.vessels])
        ids = np.concatenate([np.full(len(v.radii), v.artery_id) for v in self.vessels])
        path = np.concatenate([v.path_mm for v in self.vessels])
        return points, radii, ids, path


def build_coronary_tree(heart: HeartFrame, root_centre: np.ndarray, root_axis: np.ndarray, root_radius: float,
                        rng: np.random.Generator, size_scale: float = 1.0) -> CoronaryTree:
    """Coronary centre lines for ``heart`` with ostia on the aortic root (centre, axis, radius in mm)."""
    gap = 0.8  # mm of fat between myocardium and vessel wall
    groove_t = -0.02
    sink = 1.5  # the AV groove: vessel sunk this far into the ventricular outline
    jitter = lambda amount: float(rng.uniform(-amount, amount))  # noqa: E731
    dominance = "left" if rng.random() < 0.1 else "right"

    def on_surface(t, phi, radius, sunk=0.0):
        points, _ = heart.surface(np.asarray(t), np.asarray(phi), np.asarray(radius) + gap - sunk)
        return points

    root_axis = root_axis / np.linalg.norm(root_axis)

    def ostium(direction_world, height):
        d = np.asarray(direction_world, dtype=float)
        d = d - (d @ root_axis) * root_axis
        d /= np.linalg.norm(d)
        return root_centre + root_axis * height + d * root_radius, d

    r_lm = 2.2 * size_scale * (1 + jitter(0.12))
    r_lad = 1.8 * size_scale * (1 + jitter(0.12))
    r_lcx = 1.6 * size_scale * (1 + jitter(0.12))
    r_rca = 1.9 * size_scale * (1 + jitter(0.12))
    ost_height = 12.0 + jitter(3.0)
    left_dir = heart.right * -1.0 + heart.anterior * 0.15 + heart.long_axis * 0.2
    right_dir = heart.anterior * 1.0 + heart.right * 0.55
    lm_ostium, lm_dir = ostium(left_dir, ost_height)
    rca_ostium, rca_dir = ostium(right_dir, ost_height - 2.0 + jitter(2.0))

    vessels: List[Vessel] = []

    # Left main: short, from the left sinus towards the top of the left AV groove, where it divides
    top = math.degrees(math.atan2(heart.right[2] * heart.radius_b, heart.anterior[2] * heart.radius_a)) % 360.0
    groove_top = on_surface(np.array([0.02]), np.array([top]), np.array([r_lm]))[0]
    lm_length = 10.0 + jitter(4.0)
    towards = groove_top - lm_ostium
    lm_end = lm_ostium + towards / np.linalg.norm(towards) * min(lm_length, 0.8 * np.linalg.norm(towards))
    lm_points = catmull_rom(np.vstack([lm_ostium, lm_ostium + lm_dir * 2.0, lm_end]))
    vessels.append(_vessel("LM", "LM", lm_points, r_lm, r_lm * 0.95, start_mm=0.0))
    bifurcation = lm_points[-1]
    lm_len = float(_arc(lm_points)[-1])

    # LAD: from the bifurcation into the anterior interventricular groove and down to the apex
    phi_lad0 = top + 18.0 + jitter(8.0)
    phi_lad1 = phi_lad0 + 22.0 + jitter(10.0)
    t_lad = np.linspace(0.06, 0.97, 16)
    phi_lad = phi_lad0 + (phi_lad1 - phi_lad0) * t_lad
    radii_lad = np.linspace(r_lad, 0.75 * size_scale, t_lad.size)
    lad_groove = on_surface(t_lad, phi_lad, radii_lad, sunk=0.6)
    lad_points = catmull_rom(np.vstack([bifurcation, lad_groove]))
    vessels.append(_vessel("LAD", "LAD", lad_points, r_lad, 0.75 * size_scale, start_mm=lm_len))
    lad = vessels[-1]

    # LCX: from the bifurcation round the left AV groove towards the crux
    phi_lcx_end = (200.0 + jitter(12.0)) if dominance == "right" else 178.0
    phi_lcx = np.linspace(top - 10.0 + jitter(5.0), phi_lcx_end, 12)
    lcx_end_radius = 0.9 * size_scale if dominance == "right" else 1.2 * size_scale
    radii_lcx = np.linspace(r_lcx, lcx_end_radius, phi_lcx.size)
    lcx_groove = on_surface(np.full(phi_lcx.size, groove_t), phi_lcx, radii_lcx, sunk=sink)
    lcx_points = catmull_rom(np.vstack([bifurcation, lcx_groove]))
    vessels.append(_vessel("LCX", "LCX", lcx_points, r_lcx, lcx_end_radius, start_mm=lm_len))
    lcx = vessels[-1]

    # RCA: anterior-right from the right sinus into the right AV groove, round the acute margin to the crux
    phi_rca_end = 182.0 if dominance == "right" else 120.0
    phi_rca = np.linspace(28.0 + jitter(8.0), phi_rca_end, 16)
    rca_end_radius = 1.2 * size_scale if dominance == "right" else 0.9 * size_scale
    radii_rca = np.linspace(r_rca, rca_end_radius, phi_rca.size)
    rca_groove = on_surface(np.full(phi_rca.size, groove_t), phi_rca, radii_rca, sunk=sink)
    rca_control = np.vstack([rca_ostium, rca_ostium + rca_dir * 6.0 + heart.long_axis * 2.0, rca_groove])
    rca_points = catmull_rom(rca_control)
    vessels.append(_vessel("RCA", "RCA", rca_points, r_rca, rca_end_radius, start_mm=0.0))
    rca = vessels[-1]

    # PDA down the posterior interventricular groove, from the RCA (right dominance) or the LCX (left dominance)
    parent = rca if dominance == "right" else lcx
    pda_start = parent.points[-1]
    t_pda = np.linspace(0.06, 0.6 + jitter(0.1), 8)
    phi_pda = 170.0 + jitter(6.0) - 8.0 * t_pda
    r_pda0 = 1.1 * size_scale
    pda_groove = on_surface(t_pda, phi_pda, np.linspace(r_pda0, 0.7 * size_scale, t_pda.size), sunk=0.6)
    pda_points = catmull_rom(np.vstack([pda_start, pda_groove]))
    vessels.append(_vessel("PDA", parent.artery, pda_points, r_pda0, 0.7 * size_scale,
                           start_mm=float(parent.path_mm[-1])))

    # First diagonal from the proximal LAD over the anterolateral wall
    d1_index = int(len(lad.points) * (0.22 + jitter(0.06)))
    d1_start = lad.points[d1_index]
    t_d1 = np.linspace(0.3, 0.75, 6)
    phi_d1 = phi_lad0 - 15.0 - 35.0 * (t_d1 - 0.3) / 0.45 + jitter(5.0)
    r_d1 = 1.1 * size_scale
    d1_points = catmull_rom(np.vstack([d1_start, on_surface(t_d1, phi_d1, np.linspace(r_d1, 0.6, t_d1.size), 0.3)]))
    vessels.append(_vessel("D1", "LAD", d1_points, r_d1, 0.6 * size_scale, start_mm=float(lad.path_mm[d1_index])))

    # First obtuse marginal from the LCX down the lateral wall
    om_index = int(len(lcx.points) * (0.45 + jitter(0.1)))
    om_start = lcx.points[om_index]
    phi_om = np.full(6, 248.0 + jitter(8.0)) - np.linspace(0, 12, 6)
    t_om = np.linspace(0.08, 0.62, 6)
    r_om = 1.1 * size_scale
    om_points = catmull_rom(np.vstack([om_start, on_surface(t_om, phi_om, np.linspace(r_om, 0.6, 6), 0.3)]))
    vessels.append(_vessel("OM1", "LCX", om_points, r_om, 0.6 * size_scale, start_mm=float(lcx.path_mm[om_index])))

    return CoronaryTree(vessels=vessels, ostia={"LM": lm_ostium, "RCA": rca_ostium}, dominance=dominance)


def _vessel(name: str, artery: str, points: np.ndarray, r_start: float, r_end: float, start_mm: float) -> Vessel:
    arc = _arc(points)
    fraction = arc / max(arc[-1], 1e-9)
    radii = r_start + (r_end - r_start) * fraction
    return Vessel(name=name, artery=artery, points=points, radii=radii, path_mm=start_mm + arc)


def ring_points(centre: np.ndarray, normal: np.ndarray, reference: np.ndarray, radius: float,
                angles_deg: np.ndarray) -> np.ndarray:
    """Points on a circle of ``radius`` around ``centre`` in the plane normal to ``normal``; angle 0 along ``reference``."""
    normal = normal / np.linalg.norm(normal)
    u = reference - (reference @ normal) * normal
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    angles = np.radians(np.asarray(angles_deg, dtype=float))[:, None]
    return centre + radius * (np.cos(angles) * u + np.sin(angles) * v)


def nearest_distance(points: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distance (mm) from each query point to the nearest of ``points``."""
    from scipy.spatial import cKDTree

    return cKDTree(points).query(np.atleast_2d(query))[0]


def unit(vector: Sequence[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    return v / np.linalg.norm(v)


