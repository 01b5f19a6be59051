"""Continuity of calcium along a vessel: a calcification whose artery the geometry leaves open takes the artery of the
attributed calcification next to it.

Geometry (``artery_attribution``) judges each voxel on its own, so calcium near one of its boundaries (the LAD/LCX
split, the posterior crux, the end of the left main) goes to whichever side its centre falls on. Here the candidate
calcium of the region (at least ``threshold_hu``, 26-connected, on the CT's own grid) is judged as a whole:

- a calcification is *settled* when its majority artery stays the same under small changes of the rules (every angle
  boundary turned by +-``angle_tolerance_deg``, the AV-groove band moved by +-``band_tolerance``) and under the left
  main's longest reach (``lm_fat_reach_mm`` outside the aortic wall, on the heart or not); the others are *open*,
  with the arteries those changes give as candidates;
- an open calcification within ``gap_mm`` (edge to edge) of a settled or already followed one whose artery is among its
  candidates takes that artery, the nearest first, so a chain of calcium along a groove keeps one artery; a left-main
  calcification reaches on along the left main only so (the reach alone gives the LAD or LCX, "after the split");
- open calcium with no such neighbour keeps the geometry's artery. Settled calcifications must cover at least
  ``min_area_mm2`` (smaller ones are mostly noise) to lead others.

The relabelled calcification and its one-voxel rim (within the region, not on other calcium) get the artery, so the
scoring's majority vote per lesion follows, also on its smoothed or slab image.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Set, Tuple

import numpy as np

from ..io.geometry import Geometry

ANGLE_FIELDS = ("root_left_deg", "groove_rca_left_deg", "groove_lad_left_deg", "lad_right_deg", "lad_left_deg",
                "posterior_split_deg")
MAX_CANDIDATE_VOXELS = 2_000_000  # more calcium than this in a region is not a calcium scan: left to geometry


@dataclass
class ContinuityRules:
    """Lengths in mm, angles in degrees, heights as fractions of the AV-plane-to-apex distance."""

    threshold_hu: float = 130.0
    gap_mm: float = 5.0
    angle_tolerance_deg: float = 15.0
    band_tolerance: float = 0.08
    min_area_mm2: float = 1.0


@dataclass
class Calcification:
    """One candidate calcification: its voxels (N, 3 indices), the geometry's majority artery, candidates, size."""

    voxels: np.ndarray
    artery: int
    candidates: Set[int]
    settled: bool


def rule_variants(rules, continuity: ContinuityRules) -> List[object]:
    """The attribution rules moved by the tolerances (``rules`` is an ``AttributionRules``)."""
    turn = continuity.angle_tolerance_deg
    variants = []
    for sign in (1.0, -1.0):
        angles = {name: getattr(rules, name) + sign * turn for name in ANGLE_FIELDS}
        low, high = rules.lm_side_deg
        variants.append(replace(rules, lm_side_deg=(low + sign * turn, high + sign * turn), **angles))
        variants.append(replace(rules, groove_band=rules.groove_band + sign * continuity.band_tolerance))
    variants.append(replace(rules, lm_reach_mm=max(rules.lm_reach_mm, rules.lm_fat_reach_mm)))
    return variants


def calcifications(labels: np.ndarray, region: np.ndarray, image: np.ndarray, positions, geometry: Geometry, rules,
                   continuity: ContinuityRules) -> Tuple[np.ndarray, List[Calcification]]:
    """(component map of the region's candidate calcium, its calcifications in component order). ``positions``
    classifies voxels by position (``artery_attribution.PositionClassifier``: ``locate(indices, rules)`` -> (LPS
    points, root distances), ``classify(points, rules, distances)`` -> labels), so this module needs nothing else of
    the attribution."""
    from scipy import ndimage

    candidate = np.asarray(region, dtype=bool) & (image >= continuity.threshold_hu)
    components, count = ndimage.label(candidate, structure=np.ones((3, 3, 3), dtype=bool))
    if not count or np.count_nonzero(candidate) > MAX_CANDIDATE_VOXELS:
        return components, []
    indices = np.argwhere(candidate)
    ids = components[tuple(indices.T)]
    order = np.argsort(ids, kind="stable")
    indices, ids = indices[order], ids[order]
    points, distances = positions.locate(indices, rules)
    base = labels[tuple(indices.T)].astype(np.int64)
    variants = [positions.classify(points, variant, distances).astype(np.int64)
                for variant in rule_variants(rules, continuity)]
    starts = np.searchsorted(ids, np.arange(1, count + 2))
    min_voxels = continuity.min_area_mm2 / float(geometry.spacing[0] * geometry.spacing[1])
    found: List[Calcification] = []
    for number in range(count):
        part = slice(starts[number], starts[number + 1])
        artery = int(np.bincount(base[part], minlength=5)[1:].argmax() + 1)
        candidates = {artery} | {int(np.bincount(v[part], minlength=5)[1:].argmax() + 1) for v in variants}
        size = starts[number + 1] - starts[number]
        found.append(Calcification(voxels=indices[part], artery=artery, candidates=candidates,
                                   settled=len(candidates) == 1 and size >= min_voxels))
    return components, found


def neighbours(components: np.ndarray, found: List[Calcification], number: int, geometry: Geometry,
               gap_mm: float) -> Dict[int, float]:
    """Other calcifications (component number - 1) within ``gap_mm`` of calcification ``number``: their gaps (mm)."""
    from scipy import ndimage

    spacing = np.array([geometry.spacing[2], geometry.spacing[1], geometry.spacing[0]], dtype=float)
    margin = np.ceil(gap_mm / spacing).astype(int) + 1
    voxels = found[number].voxels
    low = np.maximum(voxels.min(axis=0) - margin, 0)
    high = np.minimum(voxels.max(axis=0) + margin + 1, np.asarray(components.shape))
    box = tuple(slice(a, b) for a, b in zip(low, high))
    crop = components[box]
    distance = ndimage.distance_transform_edt(crop != number + 1, sampling=spacing)
    near = (distance <= gap_mm) & (crop > 0) & (crop != number + 1)
    gaps: Dict[int, float] = {}
    for other, gap in zip(crop[near], distance[near]):
        key = int(other) - 1
        gaps[key] = min(gaps.get(key, np.inf), float(gap))
    return gaps


def follow_calcium(labels: np.ndarray, region: np.ndarray, image: np.ndarray, positions, geometry: Geometry, rules,
                   continuity: Optional[ContinuityRules] = None) -> Tuple[np.ndarray, List[str]]:
    """Artery labels (uint8, as ``labels``) with open calcifications following their neighbours, and a note."""
    from scipy import ndimage

    continuity = continuity or ContinuityRules()
    components, found = calcifications(labels, region, image, positions, geometry, rules, continuity)
    open_numbers = [n for n, c in enumerate(found) if not c.settled and len(c.candidates) > 1]
    if not open_numbers:
        return labels, []
    gaps = {n: neighbours(components, found, n, geometry, continuity.gap_mm) for n in open_numbers}
    final = {n: c.artery for n, c in enumerate(found) if c.settled}
    pending = set(open_numbers)
    while True:
        best = None
        for n in pending:
            for other, gap in gaps[n].items():
                if other in final and final[other] in found[n].candidates and (best is None or gap < best[2]):
                    best = (n, final[other], gap)
        if best is None:
            break
        final[best[0]] = best[1]
        pending.discard(best[0])
    changed = [n for n in open_numbers if n in final and final[n] != found[n].artery]
    if not changed:
        return labels, []
    labels = labels.copy()
    region = np.asarray(region, dtype=bool)
    for n in changed:
        voxels = found[n].voxels
        low = np.maximum(voxels.min(axis=0) - 1, 0)
        high = np.minimum(voxels.max(axis=0) + 2, np.asarray(labels.shape))
        box = tuple(slice(a, b) for a, b in zip(low, high))
        own = components[box] == n + 1
        rim = ndimage.binary_dilation(own, structure=np.ones((3, 3, 3), dtype=bool))
        rim &= region[box] & ((components[box] == 0) | own)
        labels[box][rim] = final[n]
    return labels, ["%d calcification(s) near an artery boundary given the artery of the calcium next to them "
                    "(continuity along the vessel)" % len(changed)]
