"""One synthetic case from a seed: anatomy -> calcium -> rendering physics -> noise -> masks -> truth.

Everything random is drawn from generators seeded by (seed, purpose), so the same seed and configuration give the same
bytes, and changing, say, the noise level leaves the anatomy and the plaques as they were.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

import numpy as np

from .. import __version__
from ..io.ct import CTMetadata, CTVolume, ct_from_array
from ..errors import InputError
from . import materials
from .anatomy import Anatomy, sample_anatomy
from .calcium import CalciumObject, RenderedObject, render_object
from .config import PhantomConfig
from .grid import Grid, fine_sampling, make_grid
from .kernel import get_kernel, sharpen
from .lungs import lung_vessels
from .masks import aorta_mask, coronary_mask, heart_mask, imperfect_coronary_labels, lesion_labels
from .noise import correlated_noise
from .plaques import coronary_plaques, draw_burden, extracoronary_calcium, keep_clear_of_coronaries
from .render import FWHM_PER_SIGMA, apply_psf, psf_sigma_pixels, render_planes
from .scene import Enhancement, build_scene
from .truth import PhantomTruth, physical_totals, reference_score
from ..progress import Progress

STREAMS = {"anatomy": 1, "calcium": 2, "lungs": 3, "noise": 4, "masks": 5, "motion": 6, "contrast": 7}


def stream(seed: int, purpose: str) -> np.random.Generator:
    """Independent generator for one purpose of one seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), STREAMS[purpose]]))


@dataclass
class PhantomCase:
    """A generated CT with its masks and truth. Arrays are (z, y, x) on the CT grid: ``image`` and ``image_noise_free``
    int16 HU; ``coronary_labels`` (as written, with imperfections if configured) and ``coronary_labels_exact`` uint8
    1=LM 2=LAD 3=LCX 4=RCA; ``heart_mask``, ``aorta_mask`` uint8; ``lesion_labels`` uint8 artery labels of coronary
    calcium truth; ``calcium_ids`` uint16 ids of every calcified object (see ``truth.objects``)."""

    case_id: str
    seed: int
    config: PhantomConfig
    grid: Grid
    image: np.ndarray
    image_noise_free: np.ndarray
    coronary_labels: np.ndarray
    coronary_labels_exact: np.ndarray
    heart_mask: np.ndarray
    aorta_mask: np.ndarray
    lesion_labels: np.ndarray
    calcium_ids: np.ndarray
    objects: List[CalciumObject]
    truth: PhantomTruth
    metadata: CTMetadata
    anatomy: Optional[Anatomy] = None
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def ct(self) -> CTVolume:
        """The noisy CT as the project's CT type (arrays shared, not copied)."""
        return ct_from_array(self.image, self.grid.spacing, self.grid.origin, metadata=replace(self.metadata))

    @property
    def ct_noise_free(self) -> CTVolume:
        return ct_from_array(self.image_noise_free, self.grid.spacing, self.grid.origin,
                             metadata=replace(self.metadata, series_description="noise-free reference"))

    def coronary_region(self, exact: bool = False):
        """The coronary mask as a ``RegionOfInterest`` with the default artery numbering."""
        from ..region.mask import region_from_array

        labels = self.coronary_labels_exact if exact else self.coronary_labels
        return region_from_array(labels, names={1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"},
                                 source="phantom coronary mask" + (" (exact)" if exact else ""),
                                 blood_pool=self.heart_mask)

    def lesion_region(self):
        """The coronary lesion truth mask as a ``RegionOfInterest`` (RegionError when the case has no calcium)."""
        from ..region.mask import region_from_array

        return region_from_array(self.lesion_labels, names={1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"},
                                 source="lesion truth mask", blood_pool=self.heart_mask)


def to_int16(volume: np.ndarray) -> np.ndarray:
    """Round to integer HU within the 12-bit CT range [-1024, 3071]."""
    result = np.rint(volume)
    np.clip(result, materials.HU_MIN, materials.HU_MAX, out=result)
    return result.astype(np.int16)


def _field_of_view(config: PhantomConfig, anatomy: Anatomy) -> float:
    if config.fov_mm:
        return float(config.fov_mm)
    if config.variant == "chest":
        return float(math.ceil((2.0 * anatomy.body.a + 24.0) / 10.0) * 10.0)
    return 250.0


def _scan_top(config: PhantomConfig, anatomy: Anatomy, rng: np.random.Generator) -> float:
    lm_z = float(anatomy.coronary.ostia["LM"][2])
    length = config.scan_length_mm()
    if config.variant == "chest":
        return lm_z + 0.5 * length + float(rng.uniform(-10, 10))
    return lm_z + max(20.0, 0.2 * length) + float(rng.uniform(0.0, 10.0))


def _in_scan(obj: CalciumObject, grid: Grid) -> bool:
    """True when the object's centre lies within the scanned slab and field of view (others are not placed)."""
    z = grid.z()
    half = grid.thickness_mm / 2.0
    if not z[0] - half <= obj.centre[2] <= z[-1] + half:
        return False
    column, row = grid.column(obj.centre[0]), grid.row(obj.centre[1])
    return 0 <= column <= grid.shape[2] - 1 and 0 <= row <= grid.shape[1] - 1


def _motion(objects: List[CalciumObject], rng: np.random.Generator) -> None:
    """Non-gated scan: cardiac objects sweep an in-plane displacement (RCA most, LM least)."""
    amplitude = {"LM": (0.5, 1.5), "LAD": (1.0, 3.0), "LCX": (1.0, 3.0), "RCA": (2.0, 5.0),
                 "aortic valve": (1.0, 2.5), "mitral annulus": (1.5, 3.5)}
    for obj in objects:
        if obj.location in amplitude:
            length = float(rng.uniform(*amplitude[obj.location]))
            angle = float(rng.uniform(0, 2 * math.pi))
            obj.motion_mm = np.array([length * math.cos(angle), length * math.sin(angle), 0.0])


def generate_case(seed: int, config: Optional[PhantomConfig] = None, case_id: Optional[str] = None,
                  progress: Optional[Progress] = None, keep_anatomy: bool = False) -> PhantomCase:
    """Generate one case. ``progress(fraction, message)`` is called along the way. Raises InputError on bad settings."""
    config = (config or PhantomConfig()).validate()
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("phantom seed must be a non-negative integer, not %r" % (seed,))
    seed = int(seed)
    case_id = case_id or "phantom-%06d" % seed
    report = progress or (lambda fraction, message: None)
    timings: Dict[str, float] = {}
    clock = time.perf_counter()

    report(0.0, "drawing anatomy")
    anatomy = sample_anatomy(stream(seed, "anatomy"))
    calcium_rng = stream(seed, "calcium")
    burden = config.burden if config.burden != "auto" else draw_burden(calcium_rng)
    fov = _field_of_view(config, anatomy)
    centre = anatomy.fov_centre if config.variant == "cardiac" else (0.0, 0.0)
    n_slices = config.slice_count()
    grid = make_grid(config.matrix, fov, centre, _scan_top(config, anatomy, calcium_rng), n_slices,
                     config.increment_mm, config.slice_thickness_mm)
    sampling = fine_sampling(grid)

    objects = coronary_plaques(anatomy.coronary, burden, calcium_rng, count=config.n_plaques)
    heavy = burden in ("moderate", "severe")
    aortic = config.aortic_calcium if config.aortic_calcium is not None else calcium_rng.random() < (0.45 if heavy else 0.15)
    valve = config.valve_calcium if config.valve_calcium is not None else calcium_rng.random() < (0.25 if heavy else 0.05)
    mitral = config.mitral_calcium if config.mitral_calcium is not None else calcium_rng.random() < (0.2 if heavy else 0.04)
    extra = extracoronary_calcium(anatomy, calcium_rng, aortic, valve, mitral, first_id=len(objects) + 1)
    clearance = config.mask_margin_mm + grid.thickness_mm / 2.0 + 2.5
    objects += keep_clear_of_coronaries(extra, anatomy.coronary, clearance)
    objects = [obj for obj in objects if _in_scan(obj, grid)]
    for new_id, obj in enumerate(objects, start=1):
        obj.id = new_id
    if config.variant == "chest":
        _motion(objects, stream(seed, "motion"))
    timings["sampling_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    vessels = lung_vessels(anatomy, stream(seed, "lungs")) if config.lung_vessels else None
    enhancement = _enhancement(config, stream(seed, "contrast"))
    sigma_px = psf_sigma_pixels(grid, config.psf_fwhm_mm)

    def rendered_anatomy(scene_enhancement, start: float, span: float) -> np.ndarray:
        anatomy_volume = render_planes(grid, sampling, build_scene(anatomy, vessels, enhancement=scene_enhancement),
                                       progress=lambda f, m: report(start + span * f, m))
        apply_psf(anatomy_volume, sigma_px)
        return anatomy_volume

    volume = rendered_anatomy(enhancement, 0.05, 0.55 if enhancement is None else 0.3)
    # a contrast scan's reference is scored on its unenhanced twin (the 130 HU threshold would count the blood)
    unenhanced = None if enhancement is None else rendered_anatomy(None, 0.35, 0.25)
    timings["anatomy_s"] = time.perf_counter() - clock

    report(0.62, "rendering calcium")
    clock = time.perf_counter()
    factor = materials.calcium_factor(config.kvp)
    rendered: List[RenderedObject] = []
    for obj in objects:
        item = render_object(obj, grid, sigma_px)
        if item is None:
            continue
        rendered.append(item)
        volume[item.box] += item.occupancy * np.float32(obj.added_hu * factor)
        if unenhanced is not None:
            unenhanced[item.box] += item.occupancy * np.float32(obj.added_hu * factor)
    timings["calcium_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    kernel = get_kernel(config.kernel)
    # the reference is scored on the soft reconstruction: the scoring rules are defined for soft kernels
    soft_noise_free = to_int16(volume) if kernel.boost > 0 else None
    sharpen(volume, grid.pixel_mm, kernel)
    image_noise_free = to_int16(volume)
    if config.noise_sd_hu > 0 and not config.noise_free:
        report(0.7, "adding noise")
        volume += correlated_noise(grid, sampling, config.psf_fwhm_mm / FWHM_PER_SIGMA, config.noise_sd_hu,
                                   stream(seed, "noise"), kernel=kernel if kernel.boost > 0 else None)
        image = to_int16(volume)
    else:
        image = image_noise_free.copy()
    del volume
    timings["noise_s"] = time.perf_counter() - clock

    report(0.82, "building masks")
    clock = time.perf_counter()
    exact = coronary_mask(anatomy, grid, config.mask_margin_mm)
    heart = heart_mask(anatomy, grid)
    aorta = aorta_mask(anatomy, grid)
    lesions, calcium_ids = lesion_labels(rendered, objects, grid.shape)
    if config.imperfections.enabled:
        written, imperfections = imperfect_coronary_labels(exact, config.imperfections, stream(seed, "masks"))
    else:
        written, imperfections = exact.labels, []
    timings["masks_s"] = time.perf_counter() - clock

    report(0.92, "scoring the reference")
    clock = time.perf_counter()
    metadata = CTMetadata(
        source="phantom", format="phantom", modality="CT", kvp=config.kvp,
        slice_thickness_mm=config.slice_thickness_mm, slice_increment_mm=config.increment_mm,
        manufacturer="CoronaryCalcium phantom", model="%s phantom %s" % (config.variant, __version__),
        kernel=kernel.convolution_kernel, contrast_agent=materials.CONTRAST_AGENT if enhancement else None,
        series_description="%s%s %.3g mm" % ("Calcium Score" if config.variant == "cardiac" else "Chest non-gated",
                                              " contrast" if enhancement else "", config.slice_thickness_mm),
        patient_name=case_id, patient_id=case_id)
    if unenhanced is not None:
        soft_noise_free = to_int16(unenhanced)
        del unenhanced
    ct_reference = ct_from_array(image_noise_free if soft_noise_free is None else soft_noise_free, grid.spacing,
                                 grid.origin, metadata=replace(metadata, contrast_agent=None,  # the soft, unenhanced image
                                                               kernel=get_kernel("soft").convolution_kernel))
    reference = reference_score(ct_reference, lesions, heart)
    timings["reference_s"] = time.perf_counter() - clock

    truth = PhantomTruth(
        case_id=case_id, seed=seed, variant=config.variant, config=config.to_dict(),
        grid={"shape_zyx": list(grid.shape), "spacing_xyz_mm": list(grid.spacing), "origin_lps_mm": list(grid.origin),
              "slice_thickness_mm": grid.thickness_mm, "fov_mm": fov},
        objects=[_object_truth(o, factor) for o in objects],
        reference=reference, physical=physical_totals(objects),
        anatomy=_anatomy_truth(anatomy), mask_imperfections=imperfections, burden=burden,
        reconstruction=_reconstruction_truth(config, kernel, enhancement),
        generator_version=__version__)
    report(1.0, "done")
    return PhantomCase(
        case_id=case_id, seed=seed, config=config, grid=grid, image=image, image_noise_free=image_noise_free,
        coronary_labels=written, coronary_labels_exact=exact.labels, heart_mask=heart, aorta_mask=aorta,
        lesion_labels=lesions, calcium_ids=calcium_ids, objects=objects, truth=truth, metadata=metadata,
        anatomy=anatomy if keep_anatomy else None, timings=timings)


def _enhancement(config: PhantomConfig, rng: np.random.Generator) -> Optional[Enhancement]:
    """The contrast enhancement of the case (None: a non-contrast scan); the level is drawn unless configured."""
    if not config.contrast:
        return None
    level = config.contrast_blood_hu
    if level is None:
        level = round(float(rng.uniform(*materials.CONTRAST_BLOOD_HU)), 1)
    return Enhancement.at(float(level))


def _reconstruction_truth(config: PhantomConfig, kernel, enhancement: Optional[Enhancement] = None) -> Dict[str, object]:
    """How the image was reconstructed, so kernel and slice handling can be tested on NIfTI cases (no DICOM tags).
    A contrast scan adds its enhancement levels and says the reference was scored on its unenhanced twin."""
    contrast = {"contrast": {"enhanced": True, "blood_hu": enhancement.blood_hu,
                             "myocardium_hu": round(enhancement.myocardium_hu, 1),
                             "lumen_radius_fraction": materials.LUMEN_FRACTION, "agent": materials.CONTRAST_AGENT,
                             "reference_scored_on": "the same case rendered without contrast"}} if enhancement else {}
    return {**contrast,"kernel": kernel.name, "convolution_kernel": kernel.convolution_kernel,
            "psf_fwhm_mm": config.psf_fwhm_mm, "mtf_boost": kernel.boost, "boost_sigma_mm": kernel.boost_sigma_mm,
            "slice_thickness_mm": config.slice_thickness_mm, "slice_increment_mm": config.increment_mm,
            "ecg_gated": config.variant == "cardiac", "noise_sd_hu": config.noise_sd_hu,
            "reference_scored_on": "soft reconstruction" if kernel.boost > 0 else "this image, noise-free"}


def _object_truth(obj: CalciumObject, factor: float) -> Dict[str, object]:
    data = obj.to_truth()
    data["hu"] = round(obj.matrix_hu + obj.added_hu * factor, 1)
    if obj.motion_mm is not None:
        data["motion_mm"] = [round(float(v), 2) for v in obj.motion_mm]
    data.update({k: v for k, v in obj.info.items()})
    return data


def _anatomy_truth(anatomy: Anatomy) -> Dict[str, object]:
    tree = anatomy.coronary
    return {
        "body_width_mm": round(2 * anatomy.body.a, 1),
        "body_depth_mm": round(2 * anatomy.body.b, 1),
        "adiposity": round(anatomy.info.get("adiposity", 0.0), 3),
        "epicardial_fat_mm": round(anatomy.epicardial_fat, 2),
        "heart_long_axis_mm": round(anatomy.heart.length, 1),
        "coronary_dominance": tree.dominance,
        "ostia_lps_mm": {k: [round(float(v), 2) for v in p] for k, p in tree.ostia.items()},
        "vessels": {v.name: {"artery": v.artery, "length_mm": round(v.length_mm, 1),
                             "diameter_mm": [round(2 * float(v.radii[0]), 2), round(2 * float(v.radii[-1]), 2)]}
                    for v in tree.vessels},
    }
