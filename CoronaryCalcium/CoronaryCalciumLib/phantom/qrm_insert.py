"""Digital replica of the QRM thorax phantom with the Cardiac Calcification Insert (CCI), after the real Canon scan in
../shared/data/qrm-cci-canon-large, with exact truth for calibration and mass scoring.

Geometry (LPS mm, insert axis at x = y = 0, calcification plane at z = 0): thorax 300 x 212 mm of 70 HU tissue with lung
(-800 HU) on both sides and a spine insert behind; the CCI is a resin cylinder 100 mm across (75 HU). Nine HA cylinders
(diameter = length = 5, 3, 1 mm) at 800, 400 and 200 mg HA/cm3 lie in the calcification plane, each density group on a
line towards the axis: large at 37.5 mm, medium at 25 mm, small at 12.5 mm from it, the groups at 180, 300 and 60 degrees
(800 towards patient right, 400 anterior-left, 200 posterior-left). From z = +28 mm to the insert's end (+45 mm) lie the
200 mg HA/cm3 calibration rod (20 mm across, on the axis) and a water-equivalent rod (18 mm across, 22.5 mm from the
axis, anterior-right), as measured in the real scan. HU follow ``materials``: an insert reads 75 + 1.15 rho (HA in the
75 HU resin), the water-equivalent rod 35 HU, as in the scan, and the calibration rod 35 + 1.15 x 200 = 265 HU: HA in
the water-equivalent base, as the real scan shows (its 200 mg HA/cm3 insert reads as many HU per mg HA above the resin
as its rod reads above the water rod, not above the resin). So the exact factor is 200 / (HU_rod - HU_water rod); the
resin around the rod as water reference makes it 21% too high (15% on the real scan).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

import numpy as np

from .. import __version__
from ..io.ct import CTMetadata, CTVolume, ct_from_array
from . import materials
from .calcium import CalciumObject, render_object
from .case import stream, to_int16
from .grid import Grid, fine_sampling, make_grid
from .masks import lesion_labels
from .noise import correlated_noise
from .raster import Plane, coverage, ellipse_distance, paint, rectangle_distance
from .render import FWHM_PER_SIGMA, apply_psf, psf_sigma_pixels, render_planes
from .scene import Painter

RESIN_HU = 75.0
TISSUE_HU = 70.0
LUNG_HU = -800.0
WATER_ROD_HU = 35.0
INSERT_RADIUS_MM = 50.0
INSERT_HALF_LENGTH_MM = 45.0
BODY_Z = (-48.0, 45.0)
ROD_Z = (28.0, 45.0)
ROD_RADIUS_MM = 10.0
WATER_ROD_RADIUS_MM = 9.0
WATER_ROD_CENTRE = (22.5 * math.cos(math.radians(-120.0)), 22.5 * math.sin(math.radians(-120.0)))
ROD_DENSITY_MG_CM3 = 200.0
GROUPS = {800.0: 180.0, 400.0: 300.0, 200.0: 60.0}  # density -> angle (degrees, x towards y)
SIZES = {"large": (5.0, 37.5), "medium": (3.0, 25.0), "small": (1.0, 12.5)}  # diameter, distance from the axis (mm)


class QrmPainter(Painter):
    """The thorax phantom, the CCI resin cylinder and the calibration rods, on one plane."""

    name = "QRM phantom"

    def paint(self, plane: Plane) -> None:
        img = plane.img
        img.fill(materials.AIR)
        z = plane.z
        if not BODY_Z[0] <= z <= BODY_Z[1]:
            return
        pixel = plane.pixel
        steps = (
            ("ellipse", (0.0, 17.0, 150.0, 106.0), TISSUE_HU),
            ("ellipse", (0.0, 14.0, 138.0, 76.0), LUNG_HU),
            ("rect", (0.0, -60.0, 24.0, 22.0), TISSUE_HU),
            ("ellipse", (0.0, 86.0, 52.0, 30.0), TISSUE_HU),
        )
        for kind, (cx, cy, a, b), value in steps:
            box, d = ellipse_distance(plane, cx, cy, a, b) if kind == "ellipse" else rectangle_distance(plane, cx, cy, a, b)
            if box is not None:
                paint(plane, box, coverage(d, pixel), value)
        # spine insert: cortical ring, cancellous core, posterior plate
        for kind, (cx, cy, a, b), value in (("ellipse", (0.0, 76.0, 15.0, 15.0), 430.0),
                                              ("ellipse", (0.0, 76.0, 11.5, 11.5), 130.0),
                                              ("rect", (0.0, 95.0, 45.0, 4.0), 420.0),
                                              ("rect", (0.0, 108.0, 4.0, 14.0), 420.0)):
            box, d = ellipse_distance(plane, cx, cy, a, b) if kind == "ellipse" else rectangle_distance(plane, cx, cy, a, b)
            if box is not None:
                paint(plane, box, coverage(d, pixel), value)
        if abs(z) <= INSERT_HALF_LENGTH_MM:
            box, d = ellipse_distance(plane, 0.0, 0.0, INSERT_RADIUS_MM, INSERT_RADIUS_MM)
            paint(plane, box, coverage(d, pixel), -100.0)  # thin gap around the insert
            box, d = ellipse_distance(plane, 0.0, 0.0, INSERT_RADIUS_MM - 1.0, INSERT_RADIUS_MM - 1.0)
            paint(plane, box, coverage(d, pixel), RESIN_HU)
            if ROD_Z[0] <= z <= ROD_Z[1]:
                box, d = ellipse_distance(plane, 0.0, 0.0, ROD_RADIUS_MM, ROD_RADIUS_MM)
                paint(plane, box, coverage(d, pixel), materials.hu_from_density(ROD_DENSITY_MG_CM3, WATER_ROD_HU))
                box, d = ellipse_distance(plane, WATER_ROD_CENTRE[0], WATER_ROD_CENTRE[1], WATER_ROD_RADIUS_MM,
                                          WATER_ROD_RADIUS_MM)
                paint(plane, box, coverage(d, pixel), WATER_ROD_HU)


def insert_objects() -> List[CalciumObject]:
    """The nine HA cylinders (ids 1-9: 800 large, medium, small, then 400, then 200)."""
    objects = []
    for density, angle in GROUPS.items():
        direction = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle)), 0.0])
        for size, (diameter, distance) in SIZES.items():
            objects.append(CalciumObject(
                id=len(objects) + 1, kind="insert", location="HA%d-%s" % (int(density), size),
                centre=direction * distance, axes=np.eye(3), semi_axes=(diameter / 2.0, diameter / 2.0, diameter / 2.0),
                density_mg_cm3=density, shape="cylinder", matrix_hu=RESIN_HU, info={"diameter_mm": diameter}))
    return objects


@dataclass
class QrmCase:
    """A replica scan: ``image``/``image_noise_free`` int16 HU; ``insert_ids`` uint16 (1-9, see ``truth``);
    ``region`` uint8 region of interest around the calcification plane; ``calibration_labels`` uint8 (1 = HA rod core,
    2 = resin annulus 3-8 mm around the rod, 3 = water-equivalent rod core) in the rod's plateau slices."""

    grid: Grid
    image: np.ndarray
    image_noise_free: np.ndarray
    insert_ids: np.ndarray
    region: np.ndarray
    calibration_labels: np.ndarray
    truth: Dict[str, object]
    metadata: CTMetadata
    seed: int = 0
    case_id: str = "qrm-cci"
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def ct(self) -> CTVolume:
        return ct_from_array(self.image, self.grid.spacing, self.grid.origin, metadata=replace(self.metadata))

    @property
    def ct_noise_free(self) -> CTVolume:
        return ct_from_array(self.image_noise_free, self.grid.spacing, self.grid.origin, metadata=replace(self.metadata))


def generate_qrm_case(seed: int = 0, noise_sd_hu: float = 23.0, slice_thickness_mm: float = 3.0,
                      slice_increment_mm: Optional[float] = None, matrix: int = 512, fov_mm: float = 250.0,
                      psf_fwhm_mm: float = 1.0, kvp: float = 120.0) -> QrmCase:
    """The replica as scanned like the real Canon series (defaults: 512 x 512 over 250 mm, 3 mm slices, noise 23 HU)."""
    from .config import SLICE_PROTOCOLS

    increment = slice_increment_mm or SLICE_PROTOCOLS.get(round(slice_thickness_mm, 3), slice_thickness_mm)
    n_slices = int(round(138.0 / increment)) + 1
    grid = make_grid(matrix, fov_mm, (0.0, 19.0), 72.0, n_slices, increment, slice_thickness_mm)
    sampling = fine_sampling(grid)
    volume = render_planes(grid, sampling, [QrmPainter()])
    sigma_px = psf_sigma_pixels(grid, psf_fwhm_mm)
    apply_psf(volume, sigma_px)
    objects = insert_objects()
    factor = materials.calcium_factor(kvp)
    rendered = []
    for obj in objects:
        item = render_object(obj, grid, sigma_px)
        rendered.append(item)
        volume[item.box] += item.occupancy * np.float32(obj.added_hu * factor)
    noise_free = to_int16(volume)
    if noise_sd_hu > 0:
        volume += correlated_noise(grid, sampling, psf_fwhm_mm / FWHM_PER_SIGMA, noise_sd_hu, stream(seed, "noise"))
    image = to_int16(volume)
    del volume
    _, ids = lesion_labels(rendered, objects, grid.shape)
    region = _insert_region(grid)
    calibration = _calibration_labels(grid)
    metadata = CTMetadata(source="phantom", format="phantom", modality="CT", kvp=kvp,
                          slice_thickness_mm=slice_thickness_mm, slice_increment_mm=increment,
                          manufacturer="CoronaryCalcium phantom", model="QRM CCI replica %s" % __version__,
                          kernel="Gaussian PSF %.2f mm FWHM" % psf_fwhm_mm,
                          series_description="QRM CCI replica %.3g mm" % slice_thickness_mm,
                          patient_name="qrm-cci", patient_id="qrm-cci")
    case = QrmCase(grid=grid, image=image, image_noise_free=noise_free, insert_ids=ids, region=region,
                   calibration_labels=calibration, truth={}, metadata=metadata, seed=int(seed))
    case.truth = _truth(case, objects, factor, noise_sd_hu, psf_fwhm_mm)
    return case


def _insert_region(grid: Grid) -> np.ndarray:
    """The insert cylinder (radius 45 mm) within 10 mm of the calcification plane, away from the rods."""
    yy, xx = np.meshgrid(grid.y(), grid.x(), indexing="ij")
    disc = np.hypot(xx, yy) <= INSERT_RADIUS_MM - 5.0
    region = np.zeros(grid.shape, dtype=np.uint8)
    for k, z in enumerate(grid.z()):
        if abs(z) <= 10.0:
            region[k][disc] = 1
    return region


def _calibration_labels(grid: Grid) -> np.ndarray:
    yy, xx = np.meshgrid(grid.y(), grid.x(), indexing="ij")
    r_rod = np.hypot(xx, yy)
    r_water = np.hypot(xx - WATER_ROD_CENTRE[0], yy - WATER_ROD_CENTRE[1])
    half = grid.profile.half_width_mm
    labels = np.zeros(grid.shape, dtype=np.uint8)
    for k, z in enumerate(grid.z()):
        if ROD_Z[0] + half <= z <= ROD_Z[1] - half:
            plane = labels[k]
            annulus = (r_rod >= ROD_RADIUS_MM + 3.0) & (r_rod <= ROD_RADIUS_MM + 8.0)
            plane[annulus & (r_water > WATER_ROD_RADIUS_MM + 2.0)] = 2
            plane[r_rod <= 0.6 * ROD_RADIUS_MM] = 1
            plane[r_water <= 0.6 * WATER_ROD_RADIUS_MM] = 3
    return labels


def _truth(case: QrmCase, objects: List[CalciumObject], factor: float, noise: float, psf: float) -> Dict[str, object]:
    from ..region.mask import region_from_array
    from ..scoring.agatston import ScoringSettings, score

    reference = {}
    ct = case.ct_noise_free
    settings = ScoringSettings(calibration_factor=materials.CALIBRATION_FACTOR_MG_PER_MM3_HU)
    for obj in objects:
        mask = (case.insert_ids == obj.id).astype(np.uint8)
        if not mask.any():
            continue
        result = score(ct, region_from_array(mask, names={1: "unassigned"}, source=obj.location), replace(settings))
        reference[obj.location] = {"agatston": result.agatston, "volume_mm3": result.volume_mm3, "mass_mg": result.mass_mg}
    rod_hu = materials.hu_from_density(ROD_DENSITY_MG_CM3, WATER_ROD_HU) * 1.0
    return {
        "schema": "coronary-calcium-qrm-replica/1",
        "seed": case.seed,
        "generator_version": __version__,
        "noise_sd_hu": noise,
        "psf_fwhm_mm": psf,
        "grid": {"shape_zyx": list(case.grid.shape), "spacing_xyz_mm": list(case.grid.spacing),
                 "origin_lps_mm": list(case.grid.origin), "slice_thickness_mm": case.grid.thickness_mm},
        "inserts": [dict(obj.to_truth(), diameter_mm=obj.info["diameter_mm"], length_mm=obj.info["diameter_mm"],
                         hu=round(obj.matrix_hu + obj.added_hu * factor, 1)) for obj in objects],
        "calibration": {
            "rod_density_mg_ha_cm3": ROD_DENSITY_MG_CM3, "rod_hu": rod_hu, "resin_hu": RESIN_HU,
            "water_rod_hu": WATER_ROD_HU, "rod_diameter_mm": 2 * ROD_RADIUS_MM,
            "water_rod_diameter_mm": 2 * WATER_ROD_RADIUS_MM, "rod_z_mm": list(ROD_Z),
            "factor_vs_resin_mg_per_mm3_hu": ROD_DENSITY_MG_CM3 / 1000.0 / (rod_hu - RESIN_HU),
            "factor_vs_water_rod_mg_per_mm3_hu": ROD_DENSITY_MG_CM3 / 1000.0 / (rod_hu - WATER_ROD_HU),
            "exact_factor_mg_per_mm3_hu": materials.CALIBRATION_FACTOR_MG_PER_MM3_HU,
            "labels": {"1": "HA rod core (60% radius)", "2": "resin annulus 3-8 mm around the rod",
                       "3": "water-equivalent rod core (60% radius)"},
        },
        "hu_model": {"formula": "HU = 75 (resin) + k * density", "k_hu_per_mg_cm3": materials.K_HU_PER_MG_CM3 * factor},
        "reference": reference,
    }


def write_qrm_case(case: QrmCase, out_dir: str, dicom: bool = False) -> Dict[str, str]:
    """``image.nii.gz``, ``inserts.nii.gz`` (ids 1-9), ``region.nii.gz``, ``calibration.nii.gz``, ``truth.json``,
    optionally ``image_noise_free.nii.gz`` is always written too, and a ``dicom/`` series."""
    import json
    import os

    from ..io.atomic import write_text_atomic
    from .writer import write_volume

    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name, array in (("image", case.image), ("image_noise_free", case.image_noise_free),
                        ("inserts", case.insert_ids), ("region", case.region),
                        ("calibration", case.calibration_labels)):
        paths[name] = write_volume(array, case.grid, os.path.join(out_dir, name + ".nii.gz"))
    if dicom:
        from .dicom_writer import write_dicom_series

        paths["dicom"] = os.path.join(out_dir, "dicom")
        write_dicom_series(_DicomView(case), paths["dicom"])
    paths["truth"] = os.path.join(out_dir, "truth.json")
    write_text_atomic(paths["truth"], json.dumps(case.truth, indent=1) + "\n")
    return paths


class _DicomView:
    """What the DICOM writer reads from a case, for a QRM replica."""

    def __init__(self, case: QrmCase):
        from .config import PhantomConfig

        self.grid, self.metadata, self.image = case.grid, case.metadata, case.image
        self.case_id, self.seed = case.case_id, case.seed
        self.config = PhantomConfig(variant="cardiac", kvp=case.metadata.kvp or 120.0)
