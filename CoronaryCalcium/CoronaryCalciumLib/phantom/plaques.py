"""Where calcium goes: coronary plaques in the vessel walls, and calcium the score must ignore (aortic wall, aortic valve,
mitral annulus).

Coronary plaques favour the proximal LAD, then RCA, LCX and LM; each is an ellipsoid lying in the wall (long axis along
the vessel, thin across the wall), from sub-millimetre specks to plates several millimetres long, at 70 (just over
threshold) to 900 mg HA/cm3. The number and sizes follow the burden aimed at; the reference score decides the category.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from .anatomy import Anatomy
from .calcium import CalciumObject, frame_from_direction
from .heart import CoronaryTree, Vessel, ring_points

# burden -> (range of plaque counts, weights of the size classes tiny/small/medium/large)
BURDEN_PLAQUES: Dict[str, Tuple[Tuple[int, int], Tuple[float, float, float, float]]] = {
    "zero": ((0, 0), (1, 0, 0, 0)),
    "minimal": ((1, 2), (0.1, 0.6, 0.3, 0.0)),
    "mild": ((2, 5), (0.15, 0.35, 0.4, 0.1)),
    "moderate": ((4, 9), (0.1, 0.25, 0.35, 0.3)),
    "severe": ((8, 18), (0.05, 0.15, 0.3, 0.5)),
}
# frequencies of the burden drawn for burden="auto": with the specks partial volume hides, about 45% of cases score
# zero; then many low scores and fewer high ones
BURDEN_FREQUENCIES: Dict[str, float] = {"zero": 0.33, "minimal": 0.15, "mild": 0.24, "moderate": 0.16, "severe": 0.12}
ARTERY_WEIGHTS = {"LAD": 0.42, "RCA": 0.26, "LCX": 0.2, "LM": 0.07}
# size classes: (length range along the vessel, thickness range across the wall), full sizes in mm
SIZE_CLASSES = (((0.5, 1.2), (0.4, 0.8)), ((1.2, 3.0), (0.6, 1.3)), ((3.0, 7.0), (1.0, 2.0)), ((7.0, 18.0), (1.5, 3.0)))


def draw_burden(rng: np.random.Generator) -> str:
    names = list(BURDEN_FREQUENCIES)
    return str(rng.choice(names, p=np.array([BURDEN_FREQUENCIES[n] for n in names])))


def coronary_plaques(tree: CoronaryTree, burden: str, rng: np.random.Generator, count: Optional[int] = None,
                     first_id: int = 1) -> List[CalciumObject]:
    """Plaques for ``burden`` (or exactly ``count`` of them), placed in the vessel walls without overlapping."""
    (low, high), class_weights = BURDEN_PLAQUES[burden]
    n = int(rng.integers(low, high + 1)) if count is None else int(count)
    weights = np.asarray(class_weights, dtype=float)
    if weights.sum() == 0 or (count is not None and burden == "zero"):
        weights = np.asarray(BURDEN_PLAQUES["mild"][1], dtype=float)
    weights = weights / weights.sum()
    plaques: List[CalciumObject] = []
    attempts = 0
    while len(plaques) < n and attempts < 50 * max(n, 1):
        attempts += 1
        artery = str(rng.choice(list(ARTERY_WEIGHTS), p=np.array(list(ARTERY_WEIGHTS.values())) / sum(ARTERY_WEIGHTS.values())))
        candidates = tree.by_artery(artery)
        main = [v for v in candidates if v.name == artery] or candidates
        vessel = main[0] if (rng.random() < 0.85 or len(candidates) == 1) else candidates[int(rng.integers(len(candidates)))]
        size_class = int(rng.choice(4, p=weights))
        plaque = _plaque_in(vessel, size_class, rng, first_id + len(plaques))
        if plaque is None:
            continue
        if any(_too_close(plaque, other) for other in plaques):
            continue
        plaques.append(plaque)
    return plaques


def _plaque_in(vessel: Vessel, size_class: int, rng: np.random.Generator, plaque_id: int) -> Optional[CalciumObject]:
    (len_lo, len_hi), (thick_lo, thick_hi) = SIZE_CLASSES[size_class]
    length = float(rng.uniform(len_lo, len_hi))
    # proximal bias: position along the vessel ~ Beta(1.3, 2.4)
    fraction = float(rng.beta(1.3, 2.4)) if vessel.name in ("LAD", "LCX", "RCA") else float(rng.uniform(0.05, 0.95))
    index = int(np.clip(fraction * (len(vessel.points) - 1), 0, len(vessel.points) - 1))
    radius = float(vessel.radii[index])
    if radius < 0.6:
        return None
    thickness = float(min(rng.uniform(thick_lo, thick_hi), 1.6 * radius))
    half_length = min(length / 2.0, 0.45 * vessel.length_mm)
    # circumferential extent grows with size, up to a half circle of the wall or more for large plates
    half_width = float(min(rng.uniform(0.6, 1.3) * max(thickness, length / 3.0), (1.1 + 0.3 * (size_class == 3)) * radius))
    half_width = max(half_width, thickness / 2.0)
    tangent = vessel.tangents()[index]
    angle = float(rng.uniform(0.0, 2.0 * math.pi))
    frame = frame_from_direction(tangent, rng.normal(size=3))
    normal = math.cos(angle) * frame[0] + math.sin(angle) * frame[1]
    axes = frame_from_direction(tangent, normal)  # rows: radial, circumferential, along the vessel
    centre = vessel.points[index] + normal * (radius - 0.45 * thickness)
    density = _density(size_class, rng)
    return CalciumObject(id=plaque_id, kind="coronary", location=vessel.artery, centre=centre, axes=axes,
                         semi_axes=(thickness / 2.0, half_width, half_length), density_mg_cm3=density,
                         vessel=vessel.name, path_mm=float(vessel.path_mm[index]), bend=_curvature(vessel, index),
                         info={"size_class": ("tiny", "small", "medium", "large")[size_class]})


def _curvature(vessel: Vessel, index: int) -> np.ndarray:
    """Curvature vector (1/mm) of the centre line at ``index``, from points about 3 mm either side."""
    step = max(1, int(round(3.0 / max(float(np.median(np.diff(vessel.path_mm))), 1e-6))))
    i0, i1 = max(0, index - step), min(len(vessel.points) - 1, index + step)
    if i1 - index < step or index - i0 < step:
        return np.zeros(3)
    p0, p1, p2 = vessel.points[i0], vessel.points[index], vessel.points[i1]
    h = 0.5 * (np.linalg.norm(p1 - p0) + np.linalg.norm(p2 - p1))
    return (p0 - 2.0 * p1 + p2) / (h * h)


def _density(size_class: int, rng: np.random.Generator) -> float:
    """mg HA/cm3: small specks tend to be faint, large plates dense (log-uniform within a class-dependent range)."""
    low, high = ((70, 500), (80, 700), (120, 850), (180, 900))[size_class]
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _too_close(a: CalciumObject, b: CalciumObject) -> bool:
    return float(np.linalg.norm(a.centre - b.centre)) < (max(a.semi_axes) + max(b.semi_axes) + 0.5)


def extracoronary_calcium(anatomy: Anatomy, rng: np.random.Generator, aortic: bool, valve: bool, mitral: bool,
                          first_id: int) -> List[CalciumObject]:
    """Calcium outside the coronary arteries (must never be scored as coronary)."""
    objects: List[CalciumObject] = []
    next_id = first_id
    if aortic:
        tube = anatomy.aorta
        root_z = anatomy.aortic_root[0][2]
        candidates = np.flatnonzero(tube.points[:, 2] > root_z + 25.0)
        for _ in range(int(rng.integers(1, 7))):
            if candidates.size == 0:
                break
            index = int(rng.choice(candidates))
            tangent = tube.points[min(index + 1, len(tube.points) - 1)] - tube.points[max(index - 1, 0)]
            frame = frame_from_direction(tangent, rng.normal(size=3))
            normal = frame[0]
            thickness = float(rng.uniform(0.8, 2.0))
            length = float(rng.uniform(2.0, 9.0))
            centre = tube.points[index] + normal * (tube.radii[index] - 0.5 * thickness)
            objects.append(CalciumObject(
                id=next_id, kind="aortic_wall", location="aorta", centre=centre,
                axes=frame_from_direction(tangent, normal),
                semi_axes=(thickness / 2.0, float(rng.uniform(1.0, 4.0)), length / 2.0),
                density_mg_cm3=float(rng.uniform(250, 900))))
            next_id += 1
    if valve:
        root, axis, r_root = anatomy.aortic_root
        angles = rng.uniform(0, 360, size=int(rng.integers(1, 5)))
        for point in ring_points(root + axis * rng.uniform(0.5, 2.5), axis, np.array([1.0, 0.0, 0.0]), 0.55 * r_root,
                                 angles):
            size = float(rng.uniform(1.0, 4.0))
            objects.append(CalciumObject(
                id=next_id, kind="aortic_valve", location="aortic valve", centre=point,
                axes=frame_from_direction(axis, point - root), semi_axes=(size / 2.0, size / 2.5, size / 2.0),
                density_mg_cm3=float(rng.uniform(250, 900))))
            next_id += 1
    if mitral:
        heart = anatomy.heart
        centre = heart.to_world([3.0, -0.38 * heart.radius_a, -0.12 * heart.radius_b])
        start = float(rng.uniform(130, 230))
        span = float(rng.uniform(40, 140))
        pieces = max(2, int(span / 12.0))
        angles = np.linspace(start, start + span, pieces)
        density = float(rng.uniform(250, 850))
        for point in ring_points(centre, heart.long_axis, heart.anterior, 14.0, angles):
            objects.append(CalciumObject(
                id=next_id, kind="mitral_annulus", location="mitral annulus", centre=point,
                axes=frame_from_direction(np.cross(heart.long_axis, point - centre), point - centre),
                semi_axes=(float(rng.uniform(1.0, 2.0)), float(rng.uniform(1.0, 2.0)), float(rng.uniform(2.5, 4.5))),
                density_mg_cm3=density, matrix_hu=48.0))
            next_id += 1
    return objects


def keep_clear_of_coronaries(objects: List[CalciumObject], tree: CoronaryTree, clearance_mm: float) -> List[CalciumObject]:
    """Drop extracoronary objects closer than ``clearance_mm`` (plus their own size and the vessel radius) to a coronary."""
    from scipy.spatial import cKDTree

    points, radii, _ids, _path = tree.all_points()
    search = cKDTree(points)
    kept = []
    for obj in objects:
        distance, index = search.query(obj.centre)
        if distance - max(obj.semi_axes) - radii[index] >= clearance_mm:
            kept.append(obj)
    return kept
