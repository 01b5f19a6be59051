"""Integrated-intensity calcium mass (Black, Xiao & Molloi, J Med Imaging 2023, doi:10.1117/1.JMI.10.4.043502).

The Agatston-style mass (c_HA x volume x mean HU of the voxels >= threshold) drops the partial-volume voxels around a
calcification and counts the tissue's own HU inside it. The integrated-intensity mass instead sums the HU *excess over a
local background* over a region grown around the calcification, so blurred-out calcium is counted and the tissue is
not:

    m = c_HA x voxel volume x sum over the grown region of (HU - background HU)        [mg]

with c_HA in mg/(mm3 HU) from ``calibrate`` (0.2 mg/mm3 / (HU_rod - HU_resin)), the voxel volume in mm3.

Per lesion:
- grown region: the voxels within ``grow_mm`` in plane and within ``grow_mm`` (at least one slice) in z of the lesion,
  a dilation by a cylinder in mm built from the voxel spacing; voxels nearer (Euclidean, mm) to another lesion,
  voxels of other bright structures (a >= threshold 26-connected component of at least ``min_structure_voxels``
  voxels that does not touch the lesion: other calcium, bone), and voxels below ``exclude_below_hu`` (air, lung) are
  left out. Bright structures are found on the CT smoothed by a Gaussian of ``structure_sigma_mm`` (1 mm): on raw
  thin slices (1 mm, 40 HU noise) 130 HU is 1.4 SD above the resin, the noise specks touching a lesion join it and
  are left out of its ring, and calcium-free spots integrated to +0.7 mg (medium) and +1.4 mg (large) instead of ~0;
  smoothed, +0.2 and -0.0 mg, and nothing changes on the real 3 mm QRM scan. Smaller bright specks are noise and stay: dropping every noise voxel above the threshold would cut the
  noise's upper tail and bias the integral (at 35 HU noise on 75 HU resin, 130 HU is only 1.6 SD up). The grown
  region reaches beyond the region of interest: the blur of calcium does not stop at a mask's edge.
- background: from the ring ``grow_mm`` to ``grow_mm + ring_mm`` around the lesion, outside every lesion's grown
  region, without the lesion's own >= threshold voxels, other bright structures (as above) or voxels below
  ``exclude_below_hu`` (air, lung). ``local`` (the default) interpolates a background for every voxel from the ring
  by normalised convolution (Gaussian, ``local_sigma_mm``), so a coronary lesion whose surroundings are part fat
  (-100 HU), part vessel or myocardium (40 HU) gets each part's own level: one mean for the whole ring missed two
  cardiac phantoms' coronary masses by -85% and -113%, the local one misses six by -9% to +16% (README).
  ``trimmed_mean_per_slice`` takes a 10% trimmed mean of the ring in each slice (a slice whose ring holds fewer than
  ``min_ring_voxels_per_slice`` voxels uses the whole ring's), ``trimmed_mean`` one for the whole ring,
  ``median_per_slice`` / ``median`` the median (quantised to 0.5 HU).
- the mass is not clipped at zero: noise integrates to about 0 mg either way, and clipping would bias it upwards.

Molloi's volume-fraction method is not a separate number here: with the calibration rod as its calcium reference (the
only one a patient scan has: HU_ref - HU_water = rho_ref / c_HA) and unclipped fractions, its mass is exactly this
integrated mass and its volume this mass / rho_ref; clipped fractions would be a different estimator, biased up in
noise (README, "Calcium mass: two methods").

No calibration, no integrated mass (None). A lesion with fewer than ``min_ring_voxels`` background voxels gets None
and a warning, never a guessed background.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .._lazy import lazy_module

ndimage, stats = lazy_module("scipy.ndimage"), lazy_module("scipy.stats")  # loaded on first use (issue 15)

ESTIMATORS = ("local", "trimmed_mean_per_slice", "trimmed_mean", "median_per_slice", "median")
TRIM_FRACTION = 0.1


@dataclass(frozen=True)
class IntegratedMassSettings:
    """Settings of the integrated-intensity mass. Distances in mm, HU values in HU."""

    grow_mm: float = 1.5
    ring_mm: float = 3.0
    background_estimator: str = "local"
    local_sigma_mm: float = 1.0
    exclude_below_hu: float = -200.0
    min_ring_voxels: int = 20
    min_structure_voxels: int = 10
    structure_sigma_mm: float = 1.0
    min_ring_voxels_per_slice: int = 20

    def validate(self) -> None:
        if not 0 < self.grow_mm <= 20 or not 0 < self.ring_mm <= 20:
            raise InputError("integrated mass: grow and ring widths must be in (0, 20] mm, not %s and %s"
                             % (self.grow_mm, self.ring_mm))
        if self.background_estimator not in ESTIMATORS:
            raise InputError("integrated mass: background estimator must be one of %s, not %r"
                             % (", ".join(ESTIMATORS), self.background_estimator))
        if not 0 <= self.structure_sigma_mm <= 5:
            raise InputError("integrated mass: the bright-structure smoothing must be in [0, 5] mm, not %s"
                             % self.structure_sigma_mm)
        if not 0 < self.local_sigma_mm <= 10:
            raise InputError("integrated mass: the local background's sigma must be in (0, 10] mm, not %s"
                             % self.local_sigma_mm)
        if not -1000 <= self.exclude_below_hu <= 0:
            raise InputError("integrated mass: the air/lung exclusion must be in [-1000, 0] HU, not %s"
                             % self.exclude_below_hu)

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["formula"] = "c_HA x voxel volume x sum(HU - background) over the grown region"
        data["reference"] = "Black, Xiao & Molloi, J Med Imaging 2023, doi:10.1117/1.JMI.10.4.043502"
        return data


@dataclass
class IntegratedMass:
    """One measurement: mass (mg; None without calibration), the HU excess integral (HU x mm3), the grown region and
    ring sizes (voxels) and the background HU (median over the slices used)."""

    mass_mg: Optional[float]
    excess_hu_mm3: float
    region_voxels: int
    ring_voxels: int
    background_hu: float


def _reach(spacing_xyz: Sequence[float], radius_mm: float) -> Tuple[int, int, int]:
    """(z, y, x) reach in voxels of a growth by ``radius_mm``: in plane the radius, in z the radius but at least one
    slice (partial volume reaches the neighbouring slice however thick the slices are)."""
    sx, sy, sz = (float(s) for s in spacing_xyz)
    return (max(1, int(math.floor(radius_mm / sz + 1e-6))), int(math.floor(radius_mm / sy)),
            int(math.floor(radius_mm / sx)))


def grow(mask: np.ndarray, spacing_xyz: Sequence[float], radius_mm: float) -> np.ndarray:
    """Dilation of a (z, y, x) mask by a cylinder: a disc of ``radius_mm`` in plane times ``_reach`` slices in z.
    Separable: a maximum along z, then an in-plane Euclidean distance in mm (the z sampling is made so large that the
    nearest voxel always lies in the same slice), which is much faster than a brute-force dilation with the disc."""
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    reach_z = _reach(spacing_xyz, radius_mm)[0]
    stacked = ndimage.maximum_filter1d(mask.astype(np.uint8), size=2 * reach_z + 1, axis=0, mode="constant") > 0
    far = 1e6 * float(max(mask.shape))
    distance = ndimage.distance_transform_edt(~stacked, sampling=(far, float(spacing_xyz[1]), float(spacing_xyz[0])))
    return distance <= radius_mm + 1e-6


def _crop(box: Tuple[slice, ...], reach: Tuple[int, ...], shape: Tuple[int, ...]) -> Tuple[slice, ...]:
    return tuple(slice(max(0, s.start - r - 1), min(n, s.stop + r + 1)) for s, r, n in zip(box, reach, shape))


def integrated_masses(hu: np.ndarray, lesion_labels: np.ndarray, spacing_xyz: Sequence[float], threshold_hu: float,
                      calibration_factor: Optional[float],
                      settings: IntegratedMassSettings = IntegratedMassSettings(),
                      offset_zyx: Sequence[int] = (0, 0, 0)) -> Dict[int, Optional[IntegratedMass]]:
    """{lesion id: IntegratedMass, or None when too little background surrounds it} for every id > 0 in
    ``lesion_labels``: a z-y-x label array placed at ``offset_zyx`` in ``hu``, the full CT in HU (the grown region
    and the ring may reach beyond the labels' box). Spacing in mm, x-y-z."""
    settings.validate()
    outer_reach = _reach(spacing_xyz, settings.grow_mm + settings.ring_mm)
    sampling = (float(spacing_xyz[2]), float(spacing_xyz[1]), float(spacing_xyz[0]))
    voxel_volume = float(np.prod(spacing_xyz))
    results: Dict[int, Optional[IntegratedMass]] = {}
    for lesion_id, box in enumerate(ndimage.find_objects(lesion_labels), start=1):
        if box is None:
            continue
        placed = tuple(slice(s.start + o, s.stop + o) for s, o in zip(box, offset_zyx))
        crop = _crop(placed, outer_reach, hu.shape)
        labels = _labels_in(lesion_labels, offset_zyx, crop)
        own = labels == lesion_id
        results[lesion_id] = _measure(hu[crop].astype(np.float64), labels, own, lesion_id, sampling, spacing_xyz,
                                      threshold_hu, calibration_factor, voxel_volume, settings)
    return results


def _labels_in(lesion_labels: np.ndarray, offset_zyx: Sequence[int], crop: Tuple[slice, ...]) -> np.ndarray:
    """The labels (placed at ``offset_zyx``) seen through ``crop`` of the full grid; 0 outside the labels' box."""
    out = np.zeros(tuple(s.stop - s.start for s in crop), dtype=lesion_labels.dtype)
    source, target = [], []
    for s, o, n in zip(crop, offset_zyx, lesion_labels.shape):
        start, stop = max(s.start, o), min(s.stop, o + n)
        source.append(slice(start - o, stop - o))
        target.append(slice(start - s.start, stop - s.start))
    out[tuple(target)] = lesion_labels[tuple(source)]
    return out


def integrated_mass_of_seed(hu: np.ndarray, seed: np.ndarray, spacing_xyz: Sequence[float], threshold_hu: float,
                            calibration_factor: Optional[float],
                            settings: IntegratedMassSettings = IntegratedMassSettings(),
                            offset_zyx: Sequence[int] = (0, 0, 0)) -> Optional[IntegratedMass]:
    """The integrated mass around a seed mask placed at ``offset_zyx`` on the CT grid (e.g. a calcification too faint
    to pass the threshold, or a calcium-free spot to measure noise), with the same region, background and exclusions
    as for a lesion."""
    return integrated_masses(hu, seed.astype(np.uint8), spacing_xyz, threshold_hu, calibration_factor, settings,
                             offset_zyx).get(1)


def attach_integrated_mass(result, hu: np.ndarray, spacing_xyz: Sequence[float],
                           calibration_factor: Optional[float], settings: IntegratedMassSettings) -> None:
    """Fill ``integrated_mass_mg`` of each lesion, each artery and the total of a ``CalciumScore`` (None throughout
    without calibration), record the settings in ``result.settings['integrated_mass']``, and warn about lesions left
    unmeasured."""
    result.settings["integrated_mass"] = settings.to_dict()
    if calibration_factor is None:
        return
    measured: Dict[int, Optional[IntegratedMass]] = {}
    if result.lesions:
        offset = tuple(s.start for s in result.bounding_box)
        measured = integrated_masses(hu, result.lesion_labels, spacing_xyz, result.settings["threshold_hu"],
                                     calibration_factor, settings, offset)
    for entry in result.per_artery.values():
        entry.integrated_mass_mg = 0.0
    missing = 0
    for lesion in result.lesions:
        value = measured.get(lesion.id)
        if value is None:
            missing += 1
            continue
        lesion.integrated_mass_mg = value.mass_mg
        result.per_artery[lesion.artery].integrated_mass_mg += value.mass_mg
    result.integrated_mass_mg = float(sum(entry.integrated_mass_mg for entry in result.per_artery.values()))
    if missing:
        result.warnings.append("integrated mass not measured for %d lesion(s): fewer than %d background voxels "
                               "around them; the integrated totals leave them out"
                               % (missing, settings.min_ring_voxels))


def _measure(values, labels, own, lesion_id, sampling, spacing_xyz, threshold_hu, calibration_factor, voxel_volume,
             settings) -> Optional[IntegratedMass]:
    any_lesion = labels > 0
    if np.any(any_lesion & ~own):
        _distance, nearest = ndimage.distance_transform_edt(~any_lesion, sampling=sampling, return_indices=True)
        mine = labels[tuple(nearest)] == lesion_id
        others_grown = grow(any_lesion & ~own, spacing_xyz, settings.grow_mm)
    else:
        mine = np.ones(values.shape, dtype=bool)
        others_grown = np.zeros(values.shape, dtype=bool)
    bright = _smoothed(values, spacing_xyz, settings.structure_sigma_mm) >= threshold_hu
    components, count = ndimage.label(bright | own, structure=np.ones((3, 3, 3), dtype=bool))
    touching = np.zeros(count + 1, dtype=bool)
    touching[np.unique(components[own])] = True
    touching[0] = False
    large = np.bincount(components.ravel(), minlength=count + 1) >= settings.min_structure_voxels
    large[0] = False
    own_bright = touching[components]
    foreign_structure = large[components] & ~own_bright
    tissue = values >= settings.exclude_below_hu
    grown = grow(own, spacing_xyz, settings.grow_mm)
    region = (grown & mine & ~foreign_structure & tissue) | own
    ring = (grow(own, spacing_xyz, settings.grow_mm + settings.ring_mm) & ~grown & ~others_grown & ~foreign_structure
            & ~own_bright & tissue)
    ring_values = values[ring]
    if ring_values.size < settings.min_ring_voxels:
        return None
    centre = background_estimator(settings.background_estimator)
    background = np.full(values.shape[0], centre(ring_values))
    if settings.background_estimator.endswith("_per_slice"):
        for z in np.flatnonzero(region.any(axis=(1, 2))):
            in_slice = values[z][ring[z]]
            if in_slice.size >= settings.min_ring_voxels_per_slice:
                background[z] = centre(in_slice)
    zz = np.nonzero(region)[0]
    if settings.background_estimator == "local":
        local = _local_background(values, ring, spacing_xyz, settings.local_sigma_mm)
        excess = float(np.sum(values[region] - np.where(np.isnan(local), background[:, None, None], local)[region]))
        excess *= voxel_volume
    else:
        excess = float(np.sum(values[region] - background[zz])) * voxel_volume
    used = np.unique(zz)
    return IntegratedMass(
        mass_mg=None if calibration_factor is None else float(calibration_factor * excess),
        excess_hu_mm3=excess,
        region_voxels=int(region.sum()),
        ring_voxels=int(ring_values.size),
        background_hu=float(np.median(background[used])),
    )


def _smoothed(values: np.ndarray, spacing_xyz: Sequence[float], sigma_mm: float) -> np.ndarray:
    """``values`` smoothed by a Gaussian of ``sigma_mm`` in mm on each axis (unchanged for 0): bright structures are
    found on it, so noise specks above the threshold in noisy thin slices do not join them."""
    if sigma_mm <= 0:
        return values
    sigma = tuple(sigma_mm / float(spacing) for spacing in (spacing_xyz[2], spacing_xyz[1], spacing_xyz[0]))
    return ndimage.gaussian_filter(values, sigma, mode="nearest")


def _local_background(values: np.ndarray, ring: np.ndarray, spacing_xyz: Sequence[float], sigma_mm: float
                      ) -> np.ndarray:
    """Background HU at every voxel interpolated from the ring's tissue by normalised convolution: a Gaussian of
    ``sigma_mm`` (in mm on each axis) of the ring's HU divided by the same Gaussian of the ring's indicator. Tissue
    next to a voxel weighs most, so a region that is part vessel, part fat gets each part's own level. NaN where the
    ring's weight is negligible (the caller falls back to the ring's trimmed mean)."""
    sigma = tuple(sigma_mm / float(spacing) for spacing in (spacing_xyz[2], spacing_xyz[1], spacing_xyz[0]))
    weight = ndimage.gaussian_filter(ring.astype(np.float64), sigma, mode="constant", truncate=4.0)
    total = ndimage.gaussian_filter(np.where(ring, values, 0.0), sigma, mode="constant", truncate=4.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        local = total / weight
    local[weight < 1e-3] = np.nan
    return local


def background_estimator(name: str):
    """The background estimator: a 10% trimmed mean (symmetric, so unbiased for symmetric noise, and not quantised to
    whole HU as a median of integer HU is: half an HU of background error is 0.5 mg on a 5 mm insert) or the median."""
    if name == "local":
        name = "trimmed_mean"
    if name.startswith("median"):
        return lambda values: float(np.median(values))
    return lambda values: float(stats.trim_mean(values, TRIM_FRACTION))


def noise_floor(masses: List[float]) -> Tuple[float, float]:
    """(bias, SD) in mg of integrated masses measured where there is no calcium."""
    array = np.asarray(masses, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0
