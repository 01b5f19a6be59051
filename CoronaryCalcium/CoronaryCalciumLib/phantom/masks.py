"""Segmentation masks on the output grid, as TotalSegmentator would give them: coronary arteries labelled per artery
(1 = LM, 2 = LAD, 3 = LCX, 4 = RCA), heart and aorta; plus realistic imperfections for pseudo-label studies.

The exact coronary mask holds every voxel whose slab (slice centre +- half the slice thickness) comes within the vessel's
outer radius plus ``margin_mm``, so it contains all partial-volume voxels of the wall and its calcium.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np
from scipy import ndimage

from .anatomy import Anatomy
from .config import MaskImperfections
from .grid import Grid
from .raster import Plane, TubeSet
from .scene import ChainPainter, heart_envelope


@dataclass
class CoronaryMask:
    """Per-artery labels (uint8) and, for each labelled voxel, its distance from the artery's ostium (mm)."""

    labels: np.ndarray
    path_mm: np.ndarray


def coronary_mask(anatomy: Anatomy, grid: Grid, margin_mm: float) -> CoronaryMask:
    points, radii, ids, path = anatomy.coronary.all_points()
    tubes = TubeSet(points, radii, tags=ids, extra=path)
    labels = np.zeros(grid.shape, dtype=np.uint8)
    path_map = np.zeros(grid.shape, dtype=np.float32)
    x, y = grid.x(), grid.y()
    half = grid.thickness_mm / 2.0 + 0.5 * grid.profile.sigma_mm
    for k, z in enumerate(grid.z()):
        hits = tubes.hits(x, y, float(z), grid.pixel_mm, reach=margin_mm, half_thickness=half)
        if hits is None:
            continue
        flat, _distance, tags, point = hits
        labels[k].reshape(-1)[flat] = tags.astype(np.uint8)
        path_map[k].reshape(-1)[flat] = tubes.extra[point]
    return CoronaryMask(labels=labels, path_mm=path_map)


def heart_mask(anatomy: Anatomy, grid: Grid) -> np.ndarray:
    """The heart inside the pericardium (chambers, myocardium, epicardial fat with the coronary arteries)."""
    return _shape_mask(grid, [heart_envelope(anatomy)])


def aorta_mask(anatomy: Anatomy, grid: Grid) -> np.ndarray:
    tube = anatomy.aorta
    return _shape_mask(grid, [ChainPainter("aorta", tube.points, tube.radii, 1.0)])


def _shape_mask(grid: Grid, painters) -> np.ndarray:
    """Voxels whose centre lies inside any of the painters' shapes (drawn at 1 on 0)."""
    mask = np.zeros(grid.shape, dtype=np.uint8)
    img = np.zeros(grid.shape[1:], dtype=np.float32)
    x, y = grid.x(), grid.y()
    for k, z in enumerate(grid.z()):
        img.fill(0.0)
        plane = Plane(x=x, y=y, z=float(z), pixel=grid.pixel_mm, img=img)
        for painter in painters:
            if painter.z_range[0] <= z <= painter.z_range[1]:
                painter.paint(plane)
        mask[k] = img >= 0.5
    return mask


@dataclass
class ImperfectionLog:
    """What was done to the exact mask (for the truth JSON)."""

    applied: List[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.applied.append(text)


def imperfect_coronary_labels(exact: CoronaryMask, settings: MaskImperfections, rng: np.random.Generator,
                              ) -> Tuple[np.ndarray, List[str]]:
    """A pseudo-label version of the exact coronary labels: dilated or eroded in plane, distal parts missing, shifted,
    LM merged into LAD, each with its probability."""
    labels = exact.labels.copy()
    log = ImperfectionLog()
    plane = np.zeros((3, 3, 3), dtype=bool)
    plane[1] = ndimage.generate_binary_structure(2, 1)
    if rng.random() < settings.missing_distal_probability and labels.any():
        arteries = [a for a in (2, 3, 4) if (labels == a).any()]
        for artery in rng.choice(arteries, size=min(len(arteries), int(rng.integers(1, 3))), replace=False):
            keep = float(rng.uniform(*settings.distal_keep_fraction))
            longest = float(exact.path_mm[labels == artery].max())
            cut = (labels == artery) & (exact.path_mm > keep * longest)
            labels[cut] = 0
            log.add("%s beyond %.0f mm of its %.0f mm missing" % ({2: "LAD", 3: "LCX", 4: "RCA"}[int(artery)],
                                                                keep * longest, longest))
    if rng.random() < settings.dilate_probability:
        grown = ndimage.grey_dilation(labels, footprint=plane)
        labels = np.where(labels > 0, labels, grown).astype(np.uint8)
        log.add("over-segmented: dilated by one voxel in plane")
    elif rng.random() < settings.erode_probability:
        kept = ndimage.binary_erosion(labels > 0, structure=plane)
        labels = np.where(kept, labels, 0).astype(np.uint8)
        log.add("under-segmented: eroded by one voxel in plane")
    if rng.random() < settings.shift_probability and settings.max_shift_voxels > 0:
        m = settings.max_shift_voxels
        shift = (int(rng.integers(-1, 2)), int(rng.integers(-m, m + 1)), int(rng.integers(-m, m + 1)))
        labels = _shifted(labels, shift)
        log.add("shifted by (z, y, x) = %s voxels" % (shift,))
    if rng.random() < settings.lm_as_lad_probability:
        labels[labels == 1] = 2
        log.add("left main labelled as LAD")
    return labels, log.applied


def _shifted(array: np.ndarray, shift: Tuple[int, int, int]) -> np.ndarray:
    result = np.zeros_like(array)
    source = []
    target = []
    for s, n in zip(shift, array.shape):
        if s >= 0:
            source.append(slice(0, n - s))
            target.append(slice(s, n))
        else:
            source.append(slice(-s, n))
            target.append(slice(0, n + s))
    result[tuple(target)] = array[tuple(source)]
    return result


def lesion_labels(rendered, objects, shape, threshold: float = 0.005) -> Tuple[np.ndarray, np.ndarray]:
    """(artery labels of coronary calcium, uint8; object ids of all calcium, uint16) where an object's blurred occupancy
    is at least ``threshold``; overlaps go to the object with the larger occupancy."""
    from .heart import ARTERY_IDS

    by_id = {obj.id: obj for obj in objects}
    ids = np.zeros(shape, dtype=np.uint16)
    best = np.zeros(shape, dtype=np.float32)
    for item in rendered:
        region = item.occupancy
        current = best[item.box]
        take = (region >= threshold) & (region > current)
        ids[item.box][take] = item.object_id
        current[take] = region[take]
    lookup = np.zeros(int(ids.max()) + 1 if ids.size else 1, dtype=np.uint8)
    for object_id, obj in by_id.items():
        if obj.coronary and object_id < lookup.size:
            lookup[object_id] = ARTERY_IDS[obj.location]
    return lookup[ids], ids
