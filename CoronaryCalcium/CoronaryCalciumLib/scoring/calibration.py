"""Mass calibration factor c_HA = rho_rod / (HU_rod - HU_water) in mg/(mm3 HU), from a scan of a hydroxyapatite rod.

McCollough et al., Radiology 2007 (doi:10.1148/radiol.2432050808). The rod (e.g. 200 mg HA/cm3) and the water
reference are measured either in masks the user gives or, automatically, by finding the rod: the largest uniform
cylinder 8-30 mm across with a mean of 150-600 HU, measured in its central plateau slices inside 60% of its radius.

The water reference is the phantom's water-equivalent rod when there is one beside the HA rod (a uniform cylinder
8-30 mm across, at least 20 HU darker than the material around the HA rod, within 40 mm of it, in the same slices),
measured inside 60% of its radius: the HA rod is HA in a water-equivalent base, so HU_rod - HU_water is the HA's own
contribution. Only without such a rod is the annulus 3-8 mm around the HA rod used, with a warning. On the real QRM
scan the two differ by 37 HU (the insert body resin reads 67 HU, the water-equivalent rod 30 HU): the annulus made
c_HA 15% too high, and every mass with it; with the water rod the 200 mg HA/cm3 large insert reads as many HU per mg HA
as the 200 mg HA/cm3 rod does (README, "Calcium mass: two methods").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import ndimage

from ..io.ct import CTVolume
from ..errors import CalibrationError
from ..region.mask import bounding_box

ROD_SMOOTHING_MM = 1.0
ROD_DETECTION_HU = 200.0
ROD_DIAMETER_RANGE_MM = (8.0, 30.0)
ROD_MEAN_RANGE_HU = (150.0, 600.0)
ROD_CORE_FRACTION = 0.6
ANNULUS_MM = (3.0, 8.0)
PLATEAU_FRACTION = 0.9
WATER_ROD_CONTRAST_HU = 20.0
WATER_ROD_SEARCH_MM = 40.0
TYPICAL_FACTOR_RANGE = (0.0005, 0.0012)


@dataclass
class RodLocation:
    """A calibration rod found in the scan: axis centre (z, y, x voxel index), radius (mm), plateau slices."""

    centre_yx: Tuple[float, float]
    radius_mm: float
    slices: List[int]


@dataclass
class Calibration:
    """Measured calibration. HU values are means over the named regions; the factor is in mg/(mm3 HU)."""

    factor_mg_per_mm3_hu: float
    rod_density_mg_cm3: float
    rod_hu: float
    rod_sd_hu: float
    rod_voxels: int
    water_hu: float
    water_sd_hu: float
    water_voxels: int
    method: str
    rod: Optional[RodLocation] = None
    warnings: List[str] = field(default_factory=list)
    water_reference: str = "mask"
    water_rod: Optional[RodLocation] = None

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        return data


def factor_from_measurements(rod_density_mg_cm3: float, rod_hu: float, water_hu: float) -> float:
    """c_HA in mg/(mm3 HU): density (mg/cm3 -> mg/mm3) divided by the HU difference between rod and water."""
    difference = rod_hu - water_hu
    if difference <= 20:
        raise CalibrationError(
            "rod (%.0f HU) is not brighter than the water reference (%.0f HU): wrong regions?" % (rod_hu, water_hu)
        )
    return (rod_density_mg_cm3 / 1000.0) / difference


def calibrate_with_masks(ct: CTVolume, rod_mask: np.ndarray, water_mask: np.ndarray,
                         rod_density_mg_cm3: float = 200.0) -> Calibration:
    """Calibration from a rod mask and a water/background mask on the CT grid."""
    rod_values = _values_in(ct.array, rod_mask, "rod")
    water_values = _values_in(ct.array, water_mask, "water reference")
    return _calibration(rod_values, water_values, rod_density_mg_cm3, "masks", None)


def calibrate_auto(ct: CTVolume, rod_density_mg_cm3: float = 200.0) -> Calibration:
    """Find the HA rod and its surrounding background automatically and measure the calibration factor."""
    rod = find_calibration_rod(ct)
    water_rod = find_water_rod(ct, rod)
    rod_mask, water_mask = rod_regions(ct, rod, water_rod)
    rod_values = ct.array[rod_mask].astype(np.float64)
    water_values = ct.array[water_mask].astype(np.float64)
    calibration = _calibration(rod_values, water_values, rod_density_mg_cm3, "automatic rod detection", rod)
    calibration.water_rod = water_rod
    if water_rod is not None:
        calibration.water_reference = "water-equivalent rod"
    else:
        calibration.water_reference = "annulus %g-%g mm around the rod" % ANNULUS_MM
        calibration.warnings.append(
            "no water-equivalent rod found beside the HA rod: the water reference is the material 3-8 mm around it; "
            "if that is not the rod's own base material the factor is off by their HU difference (give --water-mask)")
    return calibration


def _values_in(array: np.ndarray, mask: np.ndarray, name: str) -> np.ndarray:
    box = bounding_box(mask)
    if box is None:
        raise CalibrationError("the %s mask is empty" % name)
    values = array[box][mask[box] > 0].astype(np.float64)
    if values.size < 20:
        raise CalibrationError("the %s mask holds only %d voxels; need at least 20" % (name, values.size))
    return values


def _calibration(rod_values, water_values, density, method, rod) -> Calibration:
    rod_hu, water_hu = float(np.mean(rod_values)), float(np.mean(water_values))
    factor = factor_from_measurements(density, rod_hu, water_hu)
    warnings = []
    if not TYPICAL_FACTOR_RANGE[0] <= factor <= TYPICAL_FACTOR_RANGE[1]:
        warnings.append("calibration factor %.3g mg/(mm3 HU) is outside the usual range %.4f-%.4f at 120 kVp"
                        % (factor, TYPICAL_FACTOR_RANGE[0], TYPICAL_FACTOR_RANGE[1]))
    return Calibration(
        factor_mg_per_mm3_hu=factor, rod_density_mg_cm3=density,
        rod_hu=rod_hu, rod_sd_hu=float(np.std(rod_values)), rod_voxels=int(rod_values.size),
        water_hu=water_hu, water_sd_hu=float(np.std(water_values)), water_voxels=int(water_values.size),
        method=method, rod=rod, warnings=warnings,
    )


def find_calibration_rod(ct: CTVolume) -> RodLocation:
    """The largest uniform bright cylinder 8-30 mm across (see module docstring). Raises CalibrationError if none."""
    spacing_x, spacing_y = ct.geometry.spacing[0], ct.geometry.spacing[1]
    sigma = (0.0, ROD_SMOOTHING_MM / spacing_y, ROD_SMOOTHING_MM / spacing_x)
    smooth = ndimage.gaussian_filter(ct.array.astype(np.float32), sigma)
    bright = smooth > ROD_DETECTION_HU
    del smooth
    best = _largest_candidate(bright, lambda component, box: _rod_candidate(ct, component, box, spacing_x, spacing_y))
    if best is None:
        raise CalibrationError(
            "no calibration rod found (a uniform cylinder 8-30 mm across, 150-600 HU); give --rod-mask and --water-mask"
        )
    return best


def _largest_candidate(mask: np.ndarray, candidate) -> Optional[RodLocation]:
    """``candidate(component, box)`` (a RodLocation or None) of the largest connected component of ``mask`` that
    gives one."""
    labels, _count = ndimage.label(mask)
    best: Optional[Tuple[int, RodLocation]] = None
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        component = labels[box] == index
        size = int(component.sum())
        if best is not None and size <= best[0]:
            continue
        found = candidate(component, box)
        if found is not None:
            best = (size, found)
    return None if best is None else best[1]


def _rod_candidate(ct, component, box, spacing_x, spacing_y) -> Optional[RodLocation]:
    areas = component.sum(axis=(1, 2))
    if np.count_nonzero(areas) < 2:
        return None
    middle = int(np.argmax(areas))
    section = component[middle]
    diameter = _round_diameter(section, spacing_x, spacing_y)
    if diameter is None:
        return None
    values = ct.array[box][component]
    if not ROD_MEAN_RANGE_HU[0] <= float(values.mean()) <= ROD_MEAN_RANGE_HU[1]:
        return None
    cy, cx = ndimage.center_of_mass(section)
    centre = (cy + box[1].start, cx + box[2].start)
    radius = diameter / 2.0
    core = _disc(ct.array.shape[1:], centre, ROD_CORE_FRACTION * radius, spacing_x, spacing_y)
    slice_means = {z: float(ct.array[z][core].mean()) for z in range(box[0].start, box[0].stop)}
    peak = max(slice_means.values())
    plateau = [z for z, mean in slice_means.items() if mean >= PLATEAU_FRACTION * peak]
    return RodLocation(centre_yx=(float(centre[0]), float(centre[1])), radius_mm=float(radius), slices=plateau)


def _disc(shape_yx, centre_yx, radius_mm, spacing_x, spacing_y, inner_mm: float = 0.0) -> np.ndarray:
    yy, xx = np.ogrid[: shape_yx[0], : shape_yx[1]]
    distance = np.hypot((yy - centre_yx[0]) * spacing_y, (xx - centre_yx[1]) * spacing_x)
    return (distance <= radius_mm) & (distance >= inner_mm)


def find_water_rod(ct: CTVolume, rod: RodLocation) -> Optional[RodLocation]:
    """The water-equivalent rod beside the HA rod (see module docstring), in the HA rod's plateau slices; None if none.
    Found on the mean of those slices smoothed like the HA rod (1 mm), as the largest round component at least
    ``WATER_ROD_CONTRAST_HU`` below the annulus around the HA rod and above -200 HU (not air)."""
    spacing_x, spacing_y = ct.geometry.spacing[0], ct.geometry.spacing[1]
    plane = ct.array[rod.slices].astype(np.float32).mean(axis=0)
    smooth = ndimage.gaussian_filter(plane, (ROD_SMOOTHING_MM / spacing_y, ROD_SMOOTHING_MM / spacing_x))
    annulus = _disc(plane.shape, rod.centre_yx, rod.radius_mm + ANNULUS_MM[1], spacing_x, spacing_y,
                    inner_mm=rod.radius_mm + ANNULUS_MM[0])
    level = float(np.median(smooth[annulus]))
    near = _disc(plane.shape, rod.centre_yx, rod.radius_mm + WATER_ROD_SEARCH_MM, spacing_x, spacing_y)
    dark = near & (smooth < level - WATER_ROD_CONTRAST_HU) & (smooth > -200.0)
    return _largest_candidate(dark, lambda section, box: _water_candidate(section, box, rod, spacing_x, spacing_y))


def _water_candidate(section, box, rod: RodLocation, spacing_x: float, spacing_y: float) -> Optional[RodLocation]:
    diameter = _round_diameter(section, spacing_x, spacing_y)
    if diameter is None:
        return None
    cy, cx = ndimage.center_of_mass(section)
    return RodLocation(centre_yx=(float(cy + box[0].start), float(cx + box[1].start)), radius_mm=float(diameter) / 2.0,
                       slices=list(rod.slices))


def _round_diameter(section: np.ndarray, spacing_x: float, spacing_y: float) -> Optional[float]:
    """Diameter (mm) of a 2D component that is a filled disc 8-30 mm across (height and width within 20%, at least
    80% of the ellipse they span filled), else None."""
    rows = np.flatnonzero(section.any(axis=1))
    cols = np.flatnonzero(section.any(axis=0))
    height = (rows[-1] - rows[0] + 1) * spacing_y
    width = (cols[-1] - cols[0] + 1) * spacing_x
    diameter = (height + width) / 2.0
    if not ROD_DIAMETER_RANGE_MM[0] <= diameter <= ROD_DIAMETER_RANGE_MM[1] or abs(height - width) > 0.2 * diameter:
        return None
    if section.sum() * spacing_x * spacing_y / (math.pi / 4 * height * width) < 0.8:
        return None
    return diameter


def rod_regions(ct: CTVolume, rod: RodLocation, water_rod: Optional[RodLocation] = None
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Boolean (z, y, x) masks of the rod core and of the water reference in the plateau slices: the water rod's core
    (60% of its radius) when given, else the annulus 3-8 mm around the HA rod."""
    spacing_x, spacing_y = ct.geometry.spacing[0], ct.geometry.spacing[1]
    core = _disc(ct.array.shape[1:], rod.centre_yx, ROD_CORE_FRACTION * rod.radius_mm, spacing_x, spacing_y)
    if water_rod is not None:
        ring = _disc(ct.array.shape[1:], water_rod.centre_yx, ROD_CORE_FRACTION * water_rod.radius_mm, spacing_x,
                     spacing_y)
    else:
        ring = _disc(ct.array.shape[1:], rod.centre_yx, rod.radius_mm + ANNULUS_MM[1], spacing_x, spacing_y,
                     inner_mm=rod.radius_mm + ANNULUS_MM[0])
    rod_mask = np.zeros(ct.array.shape, dtype=bool)
    water_mask = np.zeros(ct.array.shape, dtype=bool)
    for z in rod.slices:
        rod_mask[z] = core
        water_mask[z] = ring
    return rod_mask, water_mask
