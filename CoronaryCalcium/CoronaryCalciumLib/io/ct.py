"""CT volume and the metadata scoring needs, loaded from DICOM, NIfTI, NRRD or MHA, and validated.

Voxels are kept once, as a numpy (z, y, x) array in HU; a SimpleITK image is made only when asked for (``CTVolume.image``).
Patient coordinates are LPS (mm), as in DICOM and ITK; Slicer shows RAS (x and y negated).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .dicom import choose_series, find_series, read_series
from ..errors import InputError
from .geometry import Geometry, apply_geometry, geometry_of_sitk
from .integrity import check_image_file, itk_readable_path, native_diagnostics_captured, nifti_nonfinite_zyx

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
THIN_SLICE_MM = 2.5
SPACING_RANGE_MM = (0.05, 30.0)  # a voxel edge outside this is a broken header, not a CT
OBLIQUE_WARNING_DEGREES = 2.0  # slice normal further than this from head-foot: the volume is oblique (or tilted)
NONFINITE_WARNING = ("%d voxel(s) are NaN or infinite (outside the region of interest they are ignored; inside it the "
                     "case is refused)")
PHI_FIELDS = ("patient_name", "patient_id", "study_date", "series_uid", "source")


@dataclass
class CTMetadata:
    """What scoring and reports need to know about a scan. Lengths in mm, tube voltage in kV."""

    source: str = ""
    format: str = ""
    modality: Optional[str] = "CT"
    kvp: Optional[float] = None
    slice_thickness_mm: Optional[float] = None
    slice_increment_mm: float = 0.0
    manufacturer: Optional[str] = None
    model: Optional[str] = None
    kernel: Optional[str] = None
    contrast_agent: Optional[str] = None
    series_uid: Optional[str] = None
    series_description: Optional[str] = None
    study_date: Optional[str] = None
    patient_name: Optional[str] = None
    patient_id: Optional[str] = None

    def to_dict(self, include_phi: bool = False) -> Dict[str, object]:
        """Plain dict. Fields that can identify a patient (name, ID, study date, series UID, input path) only when
        ``include_phi``."""
        data = asdict(self)
        if not include_phi:
            for name in PHI_FIELDS:
                data.pop(name)
        return data


@dataclass
class CTVolume:
    """A CT scan in HU on a known grid.

    ``array`` is (z, y, x) in HU (int16 when the stored values rescale to integers, else float32); treat it as read-only.
    """

    array: np.ndarray
    geometry: Geometry
    metadata: CTMetadata = field(default_factory=CTMetadata)
    warnings: List[str] = field(default_factory=list)

    @property
    def image(self):
        """A SimpleITK image of the volume (a copy of the voxels; make it only where a SimpleITK filter needs it)."""
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(self.array)
        apply_geometry(image, self.geometry)
        return image

    @property
    def spacing(self):
        """(x, y, z) spacing in mm; z is the measured slice increment."""
        return self.geometry.spacing

    def summary(self) -> str:
        """One line describing the scan (no patient data)."""
        meta = self.metadata
        z, y, x = self.array.shape
        text = "%dx%dx%d voxels, %.3gx%.3g mm pixels, increment %.3g mm" % (
            x, y, z, self.spacing[0], self.spacing[1], meta.slice_increment_mm)
        if meta.slice_thickness_mm:
            text += ", thickness %.3g mm" % meta.slice_thickness_mm
        if meta.kvp:
            text += ", %g kVp" % meta.kvp
        if meta.manufacturer:
            text += ", %s" % meta.manufacturer
        return text


def ct_from_array(
    array_zyx: np.ndarray,
    spacing_xyz: Sequence[float],
    origin_xyz: Sequence[float] = (0.0, 0.0, 0.0),
    direction: Optional[Sequence[float]] = None,
    metadata: Optional[CTMetadata] = None,
    validate: bool = True,
) -> CTVolume:
    """Wrap a (z, y, x) HU array (not copied) as a CT volume; ``spacing_xyz`` in mm, z being the slice increment."""
    array = np.asarray(array_zyx)
    if array.ndim != 3:
        raise InputError("expected a 3D (z, y, x) array, got %d dimensions" % array.ndim)
    geometry = Geometry(
        shape=tuple(int(n) for n in array.shape),
        spacing=tuple(float(s) for s in spacing_xyz),
        origin=tuple(float(o) for o in origin_xyz),
        direction=tuple(float(d) for d in (direction or (1, 0, 0, 0, 1, 0, 0, 0, 1))),
    )
    meta = metadata or CTMetadata(source="array", format="array")
    if not meta.slice_increment_mm:
        meta.slice_increment_mm = geometry.spacing[2]
    ct = CTVolume(array=array, geometry=geometry, metadata=meta)
    if validate:
        validate_ct(ct)
    return ct


def load_ct(path: str, series_uid: Optional[str] = None) -> CTVolume:
    """Load and validate a CT from a DICOM folder (or one file of a series), NIfTI, NRRD or MHA file.

    Raises InputError with a one-line reason when the input cannot be scored.
    """
    if not os.path.exists(path):
        raise InputError("input not found: %s" % path)
    if os.path.isdir(path):
        ct = _load_dicom_folder(path, series_uid)
    elif path.lower().endswith(IMAGE_SUFFIXES):
        ct = _load_image_file(path)
    elif _is_dicom_file(path):
        ct = _load_dicom_folder(os.path.dirname(path) or ".", series_uid or _series_uid_of(path), single=path)
    else:
        ct = _load_image_file(path)
    validate_ct(ct)
    return ct


def _is_dicom_file(path: str) -> bool:
    from .dicom import _read_header

    return _read_header(path) is not None


def _series_uid_of(path: str) -> Optional[str]:
    from .dicom import _read_header

    ds = _read_header(path)
    return str(getattr(ds, "SeriesInstanceUID", "") or "") or None


def _load_dicom_folder(folder: str, series_uid: Optional[str], single: Optional[str] = None) -> CTVolume:
    series = find_series(folder, keep_headers=True)
    if not series and _has_image_files(folder):
        raise InputError("%s holds no DICOM series; pass the NIfTI/NRRD/MHA file itself" % folder)
    info, notes = choose_series(series, folder, series_uid)
    if info.modality and info.modality.upper() != "CT":
        raise InputError("%s is %s, not CT: calcium scoring needs a CT in HU" % (info.label(), info.modality))
    data = read_series(info)
    header = data.header
    meta = CTMetadata(
        source=single or folder,
        format="DICOM",
        modality=header["modality"] or None,
        kvp=header["kvp"],
        slice_thickness_mm=header["slice_thickness_mm"],
        slice_increment_mm=float(data.geometry.spacing[2]),
        manufacturer=header["manufacturer"],
        model=header["model"],
        kernel=header["kernel"],
        contrast_agent=header["contrast_agent"],
        series_uid=header["series_uid"],
        series_description=header["series_description"],
        study_date=header["study_date"],
        patient_name=header["patient_name"],
        patient_id=header["patient_id"],
    )
    return CTVolume(array=data.array, geometry=data.geometry, metadata=meta, warnings=notes + data.warnings)


def _has_image_files(folder: str) -> bool:
    return any(name.lower().endswith(IMAGE_SUFFIXES) for name in os.listdir(folder))


def read_image_file(path: str, what: str = "image"):
    """Read an image file with SimpleITK, turning its exceptions into one-line InputErrors; files cut short, NIfTI
    spacings ITK would replace and names SimpleITK cannot open are handled first (``io.integrity``)."""
    import SimpleITK as sitk

    if not os.path.isfile(path):
        raise InputError("%s %s is not a regular file" % (what, path))
    if os.path.getsize(path) == 0:
        raise InputError("%s %s is empty (0 bytes)" % (what, path))
    check_image_file(path, what)
    try:
        with itk_readable_path(path) as readable, native_diagnostics_captured():
            return sitk.ReadImage(readable)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()
        detail = next((line for line in reason if "ERROR" in line.upper() or "unable" in line.lower()), "")
        raise InputError(
            "cannot read %s as an image (DICOM folder, NIfTI, NRRD or MHA expected)%s"
            % (path, ": " + detail.strip()[:160] if detail else "")
        ) from None


def _load_image_file(path: str) -> CTVolume:
    import SimpleITK as sitk

    image = read_image_file(path)
    if image.GetDimension() == 4 and image.GetSize()[3] == 1:
        image = image[:, :, :, 0]
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError("%s has %d components per voxel (colour?); expected a grayscale CT"
                         % (path, image.GetNumberOfComponentsPerPixel()))
    if image.GetDimension() == 2 or (image.GetDimension() == 3 and image.GetSize()[2] == 1):
        raise InputError("%s is a 2D image (one slice); calcium scoring needs a 3D CT volume" % path)
    if image.GetDimension() != 3:
        raise InputError("%s has %d dimensions; expected a 3D CT volume" % (path, image.GetDimension()))
    pixel_id = image.GetPixelID()
    if pixel_id not in (sitk.sitkInt16, sitk.sitkFloat32):
        if pixel_id in (sitk.sitkFloat64,):
            image = sitk.Cast(image, sitk.sitkFloat32)
        else:
            image = sitk.Cast(image, sitk.sitkInt16 if _fits_int16(image) else sitk.sitkFloat32)
    array = sitk.GetArrayFromImage(image)
    nonfinite = nifti_nonfinite_zyx(path)
    if nonfinite is not None and nonfinite.shape == array.shape:
        array = array.astype(np.float32)
        array[nonfinite] = np.nan  # ITK read them as 0 HU (water); keep them unknown so validation can see them
    geometry = geometry_of_sitk(image)
    meta = CTMetadata(
        source=path,
        format=_format_name(path),
        modality=None,
        slice_increment_mm=float(geometry.spacing[2]),
    )
    return CTVolume(array=array, geometry=geometry, metadata=meta)


def _fits_int16(image) -> bool:
    import SimpleITK as sitk

    stats = sitk.MinimumMaximumImageFilter()
    stats.Execute(image)
    return stats.GetMinimum() >= -32768 and stats.GetMaximum() <= 32767


def _format_name(path: str) -> str:
    lower = path.lower()
    for suffix, name in ((".nii", "NIfTI"), (".nii.gz", "NIfTI"), (".nrrd", "NRRD"), (".nhdr", "NRRD"),
                         (".mha", "MetaImage"), (".mhd", "MetaImage")):
        if lower.endswith(suffix):
            return name
    return "image"


def count_nonfinite(array: np.ndarray) -> int:
    """How many voxels are NaN or +/-inf (0 for integer arrays)."""
    if not np.issubdtype(array.dtype, np.floating):
        return 0
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def obliquity_degrees(geometry: Geometry) -> float:
    """Angle (degrees) between the slice normal and the patient's head-foot axis: 0 for axial slices."""
    normal = np.asarray(geometry.direction, dtype=float).reshape(3, 3)[:, 2]
    norm = float(np.linalg.norm(normal))
    if norm == 0:
        return 90.0
    return float(np.degrees(np.arccos(min(1.0, abs(normal[2]) / norm))))


def validate_ct(ct: CTVolume) -> None:
    """Refuse what cannot be a CT in HU; add warnings for what scoring must handle with care. Raises InputError."""
    array = ct.array
    source = ct.metadata.source or "image"
    if array.ndim != 3 or min(array.shape) < 1:
        raise InputError("%s is not a 3D volume" % source)
    if array.shape[0] < 2:
        raise InputError("%s has a single slice; calcium scoring needs a 3D CT volume" % source)
    if array.size == 0:
        raise InputError("%s holds no voxels" % source)
    spacing = ct.geometry.spacing
    if not all(np.isfinite(s) and SPACING_RANGE_MM[0] <= s <= SPACING_RANGE_MM[1] for s in spacing):
        raise InputError("%s has voxel spacing %s mm, outside %g-%g mm: not a CT grid that can be scored"
                         % (source, "x".join("%g" % s for s in spacing), SPACING_RANGE_MM[0], SPACING_RANGE_MM[1]))
    sample = array[:: max(1, array.shape[0] // 32), ::4, ::4]
    nonfinite = count_nonfinite(array)
    if nonfinite:
        if nonfinite == array.size:
            raise InputError("%s holds no finite value (every voxel is NaN or infinite)" % source)
        sample = sample[np.isfinite(sample)]
        if sample.size == 0:
            sample = array[np.isfinite(array)]
        ct.warnings.append(NONFINITE_WARNING % nonfinite)
    low, high = np.percentile(sample, [0.1, 99.9])
    if low >= -50:
        raise InputError(
            "%s does not look like CT in HU: no voxel below -50 HU (no air, lung or fat; lowest %.0f). "
            "Stored values without rescale, or not a CT?" % (source, low)
        )
    if high > 8000 or low < -4000:
        raise InputError("%s does not look like CT in HU: values range %.0f to %.0f" % (source, low, high))
    if not np.any(sample >= -50):
        raise InputError("%s holds no tissue (every voxel below -50 HU): nothing to score" % source)
    tilt = obliquity_degrees(ct.geometry)
    if tilt > OBLIQUE_WARNING_DEGREES and not any(w.startswith("gantry tilt") for w in ct.warnings):
        ct.warnings.append(
            "oblique volume: the slices are tilted %.1f degrees off axial; Agatston is defined on axial slices, so "
            "areas and the slice-thickness correction are measured in the tilted planes" % tilt)
    thickness = ct.metadata.slice_thickness_mm
    increment = ct.metadata.slice_increment_mm
    if thickness and thickness < THIN_SLICE_MM or (not thickness and increment < THIN_SLICE_MM):
        ct.warnings.append(
            "thin slices (%.3g mm): Agatston is normalised to 3 mm by increment/3, but thin reconstructions detect more "
            "small calcium than the 3 mm standard" % (thickness or increment)
        )
    if thickness and increment < 0.95 * thickness:
        ct.warnings.append(
            "overlapping reconstruction (increment %.3g mm < thickness %.3g mm): Agatston scaled by increment/3"
            % (increment, thickness)
        )
