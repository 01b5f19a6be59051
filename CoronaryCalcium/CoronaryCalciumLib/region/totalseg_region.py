"""Region of interest from TotalSegmentator, on the CT grid.

Backends:

- ``coronary``: the licensed ``coronary_arteries`` task (one class), grown by ``margin_mm`` so that calcium in the
  vessel wall and its blooming are inside. TotalSegmentator crops to the heart first and returns an empty mask when it
  finds no heart; the task is weak on non-contrast, low-resolution scans. A 6 mm ``total`` run (the model the
  coronary task already uses for cropping, so no extra weights) adds heart and aorta for artery attribution and the
  blood-pool reference.
- ``heart``: the free ``total`` task (heart, aorta). Coronary arteries run in the epicardial fat on the heart surface,
  so the region is a shell from ``shell_inside_mm`` (10) inside to ``shell_outside_mm`` (10) outside the heart mask's
  surface: wide on both sides because a heart mask may or may not include the epicardial fat. The aorta is removed
  with a ``aorta_margin_mm`` (1.5) margin for its wall calcium and blooming; a wider margin would cut the left main,
  which leaves the aortic sinus. The aortic valve plane is removed as a cylinder on the aortic root's axis (its radius
  plus ``valve_margin_mm``) from the aorta mask's lowest level down ``valve_depth_mm`` (15) into the heart: the valve
  and annulus lie there, below the coronary ostia. Mitral annular calcium lies deeper than 10 mm from the heart
  surface in the phantoms; a thin patient's may reach into the shell.
  On 20 synthetic phantoms (their exact heart and aorta masks, which include the epicardial fat; 0.98 x 0.98 x 3 mm)
  the shell held 94 % of coronary calcium voxels (1 of 134 plaques entirely outside it), no aortic wall or aortic
  valve calcium, and 0.1 % of mitral annulus calcium voxels (``benchmarks/bench_totalseg_regions.py``).

Either way the result is a ``RegionOfInterest`` with per-artery labels assigned by geometry (``artery_geometry``) when
heart and aorta are known, and a blood-pool reference (``blood_pool``: the aortic lumen eroded by
``blood_pool_erosion_mm``, else the heart deeper than 15 mm) for contrast detection. An empty result is a
``RegionError``, never a zero score.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import totalseg_names, totalseg_runner
from ..io.ct import CTVolume
from ..errors import RegionError
from ..io.geometry import Geometry, geometry_of_sitk
from ..io.integrity import itk_readable_path
from .mask import RegionOfInterest, bounding_box, labels_on_ct_grid, region_from_array, resampled_note
from .arteries import DEFAULT_LABELS
from .totalseg_runner import TotalSegRun, TotalSegSettings
from ..progress import Progress, subrange

LogSink = Callable[[str], None]

BACKENDS = ("coronary", "heart")
HEART_CLASSES = ("heart", "aorta")
MIN_HEART_ML = 50.0  # a heart mask smaller than this is a partial heart (field of view) or a failed segmentation
MAX_CROSSING_SHARE = 0.2  # dense structures crossing out of more of the heart shell than this are not bone
CROSSING_SMOOTHING_MM = 1.0  # Gaussian sigma before finding bone and cartilage
CROSSING_MARGIN_MM = 1.5  # band voxels this close to bone or cartilage go with it (their blurred, noisy rim)
LUNG_HU = -500.0  # below this: lung (air); the coronary arteries are never on the far side of lung from the heart
MIN_LUNG_RUN_MM = 1.5  # lung between a voxel and the heart must be this thick along the line, not one dark voxel
DEEP_HEART_MM = 15.0  # blood-pool fallback: heart voxels at least this deep
MIN_BLOOD_POOL_VOXELS = 50


@dataclass
class TotalSegRegionSettings:
    """Choices for building a region from TotalSegmentator. Lengths in mm.

    ``working_spacing_mm``: resample the CT (linear) to this isotropic spacing before TotalSegmentator when the CT is
    finer, and the result back (nearest neighbour); None sends the CT as it is. TotalSegmentator itself works at 1.5 mm
    (``total``), 3 mm (``total`` fast) or 0.7 mm (``coronary_arteries``), so 1.5 loses nothing for the heart backend.
    ``in_process``: run ``totalsegmentator()`` here (CLI, batch) or in a subprocess (Slicer). ``python_executable``: the
    interpreter for the subprocess. ``work_dir``: keep TotalSegmentator's input and output there (default: a temporary
    folder, removed). ``existing_output``: a folder TotalSegmentator already wrote for this CT (one file per class:
    ``heart.nii.gz``, ``aorta.nii.gz``, ``coronary_arteries.nii.gz``; on the CT's grid or resampled onto it): the region
    is built from those masks and TotalSegmentator is not run (nor needed).
    """

    backend: str = "heart"
    margin_mm: float = 2.0
    shell_inside_mm: float = 10.0
    shell_outside_mm: float = 10.0
    aorta_margin_mm: float = 1.5
    valve_margin_mm: float = 5.0
    valve_depth_mm: float = 15.0
    blood_pool_erosion_mm: float = 3.0
    crossing_threshold_hu: float = 90.0  # after smoothing: cartilage (about 110 HU) and bone, not muscle (50 HU)
    crossing_depth_mm: float = 3.0
    working_spacing_mm: Optional[float] = None
    assign_arteries: bool = True
    with_reference: bool = True
    in_process: bool = True
    python_executable: Optional[str] = None
    work_dir: Optional[str] = None
    existing_output: Optional[str] = None
    totalseg: TotalSegSettings = field(default_factory=TotalSegSettings)

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise RegionError("TotalSegmentator backend '%s' not known; use one of %s" % (self.backend,
                                                                                          ", ".join(BACKENDS)))
        for name in ("margin_mm", "shell_inside_mm", "shell_outside_mm", "aorta_margin_mm", "valve_margin_mm",
                     "valve_depth_mm", "blood_pool_erosion_mm", "crossing_depth_mm"):
            value = getattr(self, name)
            if not (0.0 <= value <= 50.0):
                raise RegionError("%s must be between 0 and 50 mm (got %g)" % (name, value))
        if not (60.0 <= self.crossing_threshold_hu <= 1000.0):
            raise RegionError("crossing threshold must be between 60 and 1000 HU (got %g)"
                              % self.crossing_threshold_hu)
        if self.working_spacing_mm is not None and not (0.3 <= self.working_spacing_mm <= 6.0):
            raise RegionError("working spacing must be between 0.3 and 6 mm (got %g)" % self.working_spacing_mm)


@dataclass
class TotalSegRegion:
    """The region for scoring plus what it was made from: heart and aorta masks (bool, CT grid; None when not run),
    the TotalSegmentator runs, and notes for the report."""

    region: RegionOfInterest
    heart: Optional[np.ndarray]
    aorta: Optional[np.ndarray]
    runs: List[TotalSegRun] = field(default_factory=list)
    attribution: Optional[object] = None  # artery_attribution.ArteryAssignment when arteries were assigned


# --------------------------------------------------------------------------------------------------------------------
# reading TotalSegmentator's output onto the CT grid


def write_ct_for_totalseg(ct: CTVolume, path: str, working_spacing_mm: Optional[float] = None) -> Geometry:
    """Write the CT as NIfTI (resampled linearly to ``working_spacing_mm`` when the CT is finer); returns its grid."""
    import SimpleITK as sitk

    image = ct.image
    if working_spacing_mm is not None and min(ct.geometry.spacing) < working_spacing_mm - 1e-6:
        spacing = [max(s, working_spacing_mm) for s in ct.geometry.spacing]
        size = [max(1, int(round(n * s / t))) for n, s, t in zip(image.GetSize(), ct.geometry.spacing, spacing)]
        image = sitk.Resample(image, size, sitk.Transform(), sitk.sitkLinear, image.GetOrigin(), spacing,
                              image.GetDirection(), -1024.0, image.GetPixelID())
    sitk.WriteImage(image, path)
    return geometry_of_sitk(image)


def read_labels_on_ct_grid(path: str, ct: CTVolume) -> Tuple[np.ndarray, Optional[str]]:
    """TotalSegmentator's multilabel output as a uint8 (z, y, x) array on the CT grid; nearest-neighbour resampled when
    its grid differs (a note says so)."""
    import SimpleITK as sitk

    try:
        with itk_readable_path(path) as readable:  # a folder name that is not UTF-8 would abort SimpleITK
            image = sitk.ReadImage(readable)
    except RuntimeError as error:
        raise RegionError("cannot read TotalSegmentator output %s: %s"
                          % (path, str(error).splitlines()[0][:160])) from None
    array, difference = labels_on_ct_grid(image, ct.geometry)
    note = resampled_note("TotalSegmentator output", difference) if difference else None
    return array.astype(np.uint8, copy=False), note


# --------------------------------------------------------------------------------------------------------------------
# mask geometry (distances in mm on a cropped box)


def _spacing_zyx(geometry: Geometry) -> Tuple[float, float, float]:
    return (geometry.spacing[2], geometry.spacing[1], geometry.spacing[0])


def _grown_box(mask: np.ndarray, geometry: Geometry, margin_mm: float):
    spacing = _spacing_zyx(geometry)
    box = bounding_box(mask)
    if box is None:
        return None
    grow = [int(np.ceil(margin_mm / s)) + 1 for s in spacing]
    return tuple(slice(max(0, b.start - g), min(n, b.stop + g)) for b, g, n in zip(box, grow, mask.shape))


def distance_outside_mm(mask: np.ndarray, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Distance (mm) from each voxel to the nearest voxel of ``mask`` (0 inside it)."""
    from scipy import ndimage

    return ndimage.distance_transform_edt(~mask, sampling=spacing_zyx)


def distance_inside_mm(mask: np.ndarray, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Depth (mm) of each voxel of ``mask`` below its surface (0 outside it)."""
    from scipy import ndimage

    return ndimage.distance_transform_edt(mask, sampling=spacing_zyx)


def dilate_mm(mask: np.ndarray, geometry: Geometry, margin_mm: float) -> np.ndarray:
    """``mask`` grown by ``margin_mm`` (Euclidean, in mm, anisotropic spacing respected)."""
    out = np.zeros(mask.shape, dtype=bool)
    box = _grown_box(mask, geometry, margin_mm)
    if box is None:
        return out
    out[box] = distance_outside_mm(mask[box], _spacing_zyx(geometry)) <= margin_mm
    return out


def heart_shell(heart: np.ndarray, aorta: Optional[np.ndarray], geometry: Geometry,
                settings: TotalSegRegionSettings, image: Optional[np.ndarray] = None,
                notes: Optional[List[str]] = None) -> np.ndarray:
    """The band around the heart surface where the coronary arteries run, minus the aorta (with its wall margin) and
    the aortic valve plane below the aortic root. With the CT ``image`` (HU, z y x), the band outside the heart keeps
    only voxels that see no lung on the straight line to the heart (``behind_lung``: chest wall and diaphragm beyond
    the lung are left out), and dense structures that cross the band's outer surface (sternum, costal
    cartilage, ribs, spine) are removed (``crossing_structures``), unless they would take more than
    ``MAX_CROSSING_SHARE`` of the band (contrast-filled vessels and chambers), which is said in ``notes``."""
    from scipy import ndimage

    from .artery_attribution import aortic_root

    spacing = _spacing_zyx(geometry)
    reach = settings.shell_outside_mm + max(settings.aorta_margin_mm,
                                            settings.crossing_depth_mm + 1.0 if image is not None else 0.0)
    box = _grown_box(heart, geometry, reach)
    shell = np.zeros(heart.shape, dtype=bool)
    if box is None:
        return shell
    h = heart[box]
    has_aorta = aorta is not None and bool(aorta[box].any())
    ct_box = image[box] if image is not None else None
    nearest_heart = np.empty((3,) + h.shape, dtype=np.int32) if image is not None else None
    outside = ndimage.distance_transform_edt(~h, sampling=spacing, return_indices=image is not None,
                                             indices=nearest_heart)
    inside = distance_inside_mm(h, spacing)
    band = np.where(h, inside <= settings.shell_inside_mm, outside <= settings.shell_outside_mm)
    del inside
    if image is not None:  # chest wall and diaphragm beyond the lung are near the heart but not where arteries run
        band &= ~behind_lung(band & ~h, nearest_heart, ct_box < LUNG_HU, spacing)
        del nearest_heart
    near_aorta = None
    if has_aorta:
        aorta_distance = distance_outside_mm(aorta[box], spacing)
        band &= aorta_distance > settings.aorta_margin_mm
        near_aorta = aorta_distance <= settings.aorta_margin_mm + settings.crossing_depth_mm
        del aorta_distance
    if image is not None:
        beyond = outside > settings.shell_outside_mm + settings.crossing_depth_mm
        if near_aorta is not None:
            beyond &= ~near_aorta
        crossing = crossing_structures(ct_box, band, beyond, spacing, settings.crossing_threshold_hu)
        removed, total = int(np.count_nonzero(crossing)), int(np.count_nonzero(band))
        if removed > MAX_CROSSING_SHARE * total:
            _note(notes, "dense structures reaching out of the heart shell fill %.0f%% of it (contrast-filled "
                         "vessels?): bone entering the shell was not removed" % (100.0 * removed / max(total, 1)))
        else:
            band &= ~crossing
    del outside
    if has_aorta:
        root = aortic_root(aorta, heart, geometry)
        if root is not None:
            candidates = np.argwhere(band)  # only the band's voxels are tested against the valve cylinder
            inside_valve = _in_valve_zone(candidates + np.array([b.start for b in box]), geometry, root, settings)
            band[tuple(candidates[inside_valve].T)] = False
    shell[box] = band
    return shell


def behind_lung(candidates: np.ndarray, nearest_heart: np.ndarray, lung: np.ndarray,
                spacing_zyx: Sequence[float], chunk: int = 200000,
                min_run_mm: float = MIN_LUNG_RUN_MM) -> np.ndarray:
    """Which ``candidates`` (bool, z y x) see real lung on the straight line to their nearest heart voxel
    (``nearest_heart``: the 3 x shape index array of the distance transform), sampled every half millimetre or
    voxel: an unbroken run of at least ``min_run_mm`` of ``lung`` voxels. The coronary arteries are never on the far
    side of lung from the heart; chest wall and diaphragm may be. A single dark voxel is not lung: in a non-gated
    scan, motion leaves bands of -300 to -550 HU beside a beating artery (LUNG1-001's mid RCA)."""
    blocked = np.zeros(candidates.shape, dtype=bool)
    points = np.argwhere(candidates)
    step_mm = min(0.5, min(spacing_zyx))
    for first in range(0, len(points), chunk):
        voxel = points[first:first + chunk]
        target = nearest_heart[:, voxel[:, 0], voxel[:, 1], voxel[:, 2]].T
        offset = (target - voxel).astype(np.float32)
        length_mm = np.sqrt(((offset * np.asarray(spacing_zyx, dtype=np.float32)) ** 2).sum(axis=1))
        samples = int(np.ceil(length_mm.max() / step_mm))
        sample_mm = length_mm / max(samples, 1)  # each line is sampled ``samples`` times: its own step in mm
        run_mm = np.zeros(len(voxel), dtype=np.float32)
        longest_mm = np.zeros(len(voxel), dtype=np.float32)
        for t in np.arange(1, samples) / float(samples):
            sample = np.rint(voxel + t * offset).astype(np.intp)
            in_lung = lung[sample[:, 0], sample[:, 1], sample[:, 2]]
            run_mm = np.where(in_lung, run_mm + sample_mm, 0.0)
            np.maximum(longest_mm, run_mm, out=longest_mm)
        hit = longest_mm >= min_run_mm
        blocked[voxel[hit, 0], voxel[hit, 1], voxel[hit, 2]] = True
    return blocked


def _note(notes: Optional[List[str]], text: str) -> None:
    if notes is not None:
        notes.append(text)


def crossing_structures(image: np.ndarray, band: np.ndarray, beyond: np.ndarray, spacing_zyx: Sequence[float],
                        threshold_hu: float) -> np.ndarray:
    """Voxels of ``band`` on or within ``CROSSING_MARGIN_MM`` of a dense structure that reaches ``beyond`` it: bone
    and cartilage entering the heart shell from outside. Dense: 26-connected at or above ``threshold_hu`` after a
    Gaussian smoothing of ``CROSSING_SMOOTHING_MM`` (so that noise neither splits a cartilage nor makes muscle dense).
    Coronary calcium lies in the epicardial fat inside the band and does not reach out; calcium that touches the aorta
    stays (``beyond`` leaves the aorta's surroundings out)."""
    from scipy import ndimage

    smoothed = ndimage.gaussian_filter(image.astype(np.float32), [CROSSING_SMOOTHING_MM / s for s in spacing_zyx])
    dense = smoothed >= threshold_hu
    del smoothed
    components, count = ndimage.label(dense, structure=np.ones((3, 3, 3), dtype=bool))
    if count == 0:
        return np.zeros(band.shape, dtype=bool)
    reaching_out = np.zeros(count + 1, dtype=bool)
    reaching_out[np.unique(components[dense & beyond])] = True  # labels of dense voxels: never the background 0
    crossing = reaching_out[components]
    del components
    if not crossing.any():
        return crossing
    return (distance_outside_mm(crossing, spacing_zyx) <= CROSSING_MARGIN_MM) & band


def _in_valve_zone(indices_zyx: np.ndarray, geometry: Geometry, root, settings: TotalSegRegionSettings) -> np.ndarray:
    """Which voxels lie within the aortic root's radius plus ``valve_margin_mm`` of its axis, from 1 mm above the
    aorta mask's lowest level down to ``valve_depth_mm`` below it: the aortic valve and annulus, which lie below the
    coronary ostia (these leave the sinuses above)."""
    from .artery_attribution import _points_lps

    inside = np.zeros(len(indices_zyx), dtype=bool)
    for start in range(0, len(indices_zyx), 1_000_000):
        relative = _points_lps(indices_zyx[start:start + 1_000_000], geometry) - root.centre
        along = relative @ root.axis
        radial = np.linalg.norm(relative - np.outer(along, root.axis), axis=1)
        level = along - root.bottom_level
        inside[start:start + len(relative)] = ((radial <= root.radius + settings.valve_margin_mm) & (level <= 1.0)
                                               & (level >= -settings.valve_depth_mm))
    return inside


def blood_pool_reference(heart: Optional[np.ndarray], aorta: Optional[np.ndarray], geometry: Geometry,
                         erosion_mm: float) -> Optional[np.ndarray]:
    """Blood-pool reference for contrast detection: the aortic lumen eroded by ``erosion_mm``; else the heart deeper
    than 15 mm; None when neither is available. uint8 (z, y, x) on the CT grid."""
    spacing = _spacing_zyx(geometry)
    for mask, depth in ((aorta, erosion_mm), (heart, DEEP_HEART_MM)):
        if mask is None or not mask.any():
            continue
        box = _grown_box(mask, geometry, 1.0)
        deep = distance_inside_mm(mask[box], spacing) > depth
        if np.count_nonzero(deep) >= MIN_BLOOD_POOL_VOXELS:
            reference = np.zeros(mask.shape, dtype=np.uint8)
            reference[box] = deep
            return reference
    return None


# --------------------------------------------------------------------------------------------------------------------
# running and assembling


class _Runner:
    """Runs TotalSegmentator for one CT in one working folder, in-process or as a subprocess."""

    def __init__(self, ct: CTVolume, settings: TotalSegRegionSettings, folder: str,
                 progress: Optional[Progress], log: Optional[LogSink]) -> None:
        self.ct = ct
        self.settings = settings
        self.folder = folder
        self.progress = progress
        self.log = log
        self.input_path = os.path.join(folder, "ct.nii")
        self.notes: List[str] = []
        self.runs: List[TotalSegRun] = []

    def write_input(self) -> None:
        geometry = write_ct_for_totalseg(self.ct, self.input_path, self.settings.working_spacing_mm)
        if not geometry.matches(self.ct.geometry):
            self.notes.append("TotalSegmentator ran on the CT resampled to %s mm"
                              % "x".join("%g" % round(s, 3) for s in geometry.spacing))

    def run(self, task: str, name: str, start: float, stop: float, roi_subset: Optional[Sequence[str]] = None,
            fastest: bool = False) -> Tuple[np.ndarray, TotalSegRun]:
        output = os.path.join(self.folder, "%s.nii.gz" % name)
        scaled = subrange(self.progress, start, stop)
        result = totalseg_runner.run(self.input_path, output, task, self.settings.totalseg, roi_subset=roi_subset,
                              fastest=fastest, in_process=self.settings.in_process, progress=scaled, log=self.log,
                              python=self.settings.python_executable)
        self.runs.append(result)
        labels, note = read_labels_on_ct_grid(output, self.ct)
        if note and note not in self.notes:
            self.notes.append(note)
        return labels, result



def _heart_and_aorta(labels: np.ndarray, task: str) -> Tuple[np.ndarray, np.ndarray]:
    ids = totalseg_runner.class_ids(task, HEART_CLASSES)
    return labels == ids["heart"], labels == ids["aorta"]


def _check_heart(heart: np.ndarray, run: TotalSegRun, ct: CTVolume, notes: List[str]) -> None:
    if not heart.any():
        raise RegionError(
            "TotalSegmentator found no heart in this CT%s: check that the heart is in the field of view and the "
            "image is a CT in HU; or give a region of interest mask"
            % (" (its crop was empty)" if run.crop_was_empty else ""))
    volume_ml = np.count_nonzero(heart) * ct.geometry.voxel_volume_mm3 / 1000.0
    if volume_ml < MIN_HEART_ML:
        notes.append("TotalSegmentator's heart mask is only %.0f mL: the heart may be cut by the field of view; the "
                     "region may miss arteries" % volume_ml)


def build_region(ct: CTVolume, settings: Optional[TotalSegRegionSettings] = None,
                 progress: Optional[Progress] = None, log: Optional[LogSink] = None) -> TotalSegRegion:
    """Run TotalSegmentator on ``ct`` and build the region of interest (see the module docstring for the backends)."""
    settings = settings or TotalSegRegionSettings()
    settings.validate()
    if settings.existing_output:
        return region_from_existing_output(ct, settings, progress)
    if settings.in_process or settings.python_executable is None:
        totalseg_runner.require_installed()
    folder = settings.work_dir or tempfile.mkdtemp(prefix="coronary_totalseg_")
    os.makedirs(folder, exist_ok=True)
    started = time.time()
    try:
        runner = _Runner(ct, settings, folder, progress, log)
        if progress is not None:
            progress(0.0, "Writing the CT for TotalSegmentator")
        runner.write_input()
        if settings.backend == "heart":
            result = _heart_backend(ct, settings, runner)
        else:
            result = _coronary_backend(ct, settings, runner)
    finally:
        if settings.work_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    result.runs = runner.runs
    result.region.warnings.extend(note for note in runner.notes if note not in result.region.warnings)
    if progress is not None:
        progress(1.0, "Region of interest ready (%.0f s)" % (time.time() - started))
    return result


EXISTING_FILES = totalseg_names.NEEDED  # class files per backend: heart and aorta, or coronary_arteries (.nii.gz)
_SUFFIXES = (".nii.gz", ".nii")


def holds_masks(folder: str) -> bool:
    """Whether ``folder`` itself holds TotalSegmentator class files (rather than one subfolder per case)."""
    return any(os.path.isfile(os.path.join(folder, name + suffix)) for names in EXISTING_FILES.values()
               for name in names for suffix in _SUFFIXES)


def existing_output_for(folder: str, names: Sequence[str]) -> str:
    """The masks folder of one case: ``folder`` itself when it holds the class files, else its subfolder named after
    the case (the first of ``names`` that exists: the image's name, the case ID). A RegionError names what was
    looked for."""
    if holds_masks(folder):
        return folder
    for name in names:
        candidate = os.path.join(folder, name)
        if name and os.path.isdir(candidate):
            return candidate
    raise RegionError("%s holds no TotalSegmentator masks for this case: looked for heart.nii.gz (or "
                      "coronary_arteries.nii.gz) there and in a subfolder named %s"
                      % (folder, " or ".join("'%s'" % name for name in names if name)))


def _class_files(folder: str) -> Dict[str, str]:
    """{file name without suffix: path} of the NIfTI files in ``folder`` (``.nii.gz`` before ``.nii``)."""
    files: Dict[str, str] = {}
    for entry in sorted(os.listdir(folder)):
        for suffix in _SUFFIXES:
            path = os.path.join(folder, entry)
            if entry.endswith(suffix) and len(entry) > len(suffix) and os.path.isfile(path):
                files.setdefault(entry[:-len(suffix)], path)
                break
    return files


def region_from_existing_output(ct: CTVolume, settings: TotalSegRegionSettings,
                                progress: Optional[Progress] = None) -> TotalSegRegion:
    """The region of interest from masks TotalSegmentator already wrote (``settings.existing_output``, one file per
    class): the files the region needs are read onto the CT grid and go through ``region_from_class_masks``."""
    folder = settings.existing_output
    if not os.path.isdir(folder):
        raise RegionError("TotalSegmentator output folder %s does not exist" % folder)
    if progress is not None:
        progress(0.1, "Reading the existing TotalSegmentator masks")
    files = _class_files(folder)
    matched = totalseg_names.match_classes(files)
    used = totalseg_names.classes_used(settings.backend)
    totalseg_names.require_classes(settings.backend, matched, [name + ".nii.gz" for name in files], folder,
                                   suffix=".nii.gz")
    notes: List[str] = []
    masks: Dict[str, np.ndarray] = {}
    for name in (name for found in used for name in matched.get(found, ())):
        labels, note = read_labels_on_ct_grid(files[name], ct)
        if note and note not in notes:
            notes.append(note)
        masks[name] = labels > 0
    return region_from_class_masks(ct, masks, settings, os.path.basename(os.path.normpath(folder)), progress,
                                   where=folder, notes=notes)


def region_from_class_masks(ct: CTVolume, masks: Mapping[str, np.ndarray], settings: TotalSegRegionSettings,
                            origin: str = "masks given", progress: Optional[Progress] = None,
                            where: Optional[str] = None, notes: Optional[Sequence[str]] = None) -> TotalSegRegion:
    """The region of interest from TotalSegmentator class masks already on the CT grid, without running it: the same
    heart shell (``backend`` "heart": heart and aorta) or coronary margin ("coronary": coronary_arteries, with heart
    and aorta for the arteries when given), artery attribution and blood pool as when TotalSegmentator runs here.

    ``masks``: {name: array (z, y, x) on the CT grid, nonzero inside}; names are matched as
    ``totalseg_names.totalseg_class`` says (TotalSegmentator's or its Slicer extension's names, any case), other names
    are ignored and masks meaning one class are joined. ``origin`` names the masks in the region's description,
    ``where`` (default ``origin``) in errors; ``notes`` (such as resampling) join the region's warnings. A missing or
    empty class the region needs is a one-line RegionError naming what was given.
    """
    settings.validate()
    where = where or origin
    shape = ct.array.shape
    by_class: Dict[str, np.ndarray] = {}
    for name, mask in masks.items():
        found = totalseg_names.totalseg_class(name)
        if found is None:
            continue
        mask = np.asarray(mask)
        if mask.shape != shape:
            raise RegionError("%s: mask '%s' is %s voxels (z, y, x) but the CT is %s: masks must be on the CT grid"
                              % (where, name, "x".join(map(str, mask.shape)), "x".join(map(str, shape))))
        inside = mask if mask.dtype == bool else mask > 0
        by_class[found] = by_class[found] | inside if found in by_class else inside
    totalseg_names.require_classes(settings.backend, by_class, list(masks), where)
    notes = list(notes or [])
    heart, aorta = by_class.get("heart"), by_class.get("aorta")
    if settings.backend == "heart":
        if not heart.any():
            raise RegionError("%s: the heart mask is empty on this CT's grid (is it the one for this CT?)" % where)
        result = _shell_region(ct, settings, heart, aorta, notes, "heart shell from existing TotalSegmentator masks",
                               origin)
    else:
        coronary = by_class["coronary_arteries"]
        if not coronary.any():
            raise RegionError("%s: the coronary_arteries mask is empty on this CT's grid" % where)
        if heart is not None and (aorta is None or not heart.any()):
            heart = aorta = None
        result = _coronary_region(ct, settings, coronary, heart, aorta, "existing TotalSegmentator coronary arteries",
                                  origin)
    result.region.warnings.extend(note for note in notes if note not in result.region.warnings)
    if progress is not None:
        progress(1.0, "Region of interest ready")
    return result


def _heart_backend(ct: CTVolume, settings: TotalSegRegionSettings, runner: _Runner) -> TotalSegRegion:
    labels, run = runner.run("total", "heart", 0.02, 0.9, roi_subset=list(HEART_CLASSES))
    heart, aorta = _heart_and_aorta(labels, "total")
    del labels
    _check_heart(heart, run, ct, runner.notes)
    return _shell_region(ct, settings, heart, aorta, runner.notes, "TotalSegmentator heart shell",
                         totalseg_runner.describe(run))


def _shell_region(ct: CTVolume, settings: TotalSegRegionSettings, heart: np.ndarray, aorta: np.ndarray,
                  notes: List[str], label: str, origin: str) -> TotalSegRegion:
    """The heart-shell region from heart and aorta masks, described as ``label (origin; shell settings)``."""
    shell = heart_shell(heart, aorta, ct.geometry, settings, image=ct.array, notes=notes)
    if not shell.any():
        raise RegionError("the heart-surface region is empty after removing the aorta: check the shell settings")
    source = ("%s (%s; %g mm inside to %g mm outside the heart surface, aorta +%g mm, valve plane, tissue behind lung "
              "and bone entering from outside removed)"
              % (label, origin, settings.shell_inside_mm, settings.shell_outside_mm, settings.aorta_margin_mm))
    return _finish(ct, settings, shell, heart, aorta, source)


def _coronary_region(ct: CTVolume, settings: TotalSegRegionSettings, coronary: np.ndarray,
                     heart: Optional[np.ndarray], aorta: Optional[np.ndarray], label: str,
                     origin: str) -> TotalSegRegion:
    """The coronary mask plus ``settings.margin_mm``, described as ``label (origin) + margin``."""
    region_mask = dilate_mm(coronary, ct.geometry, settings.margin_mm)
    return _finish(ct, settings, region_mask, heart, aorta,
                   "%s (%s) + %g mm margin" % (label, origin, settings.margin_mm))


def _coronary_backend(ct: CTVolume, settings: TotalSegRegionSettings, runner: _Runner) -> TotalSegRegion:
    reference_share = 0.25 if settings.with_reference else 0.0
    labels, run = runner.run("coronary_arteries", "coronary", 0.02, 0.9 - reference_share)
    coronary = labels == totalseg_runner.class_ids("coronary_arteries", ["coronary_arteries"])["coronary_arteries"]
    del labels
    if not coronary.any():
        if run.crop_was_empty:
            raise RegionError(
                "TotalSegmentator found no heart in this CT (coronary_arteries crops to the heart first): check the "
                "field of view; or give a region of interest mask")
        raise RegionError(
            "TotalSegmentator coronary_arteries found no coronary arteries (it is weak on non-contrast and "
            "low-resolution scans): use the heart backend or give a region of interest mask")
    heart = aorta = None
    if settings.with_reference:
        labels, reference_run = runner.run("total", "heart_aorta_6mm", 0.9 - reference_share, 0.9, fastest=True)
        heart, aorta = _heart_and_aorta(labels, "total")
        del labels
        if not heart.any():
            runner.notes.append("TotalSegmentator's 6 mm model found no heart: arteries not assigned, no blood-pool "
                                "reference for the contrast check")
            heart = aorta = None
    return _coronary_region(ct, settings, coronary, heart, aorta, "TotalSegmentator coronary arteries",
                            totalseg_runner.describe(run))


def _finish(ct: CTVolume, settings: TotalSegRegionSettings, mask: np.ndarray, heart: Optional[np.ndarray],
            aorta: Optional[np.ndarray], source: str) -> TotalSegRegion:
    blood_pool = blood_pool_reference(heart, aorta, ct.geometry, settings.blood_pool_erosion_mm)
    notes: List[str] = []
    assignment = None
    if settings.assign_arteries and heart is not None:
        from . import artery_attribution

        assignment = artery_attribution.assign_arteries(mask, heart, aorta, ct.geometry, image=ct.array)
        labels, names = assignment.labels, dict(DEFAULT_LABELS)
        notes.extend(assignment.notes)
        notes.append("arteries assigned by position relative to the heart and aorta (geometry, not a per-artery "
                     "segmentation)")
    else:
        labels, names = mask.astype(np.uint8), {1: "unassigned"}
    region = region_from_array(labels, names, source=source, blood_pool=blood_pool)
    region.heart, region.aorta = heart, aorta
    region.warnings.extend(notes)
    if blood_pool is None:
        region.warnings.append("no blood-pool reference (heart/aorta) for the contrast check; the region itself is "
                               "used")
    return TotalSegRegion(region=region, heart=heart, aorta=aorta, attribution=assignment)


def region_from_totalsegmentator(ct: CTVolume, backend: str = "heart", fast: Optional[bool] = None,
                                 device: str = "auto", margin_mm: float = 2.0, in_process: bool = True,
                                 python_executable: Optional[str] = None, license_number: Optional[str] = None,
                                 progress: Optional[Progress] = None, log: Optional[LogSink] = None,
                                 **options) -> RegionOfInterest:
    """Region of interest from TotalSegmentator in one call (the doors' entry point).

    ``in_process``: run TotalSegmentator in this process, or (False) in a subprocess of ``python_executable`` (Slicer:
    the GUI keeps running; ``log`` gets every line and may raise to stop the run). ``fast``: None uses TotalSegmentator's fast (3 mm) model on the CPU where the task has one; True or
    False forces it on or off. Other keyword ``options`` are fields of ``TotalSegRegionSettings`` or
    ``TotalSegSettings``.
    """
    ts_fields = set(TotalSegSettings.__dataclass_fields__)
    ts_options = {k: v for k, v in options.items() if k in ts_fields}
    region_options = {k: v for k, v in options.items() if k not in ts_fields}
    unknown = set(region_options) - set(TotalSegRegionSettings.__dataclass_fields__)
    if unknown:
        raise TypeError("unknown TotalSegmentator region options: %s" % ", ".join(sorted(unknown)))
    ts_settings = TotalSegSettings(device=device, fast=fast, license_number=license_number,
                                   **ts_options)
    settings = TotalSegRegionSettings(backend=backend, margin_mm=margin_mm, in_process=in_process,
                                      python_executable=python_executable, totalseg=ts_settings, **region_options)
    return build_region(ct, settings, progress=progress, log=log).region


def set_license(license_number: str, python_executable: Optional[str] = None, log: Optional[LogSink] = None,
                settings: Optional[TotalSegSettings] = None) -> str:
    """Store a TotalSegmentator licence number (offline: its format is checked, not the licence server); see
    ``totalseg_runner.set_license``. Returns the config file's path."""
    return totalseg_runner.set_license(license_number, settings, python=python_executable, log=log)
