"""Pulmonary vessel trees: random branching tubes from each hilum that taper from about 5 mm to 0.7 mm radius and stay
inside the lungs, so axial slices show the dots and short branches of real lung vessels."""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from .anatomy import Anatomy


def _inside_lung(anatomy: Anatomy, p: np.ndarray, margin: float = 4.0) -> bool:
    cx, cy, a, b = anatomy.cavity(float(p[2]))
    if ((p[0] - cx) / (a - margin)) ** 2 + ((p[1] - cy) / (b - margin)) ** 2 >= 1.0:
        return False
    if abs(p[0] - 5.0) < 28.0 and p[1] > cy - b + 15:
        return False  # mediastinum
    for dome in anatomy.domes.values():
        if (p[0] - dome.x) * dome.x > -abs(dome.x) * abs(dome.x):  # same side as this dome (or near the midline)
            r2 = (p[0] - dome.x) ** 2 + (p[1] - dome.y) ** 2
            if p[2] < dome.z - dome.kappa * r2 + margin:
                return False
    return True


def _perpendicular(direction: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    trial = rng.normal(size=3)
    trial -= (trial @ direction) * direction
    return trial / np.linalg.norm(trial)


def lung_vessels(anatomy: Anatomy, rng: np.random.Generator, budget_mm: float = 5000.0,
                 min_radius: float = 0.7) -> Tuple[np.ndarray, np.ndarray]:
    """(points (N, 3), radii (N,)) of pulmonary vessel centre lines, sampled every ~half radius."""
    points: List[np.ndarray] = []
    radii: List[np.ndarray] = []
    queue = []
    for side, hilum in anatomy.lung_hila.items():
        sign = 1.0 if side == "left" else -1.0
        for direction in ((sign, 0.0, 0.9), (sign, 0.2, 0.3), (sign, -0.6, 0.0), (sign, 0.6, -0.1), (sign * 0.8, -0.2, -0.8),
                          (sign * 0.7, 0.5, -0.7), (sign, 0.0, -0.3)):
            d = np.asarray(direction, dtype=float)
            queue.append((hilum.copy(), d / np.linalg.norm(d), float(rng.uniform(4.0, 5.5))))
    used = 0.0
    while queue and used < budget_mm:
        start, direction, radius = queue.pop(0)
        length = float(np.clip(rng.uniform(7.0, 12.0) * radius, 6.0, 45.0))
        step = max(0.35, 0.5 * radius)
        n = max(2, int(length / step))
        p = start.copy()
        segment = [p.copy()]
        alive = True
        for _ in range(n):
            direction = direction + 0.08 * _perpendicular(direction, rng)
            direction /= np.linalg.norm(direction)
            p = p + direction * step
            if not _inside_lung(anatomy, p):
                alive = False
                break
            segment.append(p.copy())
        if len(segment) > 1:
            seg = np.array(segment)
            points.append(seg)
            radii.append(np.full(len(seg), radius))
            used += step * (len(seg) - 1)
        if not alive or radius * 0.8 < min_radius:
            continue
        for ratio, angle in ((0.82, rng.uniform(15, 30)), (0.68, -rng.uniform(25, 45))):
            axis = _perpendicular(direction, rng)
            theta = math.radians(angle)
            child = direction * math.cos(theta) + axis * math.sin(theta)
            queue.append((p.copy(), child / np.linalg.norm(child), radius * ratio))
    if not points:
        return np.zeros((0, 3)), np.zeros(0)
    return np.vstack(points), np.concatenate(radii)
