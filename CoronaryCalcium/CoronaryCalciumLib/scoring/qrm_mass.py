"""Both calcium masses of each QRM insert against its physical mass, with the noise floor of the integrated mass.

Per insert (located by ``qrm.locate_inserts``, scored in ``qrm.insert_region``): the Agatston-style mass and the
integrated-intensity mass of the lesions found there. An insert too faint to pass the threshold (the 1 mm ones) has no
lesion: its integrated mass is then measured around its placed position (a seed the insert's own size) and marked
``seeded``. The uncertainty is the SD of the integrated mass of the same seed placed at calcium-free spots: the insert
positions shifted along z, away from the calcification plane and the calibration rod, into plain resin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import qrm
from .agatston import ScoringSettings, score
from .calibration import ANNULUS_MM, Calibration, find_calibration_rod
from .integrated_mass import IntegratedMassSettings, background_estimator, integrated_mass_of_seed, noise_floor
from ..io.ct import CTVolume
from ..region.mask import region_from_array

SPOT_SHIFT_MM = 15.0
SPOT_GAP_MM = 3.0


@dataclass
class InsertMass:
    """One insert: physical, Agatston-style and integrated-intensity mass (mg), and the integrated mass's SD (mg) at
    calcium-free spots of the same shape."""

    name: str
    physical_mg: float
    agatston_mass_mg: float
    integrated_mass_mg: float
    noise_sd_mg: float
    seeded: bool

    @property
    def agatston_error(self) -> float:
        return self.agatston_mass_mg / self.physical_mg - 1.0

    @property
    def integrated_error(self) -> float:
        return self.integrated_mass_mg / self.physical_mg - 1.0


def insert_seed(ct: CTVolume, insert: qrm.InsertLocation, dz_slices: int = 0) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """(boolean z-y-x cylinder of the insert's diameter and length at its centre shifted by ``dz_slices``, its offset
    on the CT grid). It holds at least the voxel nearest the centre, however much larger the pixels are."""
    sx, sy, sz = ct.geometry.spacing
    z0, y0, x0 = insert.centre_zyx
    radius = max(insert.diameter_mm / 2.0, 0.5 * min(sx, sy))
    ry, rx = int(math.ceil(radius / sy)) + 1, int(math.ceil(radius / sx)) + 1
    cy, cx = int(round(y0)), int(round(x0))
    yy, xx = np.ogrid[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1]
    disc = (np.hypot((yy - y0) * sy, (xx - x0) * sx) <= radius) | ((yy == cy) & (xx == cx))  # never empty
    slices = [z + dz_slices for z in range(ct.array.shape[0]) if abs(z - z0) * sz <= insert.diameter_mm / 2.0
              or z == int(round(z0))]
    slices = [z for z in slices if 0 <= z < ct.array.shape[0]]
    seed = np.repeat(disc[None], len(slices), axis=0)
    return seed, (slices[0], cy - ry, cx - rx)


def calcium_free_shifts(ct: CTVolume) -> Tuple[int, int]:
    """Two z shifts (slices) from the calcification plane into plain resin, on the side away from the rod: 15 mm,
    and ``SPOT_GAP_MM`` (at least one slice) further, so thin slices do not give the same noise twice."""
    rod = find_calibration_rod(ct)
    sign = -1 if np.mean(rod.slices) > ct.array.shape[0] / 2.0 else 1
    step = max(2, int(math.ceil(SPOT_SHIFT_MM / ct.geometry.spacing[2])))
    gap = max(1, int(round(SPOT_GAP_MM / ct.geometry.spacing[2])))
    return sign * step, sign * (step + gap)


def calcium_free_masses(ct: CTVolume, insert: qrm.InsertLocation, positions: List[qrm.InsertLocation],
                        shifts: Tuple[int, ...], threshold_hu: float, calibration_factor: float,
                        settings: IntegratedMassSettings) -> List[float]:
    """Integrated masses (mg) of a seed shaped like ``insert`` at each of ``positions`` shifted by each of ``shifts``
    slices: where there is no calcium, so they measure the method's noise floor for that size."""
    masses = []
    for other in positions:
        for shift in shifts:
            spot, offset = insert_seed(ct, replace(insert, centre_zyx=other.centre_zyx), shift)
            measured = integrated_mass_of_seed(ct.array, spot, ct.geometry.spacing, threshold_hu, calibration_factor,
                                               settings, offset)
            if measured is not None:
                masses.append(measured.mass_mg)
    return masses


def insert_masses(ct: CTVolume, calibration_factor: float,
                  settings: IntegratedMassSettings = IntegratedMassSettings()) -> List[InsertMass]:
    """Both masses of all nine inserts (see the module docstring)."""
    inserts = qrm.locate_inserts(ct)
    scoring = ScoringSettings(calibration_factor=calibration_factor, integrated_mass=settings)
    shifts = calcium_free_shifts(ct)
    threshold = 130.0
    noise_sd: Dict[str, float] = {}
    out = []
    for insert in inserts:
        result = score(ct, region_from_array(qrm.insert_region(ct, insert)), replace(scoring))
        threshold = float(result.settings["threshold_hu"])
        integrated: Optional[float] = result.integrated_mass_mg
        seeded = not result.lesions
        if seeded:
            seed, offset = insert_seed(ct, insert)
            measured = integrated_mass_of_seed(ct.array, seed, ct.geometry.spacing, threshold, calibration_factor,
                                               settings, offset)
            integrated = measured.mass_mg if measured is not None else float("nan")
        if insert.size not in noise_sd:
            noise_sd[insert.size] = noise_floor(calcium_free_masses(ct, insert, inserts, shifts, threshold,
                                                                    calibration_factor, settings))[1]
        sd = noise_sd[insert.size]
        out.append(InsertMass(name=insert.name, physical_mg=insert.mass_mg, agatston_mass_mg=float(result.mass_mg),
                              integrated_mass_mg=float(integrated), noise_sd_mg=sd, seeded=seeded))
    return out


@dataclass
class RodCheck:
    """The calibration rod integrated slice by slice: measured mass per unit length (mg/mm, one per plateau slice)
    against density x cross-section with the radius the rod locator measured (mg/mm). ``in_resin_mg_per_mm`` is the
    integral against the material around the rod alone; ``measured_mg_per_mm`` adds back the HU the rod's base
    material lacks against it (c_HA x (HU_around - HU_water) x pi r^2: the rod displaces resin with HA in a
    water-equivalent base, see calibration.py)."""

    measured_mg_per_mm: List[float]
    in_resin_mg_per_mm: List[float]
    expected_mg_per_mm: float
    radius_mm: float


def slice_excess(ct: CTVolume, z: int, centre_yx: Tuple[float, float], radius_mm: float, margin_mm: float = 2.0,
                 annulus_mm: Tuple[float, float] = ANNULUS_MM) -> Tuple[float, float]:
    """(sum of HU - background x pixel area over a disc ``margin_mm`` wider than a cylinder crossing slice ``z``, in
    HU x mm2; the background, HU: the trimmed mean of an annulus ``annulus_mm`` outside the cylinder)."""
    sx, sy, _sz = ct.geometry.spacing
    yy, xx = np.ogrid[: ct.array.shape[1], : ct.array.shape[2]]
    distance = np.hypot((yy - centre_yx[0]) * sy, (xx - centre_yx[1]) * sx)
    plane = ct.array[z].astype(np.float64)
    ring = (distance >= radius_mm + annulus_mm[0]) & (distance <= radius_mm + annulus_mm[1])
    background = background_estimator("trimmed_mean")(plane[ring])
    return float(np.sum(plane[distance <= radius_mm + margin_mm] - background) * sx * sy), background


def rod_mass_per_length(ct: CTVolume, calibration: Calibration) -> RodCheck:
    """The rod's mass per mm in each plateau slice (``slice_excess`` against the resin annulus the calibration
    names, 3-8 mm outside the rod, plus the base-material term of ``RodCheck``), which must match density x pi r^2 if
    factor and background model agree."""
    rod = calibration.rod
    factor = calibration.factor_mg_per_mm3_hu
    area = math.pi * rod.radius_mm ** 2
    in_resin, measured = [], []
    for z in rod.slices:
        excess, background = slice_excess(ct, z, rod.centre_yx, rod.radius_mm)
        in_resin.append(factor * excess)
        measured.append(factor * (excess + (background - calibration.water_hu) * area))
    expected = calibration.rod_density_mg_cm3 / 1000.0 * area
    return RodCheck(measured_mg_per_mm=measured, in_resin_mg_per_mm=in_resin, expected_mg_per_mm=expected,
                    radius_mm=rod.radius_mm)


def insert_brightness(ct: CTVolume, factor: float) -> Dict[str, float]:
    """{large insert: mass per mm in its central slice / (density x cross-section)}: 1.0 when the inserts read as
    bright per mg HA as the calibration rod (the central 3 mm of a 5 mm insert lies wholly inside it)."""
    ratios = {}
    for insert in qrm.locate_inserts(ct):
        if insert.size == "large":
            z = int(round(insert.centre_zyx[0]))
            radius = insert.diameter_mm / 2.0
            excess, _background = slice_excess(ct, z, insert.centre_zyx[1:], radius, annulus_mm=(3.0, 6.0))
            ratios[insert.name] = factor * excess / (insert.density_mg_cm3 / 1000.0 * math.pi * radius ** 2)
    return ratios
