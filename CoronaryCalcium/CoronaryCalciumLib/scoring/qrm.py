"""QRM Cardiac Calcification Insert (CCI): physical truth and a locator for its inserts in a scan.

Nine hydroxyapatite cylinders (diameter = length: 5, 3, 1 mm) at 800, 400 and 200 mg HA/cm3, three per density, each
density group on a line from the large insert towards the insert's axis, where the 200 mg HA/cm3 calibration rod lies in
separate slices. The locator finds the rod (``calibration.find_calibration_rod``), the three large inserts (the largest
calcium components off the rod's slices), the medium insert on each group's line, and places the small insert one more
step along it (1 mm inserts are mostly invisible, so they are placed, not found). Groups are ranked by the mean HU of
their large insert: brightest 800, then 400, then 200 mg HA/cm3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
from scipy import ndimage

from .calibration import RodLocation, find_calibration_rod
from ..io.ct import CTVolume
from ..errors import CalibrationError

DENSITIES_MG_CM3 = (800.0, 400.0, 200.0)
DIAMETERS_MM = {"large": 5.0, "medium": 3.0, "small": 1.0}
CALIBRATION_ROD_DENSITY_MG_CM3 = 200.0
GROUP_RADIUS_RANGE_MM = (25.0, 55.0)
MEDIUM_STEP_RANGE_MM = (8.0, 16.0)
LINE_TOLERANCE_MM = 3.0


def insert_volume_mm3(diameter_mm: float) -> float:
    """Volume of a cylinder whose length equals its diameter (mm3)."""
    return math.pi * (diameter_mm / 2.0) ** 2 * diameter_mm


def insert_mass_mg(diameter_mm: float, density_mg_cm3: float) -> float:
    """Physical HA mass of an insert (mg)."""
    return insert_volume_mm3(diameter_mm) * density_mg_cm3 / 1000.0


@dataclass
class InsertLocation:
    """One insert: its size name, diameter (mm), density (mg HA/cm3), centre (z, y, x voxel index) and physical truth."""

    size: str
    diameter_mm: float
    density_mg_cm3: float
    centre_zyx: Tuple[float, float, float]

    @property
    def name(self) -> str:
        return "%s-%d" % (self.size, int(self.density_mg_cm3))

    @property
    def volume_mm3(self) -> float:
        return insert_volume_mm3(self.diameter_mm)

    @property
    def mass_mg(self) -> float:
        return insert_mass_mg(self.diameter_mm, self.density_mg_cm3)


def locate_inserts(ct: CTVolume) -> List[InsertLocation]:
    """The nine inserts of a QRM CCI scan. Raises CalibrationError when the layout is not found."""
    rod = find_calibration_rod(ct)
    spacing = ct.geometry.spacing
    components = _calcium_components(ct, rod)
    axis = np.array(rod.centre_yx)
    large = []
    for centre, size, mean_hu in components:
        distance = math.hypot((centre[1] - axis[0]) * spacing[1], (centre[2] - axis[1]) * spacing[0])
        if GROUP_RADIUS_RANGE_MM[0] <= distance <= GROUP_RADIUS_RANGE_MM[1]:
            large.append((centre, size, mean_hu))
        if len(large) == 3:
            break
    if len(large) < 3:
        raise CalibrationError("found %d of the 3 large QRM inserts around the calibration rod" % len(large))
    large.sort(key=lambda item: -item[2])
    inserts: List[InsertLocation] = []
    for (centre, _size, _mean), density in zip(large, DENSITIES_MG_CM3):
        medium = _medium_on_line(centre, axis, components, spacing)
        step = np.subtract(medium, centre)
        small = tuple(float(v) for v in np.add(medium, step))
        inserts.append(InsertLocation("large", DIAMETERS_MM["large"], density, tuple(float(v) for v in centre)))
        inserts.append(InsertLocation("medium", DIAMETERS_MM["medium"], density, tuple(float(v) for v in medium)))
        inserts.append(InsertLocation("small", DIAMETERS_MM["small"], density, small))
    return inserts


def _calcium_components(ct: CTVolume, rod: RodLocation):
    """(centre zyx, voxel count, mean HU) of >= 130 HU components near the rod axis, off the rod's slices, largest first."""
    spacing = ct.geometry.spacing
    yy, xx = np.ogrid[: ct.array.shape[1], : ct.array.shape[2]]
    near_axis = np.hypot((yy - rod.centre_yx[0]) * spacing[1], (xx - rod.centre_yx[1]) * spacing[0]) < (
        GROUP_RADIUS_RANGE_MM[1] + 5.0)
    rod_slices = set(range(min(rod.slices) - 2, max(rod.slices) + 3))
    calcium = (ct.array >= 130) & near_axis[None]
    for z in rod_slices:
        if 0 <= z < calcium.shape[0]:
            calcium[z] = False
    labels, count = ndimage.label(calcium, structure=np.ones((3, 3, 3), dtype=bool))
    if count == 0:
        raise CalibrationError("no calcium inserts found around the calibration rod")
    index = np.arange(1, count + 1)
    sizes = ndimage.sum(calcium, labels, index)
    means = ndimage.mean(ct.array, labels, index)
    centres = ndimage.center_of_mass(calcium, labels, index)
    order = np.argsort(-sizes)
    return [(centres[i], int(sizes[i]), float(means[i])) for i in order]


def _medium_on_line(large_centre, axis_yx, components, spacing) -> Tuple[float, float, float]:
    scale = np.array([spacing[1], spacing[0]])
    start = np.array(large_centre[1:]) * scale
    direction = np.array(axis_yx) * scale - start
    direction /= np.linalg.norm(direction)
    for centre, _size, _mean in components:  # largest first
        offset = np.array(centre[1:]) * scale - start
        along = float(offset @ direction)
        across = float(np.linalg.norm(offset - along * direction))
        if MEDIUM_STEP_RANGE_MM[0] <= along <= MEDIUM_STEP_RANGE_MM[1] and across <= LINE_TOLERANCE_MM:
            return (float(large_centre[0]), float(centre[1]), float(centre[2]))
    raise CalibrationError("medium QRM insert not found on the line from the large insert towards the axis")


def insert_region(ct: CTVolume, insert: InsertLocation, margin_mm: float = 2.0) -> np.ndarray:
    """uint8 (z, y, x) mask: a cylinder around the insert, radius = diameter/2 + margin, height = diameter + 2 x
    (margin + slice increment), so partial-volume voxels of the insert lie inside it."""
    spacing = ct.geometry.spacing
    radius = insert.diameter_mm / 2.0 + margin_mm
    half_height = insert.diameter_mm / 2.0 + margin_mm + spacing[2]
    z0, y0, x0 = insert.centre_zyx
    mask = np.zeros(ct.array.shape, dtype=np.uint8)
    zs = [z for z in range(ct.array.shape[0]) if abs(z - z0) * spacing[2] <= half_height]
    yy, xx = np.ogrid[: ct.array.shape[1], : ct.array.shape[2]]
    disc = np.hypot((yy - y0) * spacing[1], (xx - x0) * spacing[0]) <= radius
    for z in zs:
        mask[z][disc] = 1
    return mask


def physical_truth() -> Dict[str, Dict[str, float]]:
    """{insert name: {volume_mm3, mass_mg}} for all nine inserts."""
    return {
        "%s-%d" % (size, int(density)): {
            "volume_mm3": insert_volume_mm3(diameter),
            "mass_mg": insert_mass_mg(diameter, density),
        }
        for size, diameter in DIAMETERS_MM.items()
        for density in DENSITIES_MG_CM3
    }
