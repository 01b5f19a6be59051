"""Agatston, volume and mass scores, the 3D lesion list and per-artery scores.

Rules (docs/calcium-scoring.md of the project):

1. candidate voxels: inside the region of interest and >= the detection threshold (130 HU at 120 kVp);
2. 2D connected components per axial slice, 8-connected in plane by default;
3. a component counts if its area is >= 1 mm2;
4. its weight comes from its own peak HU in that slice: 130-199 -> 1, 200-299 -> 2, 300-399 -> 3, >= 400 -> 4;
5. slice contribution = area (mm2) x weight; total = sum x (measured slice increment / 3 mm);
6. 3D lesions are 26-connected components of the surviving voxels; a lesion's Agatston is the sum of its 2D contributions.

Volume = surviving voxels x voxel volume (mm3). Mass = c_HA x sum over lesions of volume x mean HU (mg), with c_HA in
mg/(mm3 HU) from a calibration; without one the mass is None, never a silent default.

Work is done inside the bounding box of the region of interest, on views of the CT, so time and memory scale with the
region, not the scan.

Before thresholding, scans not made for calcium scoring are brought towards its protocol (``protocol``: 3 mm slabs
from slices thinner than 1.5 mm, a blur for sharp kernels; scans made for it are untouched), the noise in the blood pool
is measured (``image_quality``), and in automatic regions lesions that are not coronary calcium are listed apart with a
reason (``lesion_filters``): ``lesions`` and every total hold the counted lesions only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import image_quality, lesion_filters
from .categories import Category, categorise
from .contrast import check_contrast
from .protocol import ProtocolSettings, normalise
from .integrated_mass import IntegratedMassSettings, attach_integrated_mass
from ..io.ct import CTVolume
from ..errors import ContrastError, InputError, RegionError
from ..region.mask import RegionOfInterest, bounding_box
from ..region.arteries import ARTERIES, ARTERIES_AND_UNASSIGNED, UNASSIGNED
from .._lazy import lazy_module

ndimage = lazy_module("scipy.ndimage")  # loaded when scoring runs, not when result imports CalciumScore

REFERENCE_INCREMENT_MM = 3.0
STANDARD_WEIGHT_BOUNDS_HU = (130.0, 200.0, 300.0, 400.0)
# Lower bounds (HU) of weights 1/2/3/4 at lower tube voltages: Graeni et al., EHJ-CVI 2018, doi:10.1093/ehjci/jey019.
KVP_WEIGHT_BOUNDS_HU: Dict[int, Tuple[float, float, float, float]] = {
    70: (207.0, 318.0, 477.0, 636.0),
    80: (177.0, 271.0, 408.0, 544.0),
    100: (145.0, 222.0, 334.0, 446.0),
}
AREA_TOLERANCE_MM2 = 1e-9  # 4 pixels of 0.5 x 0.5 mm are exactly 1 mm2 despite floating point


@dataclass
class ScoringSettings:
    """Scoring options. ``threshold_hu`` None means: 130 HU, or the kVp-specific bound when ``kvp_specific``.

    ``kvp`` None means: read from the CT (DICOM KVP). ``calibration_factor`` is c_HA in mg/(mm3 HU).
    """

    threshold_hu: Optional[float] = None
    min_area_mm2: float = 1.0
    connectivity: int = 8
    kvp: Optional[float] = None
    kvp_specific: bool = True
    calibration_factor: Optional[float] = None
    allow_contrast: bool = False
    protocol: ProtocolSettings = field(default_factory=ProtocolSettings)
    lesion_filters: str = "auto"  # "auto": automatic regions only; "on": every region; "off": none
    integrated_mass: IntegratedMassSettings = field(default_factory=IntegratedMassSettings)

    def validate(self) -> None:
        self.protocol.validate()
        self.integrated_mass.validate()
        if self.lesion_filters not in lesion_filters.MODES:
            raise InputError("lesion filters must be one of %s, not %r" % (", ".join(lesion_filters.MODES),
                                                                         self.lesion_filters))
        if self.connectivity not in (4, 8):
            raise InputError("connectivity must be 4 or 8, not %s" % self.connectivity)
        if self.min_area_mm2 < 0:
            raise InputError("minimum area must be >= 0 mm2, not %s" % self.min_area_mm2)
        if self.calibration_factor is not None and not 0 < self.calibration_factor < 0.01:
            raise InputError(
                "calibration factor %s mg/(mm3 HU) is implausible (typical 0.0007-0.0009 at 120 kVp)"
                % self.calibration_factor
            )
        if self.threshold_hu is not None and not -1000 < self.threshold_hu < 3000:
            raise InputError("threshold %s HU is outside the HU range" % self.threshold_hu)


def scoring_settings(threshold_hu: Optional[float] = None, min_area_mm2: float = 1.0, connectivity: int = 8,
                     kvp: Optional[float] = None, kvp_specific: bool = True,
                     calibration_factor: Optional[float] = None, allow_contrast: bool = False,
                     thin_slices: str = "auto", sharp_kernel: str = "auto",
                     lesion_filters: str = "auto",
                     integrated_mass: Optional[IntegratedMassSettings] = None) -> ScoringSettings:
    """Validated settings from what a user chose (command-line options, the Slicer panel): the one place they are
    built. Units: HU, mm2, kV, mg/(mm3 HU). ``thin_slices``, ``sharp_kernel``, ``lesion_filters``: auto, on, off.
    ``integrated_mass``: the integrated-intensity mass settings (default: IntegratedMassSettings())."""
    settings = ScoringSettings(threshold_hu=threshold_hu, min_area_mm2=min_area_mm2, connectivity=connectivity,
                               kvp=kvp, kvp_specific=kvp_specific, calibration_factor=calibration_factor,
                               allow_contrast=allow_contrast,
                               protocol=ProtocolSettings(thin_slices=thin_slices, sharp_kernel=sharp_kernel),
                               lesion_filters=lesion_filters,
                               integrated_mass=integrated_mass or IntegratedMassSettings())
    settings.validate()
    return settings


@dataclass
class Lesion:
    """One 3D calcified lesion. Centroid in LPS patient mm (x right-to-left, y anterior-to-posterior, z up);
    slices are 0-based indices of the CT's axial slices, inclusive."""

    id: int
    artery: str
    agatston: float
    volume_mm3: float
    mass_mg: Optional[float]
    peak_hu: float
    mean_hu: float
    voxel_count: int
    centroid_lps_mm: Tuple[float, float, float]
    first_slice: int
    last_slice: int
    excluded: Optional[str] = None  # why a lesion filter left it out of the score (None: counted)
    integrated_mass_mg: Optional[float] = None  # integrated-intensity mass (scoring/integrated_mass.py)

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        if self.excluded is None:
            data.pop("excluded")
        return data


@dataclass
class ArteryScore:
    """Scores of one artery (or of unassigned calcium). Volume in mm3, mass in mg."""

    agatston: float = 0.0
    volume_mm3: float = 0.0
    mass_mg: Optional[float] = None
    integrated_mass_mg: Optional[float] = None
    lesion_count: int = 0

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


@dataclass
class CalciumScore:
    """Everything scoring produced. ``lesion_labels`` holds lesion ids (1..n counted, then the excluded ones; 0 = none)
    inside ``bounding_box`` of the CT grid; use ``lesion_label_volume()`` for a full-size map. ``excluded_lesions``
    were left out of every total, each with its reason; ``image_quality`` says whether the category can be trusted."""

    agatston: float
    volume_mm3: float
    mass_mg: Optional[float]
    per_artery: Dict[str, ArteryScore]
    lesions: List[Lesion]
    category: Category
    settings: Dict[str, object]
    warnings: List[str] = field(default_factory=list)
    lesion_labels: Optional[np.ndarray] = None
    bounding_box: Optional[Tuple[slice, slice, slice]] = None
    ct_shape: Optional[Tuple[int, int, int]] = None
    excluded_lesions: List[Lesion] = field(default_factory=list)
    image_quality: Optional[image_quality.ImageQuality] = None
    integrated_mass_mg: Optional[float] = None

    def lesion_label_volume(self) -> np.ndarray:
        """Lesion ids on the full CT grid (uint16, z-y-x)."""
        volume = np.zeros(self.ct_shape, dtype=np.uint16)
        if self.lesion_labels is not None:
            volume[self.bounding_box] = self.lesion_labels
        return volume

    def artery_label_volume(self, artery_values: Optional[Dict[str, int]] = None) -> np.ndarray:
        """Calcium labelled by artery on the full CT grid (uint8): 1=LM, 2=LAD, 3=LCX, 4=RCA, 5=unassigned by default."""
        values = artery_values or {name: index for index, name in enumerate(ARTERIES_AND_UNASSIGNED, start=1)}
        lookup = np.zeros(len(self.lesions) + len(self.excluded_lesions) + 1, dtype=np.uint8)
        for lesion in self.lesions:
            lookup[lesion.id] = values[lesion.artery]
        volume = np.zeros(self.ct_shape, dtype=np.uint8)
        if self.lesion_labels is not None:
            volume[self.bounding_box] = lookup[self.lesion_labels]
        return volume

    def to_dict(self) -> Dict[str, object]:
        """The JSON-ready result: agatston, volume_mm3, mass_mg, category (with ``reliable``), per_artery, lesions,
        excluded_lesions, image_quality, settings, warnings."""
        category = self.category.to_dict()
        category["reliable"] = self.image_quality.reliable if self.image_quality is not None else True
        return {
            "agatston": self.agatston,
            "volume_mm3": self.volume_mm3,
            "mass_mg": self.mass_mg,
            "integrated_mass_mg": self.integrated_mass_mg,
            "category": category,
            "per_artery": {name: score.to_dict() for name, score in self.per_artery.items()},
            "lesions": [lesion.to_dict() for lesion in self.lesions],
            "excluded_lesions": [lesion.to_dict() for lesion in self.excluded_lesions],
            "image_quality": self.image_quality.to_dict() if self.image_quality is not None else None,
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
        }


def resolve_weight_bounds(settings: ScoringSettings, ct_kvp: Optional[float]):
    """(bounds for weights 1-4 in HU, kVp used, where it came from, rule name, warnings)."""
    notes: List[str] = []
    kvp = settings.kvp if settings.kvp is not None else ct_kvp
    kvp_source = "user" if settings.kvp is not None else ("DICOM" if ct_kvp is not None else "unknown")
    bounds = STANDARD_WEIGHT_BOUNDS_HU
    rule = "standard 130/200/300/400 HU"
    if kvp is not None and settings.kvp_specific:
        nominal = int(round(kvp))
        if nominal in KVP_WEIGHT_BOUNDS_HU:
            bounds = KVP_WEIGHT_BOUNDS_HU[nominal]
            rule = "%d kVp table (Graeni et al. 2018)" % nominal
        elif nominal != 120:
            notes.append("no published thresholds for %g kVp; the 120 kVp rule (130 HU) was used" % kvp)
    elif kvp is None:
        notes.append("tube voltage unknown; the 120 kVp rule (130 HU) was used")
    if settings.threshold_hu is not None:
        bounds = (float(settings.threshold_hu),) + tuple(bounds[1:])
        rule += ", detection threshold set to %g HU by the user" % settings.threshold_hu
    return bounds, kvp, kvp_source, rule, notes


def _plane_structure(connectivity: int) -> np.ndarray:
    """3x3x3 structure connecting voxels only within their own axial slice."""
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    return structure


def score(ct: CTVolume, region: RegionOfInterest, settings: Optional[ScoringSettings] = None) -> CalciumScore:
    """Score calcium in ``region`` of ``ct``. Raises RegionError (empty region) or ContrastError (enhanced CT)."""
    settings = settings or ScoringSettings()
    settings.validate()
    if region.labels.shape != ct.array.shape:
        raise RegionError("region of interest %s does not match the CT grid %s" % (region.labels.shape, ct.array.shape))
    if bounding_box(region.labels) is None:
        raise RegionError("region of interest %s is empty: not scoring (an empty region is not a zero score)"
                          % region.source)
    original_shape = tuple(ct.array.shape)
    region_voxels = region.voxel_count()
    source = ct
    prepared = normalise(ct, region, settings.protocol)
    ct, region = prepared.ct, prepared.region
    box = bounding_box(region.labels)
    warnings: List[str] = list(ct.warnings) + list(region.warnings) + list(prepared.warnings)
    contrast = check_contrast(ct, region)
    if contrast.enhanced:
        if not settings.allow_contrast:
            raise ContrastError(
                "CT looks contrast-enhanced (%s): the 130 HU threshold would count blood as calcium. "
                "Not scoring; override with --allow-contrast if you know better" % contrast.reason()
            )
        warnings.append("CONTRAST-ENHANCED CT scored on user override (%s): scores are not valid Agatston scores"
                        % contrast.reason())

    bounds, kvp, kvp_source, rule, notes = resolve_weight_bounds(settings, ct.metadata.kvp)
    warnings.extend(notes)
    geometry = ct.geometry
    pixel_area = geometry.pixel_area_mm2
    voxel_volume = geometry.voxel_volume_mm3
    increment = float(ct.metadata.slice_increment_mm or geometry.spacing[2])
    increment_factor = increment / REFERENCE_INCREMENT_MM

    hu = ct.array[box]
    roi = region.labels[box]
    candidates = (hu >= bounds[0]) & (roi > 0)
    planar, n_planar = ndimage.label(candidates, structure=_plane_structure(settings.connectivity))
    zz, yy, xx = np.nonzero(planar)
    planar_ids = planar[zz, yy, xx]
    values = hu[zz, yy, xx].astype(np.float64)

    pixel_counts = np.bincount(planar_ids, minlength=n_planar + 1)
    areas = pixel_counts * pixel_area
    peaks = np.full(n_planar + 1, -np.inf)
    if n_planar:
        peaks[1:] = ndimage.maximum(values, planar_ids, index=np.arange(1, n_planar + 1))
    kept = areas >= settings.min_area_mm2 - AREA_TOLERANCE_MM2
    kept[0] = False
    weights = np.searchsorted(np.asarray(bounds[1:]), peaks, side="right") + 1
    contributions = np.where(kept, areas * weights, 0.0)

    survives = kept[planar_ids]
    lesion_mask = np.zeros(hu.shape, dtype=bool)
    lesion_mask[zz[survives], yy[survives], xx[survives]] = True
    lesion_labels, n_lesions = ndimage.label(lesion_mask, structure=np.ones((3, 3, 3), dtype=bool))
    del lesion_mask
    zz, yy, xx, values = zz[survives], yy[survives], xx[survives], values[survives]
    lesion_ids = lesion_labels[zz, yy, xx]
    artery_of_label = region.names

    lesions: List[Lesion] = []
    if n_lesions:
        lesion_of_planar = np.zeros(n_planar + 1, dtype=np.int64)
        lesion_of_planar[planar_ids[survives]] = lesion_ids
        lesion_agatston = np.bincount(lesion_of_planar[kept], weights=contributions[kept], minlength=n_lesions + 1)
        counts = np.bincount(lesion_ids, minlength=n_lesions + 1)
        sums = np.bincount(lesion_ids, weights=values, minlength=n_lesions + 1)
        index = np.arange(1, n_lesions + 1)
        lesion_peaks = ndimage.maximum(values, lesion_ids, index=index)
        first = ndimage.minimum(zz, lesion_ids, index=index)
        last = ndimage.maximum(zz, lesion_ids, index=index)
        centroid = [np.bincount(lesion_ids, weights=axis, minlength=n_lesions + 1) for axis in (zz, yy, xx)]
        roi_values = roi[zz, yy, xx].astype(np.int64)
        votes = np.bincount(lesion_ids * 256 + roi_values, minlength=(n_lesions + 1) * 256).reshape(n_lesions + 1, 256)
        majority = votes.argmax(axis=1)
        offset = (box[0].start, box[1].start, box[2].start)
        for lesion_id in index:
            n = int(counts[lesion_id])
            mean_hu = float(sums[lesion_id] / n)
            volume = n * voxel_volume
            centre = [float(centroid[axis][lesion_id] / n + offset[axis]) for axis in range(3)]
            lesions.append(Lesion(
                id=int(lesion_id),
                artery=artery_of_label.get(int(majority[lesion_id]), UNASSIGNED),
                agatston=float(lesion_agatston[lesion_id] * increment_factor),
                volume_mm3=float(volume),
                mass_mg=(float(settings.calibration_factor * volume * mean_hu)
                         if settings.calibration_factor is not None else None),
                peak_hu=float(lesion_peaks[lesion_id - 1]),
                mean_hu=mean_hu,
                voxel_count=n,
                centroid_lps_mm=geometry.index_to_lps(centre),
                first_slice=int(first[lesion_id - 1]) + offset[0],
                last_slice=int(last[lesion_id - 1]) + offset[0],
            ))

    total_agatston = float(contributions.sum() * increment_factor)
    total_volume = float(len(values) * voxel_volume)
    total_mass = (float(settings.calibration_factor * voxel_volume * values.sum())
                  if settings.calibration_factor is not None else None)
    if settings.calibration_factor is None:
        warnings.append("mass not reported: no calibration factor (measure one with `coronary-calcium calibrate`)")

    quality = image_quality.measure(ct.array, region.blood_pool, sharp_left_unsmoothed=prepared.kernel.is_sharp
                                    and not prepared.steps.get("kernel_smoothing_sigma_mm"))
    excluded: List[Lesion] = []
    filters_on = settings.lesion_filters == "on" or (settings.lesion_filters == "auto" and region.automatic)
    if lesions and filters_on:
        lesions, excluded, lesion_labels, kept_voxels = _exclude_non_coronary(
            lesions, lesion_labels, lesion_ids, hu, box, ct, region, bounds[0], quality,
            prepared.below(lesion_filters.AIR_HU, box))
        if excluded:
            kept_planar = np.zeros(n_planar + 1, dtype=bool)
            kept_planar[planar_ids[survives][kept_voxels]] = True
            total_agatston = float(np.where(kept_planar, contributions, 0.0).sum() * increment_factor)
            values = values[kept_voxels]
            total_volume = float(len(values) * voxel_volume)
            total_mass = (float(settings.calibration_factor * voxel_volume * values.sum())
                          if settings.calibration_factor is not None else None)
            warnings.append("%d lesion(s) (%.0f Agatston) left out as not coronary calcium; each is listed with its "
                            "reason" % (len(excluded), sum(lesion.agatston for lesion in excluded)))
    if not quality.reliable:
        warnings.append("CATEGORY UNRELIABLE: %s" % "; ".join(quality.reasons))
    for lesion in lesions + excluded:  # slab indices -> the CT's own slices (unchanged without slabs)
        lesion.first_slice, lesion.last_slice = prepared.original_slice_range(lesion.first_slice, lesion.last_slice)
    lesion_labels, box = prepared.to_original_slices(lesion_labels, box)
    per_artery = per_artery_scores(lesions, settings.calibration_factor is not None)
    vessels = _vessel_count(per_artery, region, warnings)
    resolved = {
        "threshold_hu": bounds[0],
        "weight_bounds_hu": list(bounds),
        "weight_rule": rule,
        "kvp": kvp,
        "kvp_source": kvp_source,
        "kvp_specific": settings.kvp_specific,
        "min_area_mm2": settings.min_area_mm2,
        "connectivity_2d": settings.connectivity,
        "connectivity_3d": 26,
        "slice_increment_mm": increment,
        "slice_thickness_mm": ct.metadata.slice_thickness_mm,
        "increment_factor": increment_factor,
        "pixel_area_mm2": pixel_area,
        "voxel_volume_mm3": voxel_volume,
        "calibration_factor_mg_per_mm3_hu": settings.calibration_factor,
        "allow_contrast": settings.allow_contrast,
        "contrast_check_median_hu": contrast.median_hu,
        "centroid_convention": "LPS patient coordinates in mm (DICOM/ITK); Slicer RAS = (-x, -y, z)",
        "region_source": region.source,
        "region_voxels": region_voxels,
        "protocol": dict(prepared.steps),
        "lesion_filters": settings.lesion_filters,
        "lesion_filters_applied": filters_on,
    }
    result = CalciumScore(
        agatston=total_agatston,
        volume_mm3=total_volume,
        mass_mg=total_mass,
        per_artery=per_artery,
        lesions=lesions,
        category=categorise(total_agatston, vessels),
        settings=resolved,
        warnings=warnings,
        lesion_labels=lesion_labels.astype(np.uint16) if n_lesions < 65536 else lesion_labels,
        bounding_box=box,
        ct_shape=original_shape,
        excluded_lesions=excluded,
        image_quality=quality,
    )
    # on the CT's own voxels: the lesion map is back on its slices (integrated mass needs no slabs)
    attach_integrated_mass(result, source.array, source.geometry.spacing, settings.calibration_factor,
                           settings.integrated_mass)
    return result


def _exclude_non_coronary(lesions: List[Lesion], lesion_labels: np.ndarray, lesion_ids: np.ndarray, hu: np.ndarray,
                          box, ct: CTVolume, region: RegionOfInterest, threshold_hu: float,
                          quality: image_quality.ImageQuality, air: Optional[np.ndarray] = None):
    """(counted lesions, excluded lesions, relabelled lesion map, mask of the surviving voxels that stay counted):
    counted lesions keep ids 1..n in their order, excluded ones follow."""
    from ..region.artery_attribution import aortic_root

    root = aortic_root(region.aorta, region.heart, ct.geometry) if region.aorta is not None else None
    spacing = (ct.geometry.spacing[2], ct.geometry.spacing[1], ct.geometry.spacing[0])
    context = lesion_filters.LesionContext(hu=hu, lesion_labels=lesion_labels, box=box, spacing_zyx=spacing,
                                           threshold_hu=threshold_hu, noise_hu=quality.noise_hu,
                                           blood_hu=quality.blood_pool_hu, air=air, aorta=region.aorta,
                                           root=root)
    reasons = lesion_filters.find_non_coronary(context, {l.id: l.centroid_lps_mm for l in lesions},
                                               {l.id: l.peak_hu for l in lesions})
    if not reasons:
        return lesions, [], lesion_labels, np.ones(len(lesion_ids), dtype=bool)
    counted = [lesion for lesion in lesions if lesion.id not in reasons]
    left_out = [lesion for lesion in lesions if lesion.id in reasons]
    new_id = np.zeros(len(lesions) + 1, dtype=np.int64)
    for number, lesion in enumerate(counted + left_out, start=1):
        new_id[lesion.id] = number
        if lesion.id in reasons:
            lesion.excluded = reasons[lesion.id]
        lesion.id = number
    kept_voxels = new_id[lesion_ids] <= len(counted)
    return counted, left_out, new_id[lesion_labels], kept_voxels


def per_artery_scores(lesions: List[Lesion], with_mass: bool) -> Dict[str, ArteryScore]:
    scores = {name: ArteryScore(mass_mg=0.0 if with_mass else None) for name in ARTERIES_AND_UNASSIGNED}
    for lesion in lesions:
        entry = scores[lesion.artery]
        entry.agatston += lesion.agatston
        entry.volume_mm3 += lesion.volume_mm3
        entry.lesion_count += 1
        if with_mass:
            entry.mass_mg += lesion.mass_mg
    return scores


def _vessel_count(per_artery: Dict[str, ArteryScore], region: RegionOfInterest, warnings: List[str]) -> Optional[int]:
    if not region.has_artery_labels:
        return None
    count = sum(1 for name in ARTERIES if per_artery[name].agatston > 0)
    if per_artery[UNASSIGNED].agatston > 0:
        warnings.append("some calcium lies outside the per-artery labels (unassigned); CAC-DRS N counts labelled vessels only")
    return count
