"""Protocol normalisation: bring a chest CT made for other purposes towards the calcium-scoring protocol before
thresholding.

Agatston's rules were defined on 3 mm slices reconstructed with a soft kernel. Most chest CTs are thinner and sharper:
noise at 1 mm is about 1.7 times that at 3 mm, and sharp kernels add overshoot rims at air borders, both of which
cross 130 HU without any calcium (on LIDC-IDRI-0314, 1 mm, Philips D: 1,293 Agatston, "severe", in a patient with
little or no coronary calcium). Two steps, each with a setting ``auto`` / ``on`` / ``off``:

- ``thin_slices``: slices thinner than ``THIN_SLICE_MM`` (1.5 mm) are averaged into contiguous slabs of about
  ``slab_mm`` (3 mm), the way 3 mm reconstructions are made from thin data; the score is then computed on the slabs
  (their increment sets the Agatston slice factor) and the lesion map is drawn back onto the original slices.
- ``sharp_kernel``: a sharp kernel (``kernels.classify_kernel``) is blurred in plane with a Gaussian of
  ``SHARP_SIGMA_MM`` (0.7 mm; 1.0 mm for very sharp lung and bone kernels), which brings the Philips D scan's
  neighbour-pixel noise correlation (0.55) to that of soft kernels (0.74-0.80) and its noise from 28 to 11 HU.

Scans made for calcium scoring (soft kernel, slices of 1.5 mm and thicker) are left exactly as they are in ``auto``:
the rules of docs/calcium-scoring.md apply unchanged (the QRM phantom's score is bit-for-bit the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

import numpy as np

from .kernels import VERY_SHARP, KernelClass, classify_kernel
from ..errors import InputError
from ..io.ct import CTVolume
from ..io.geometry import Geometry
from ..region.mask import RegionOfInterest, bounding_box

MODES = ("auto", "on", "off")
THIN_SLICE_MM = 1.5
SHARP_SIGMA_MM = 0.7
VERY_SHARP_SIGMA_MM = 1.0
SLAB_ANSWERS = ("thin slices (", "overlapping reconstruction (")  # loader warnings that slabs make moot


@dataclass
class ProtocolSettings:
    """``thin_slices`` and ``sharp_kernel``: "auto" (when the scan needs it), "on" (always), "off" (never)."""

    thin_slices: str = "auto"
    sharp_kernel: str = "auto"
    slab_mm: float = 3.0

    def validate(self) -> None:
        for name in ("thin_slices", "sharp_kernel"):
            if getattr(self, name) not in MODES:
                raise InputError("%s must be one of %s, not %r" % (name.replace("_", " "), ", ".join(MODES),
                                                                    getattr(self, name)))
        if not 1.0 <= self.slab_mm <= 6.0:
            raise InputError("slab thickness must be 1-6 mm, not %s" % self.slab_mm)


@dataclass
class Normalised:
    """The CT and region scoring runs on, what was done (``steps``, for ``settings``), warnings, and how many original
    slices each scoring slice stands for (1 when no slabs were made)."""

    ct: CTVolume
    region: RegionOfInterest
    kernel: KernelClass
    original: Optional[np.ndarray] = field(default=None, repr=False)  # the CT's own voxels (HU, z y x)
    slices_per_slab: int = 1
    original_slices: int = 0
    steps: Dict[str, object] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.slices_per_slab > 1 or bool(self.steps.get("kernel_smoothing_sigma_mm"))

    def _original_z(self, z: slice) -> slice:
        """The original slices under the scoring grid's slices ``z``."""
        n = self.slices_per_slab
        return slice(z.start * n, min(z.stop * n, self.original_slices))

    def to_original_slices(self, labels: np.ndarray, box) -> Tuple[np.ndarray, Tuple[slice, slice, slice]]:
        """A (z, y, x) map inside ``box`` of the scoring grid, and the box, drawn back onto the original slices (each
        slab's value on its slices)."""
        if self.slices_per_slab == 1:
            return labels, box
        z = self._original_z(box[0])
        return np.repeat(labels, self.slices_per_slab, axis=0)[:z.stop - z.start], (z, box[1], box[2])

    def below(self, hu: float, box) -> np.ndarray:
        """Voxels of the scoring grid's ``box`` where any of the original voxels is below ``hu`` (air seen before the
        slabs and the blur brightened it)."""
        dark = self.original[self._original_z(box[0]), box[1], box[2]] < hu
        return _slab_max(dark, self.slices_per_slab)

    def original_slice_range(self, first: int, last: int) -> Tuple[int, int]:
        n = self.slices_per_slab
        return first * n, min(last * n + n - 1, self.original_slices - 1)


def normalise(ct: CTVolume, region: RegionOfInterest, settings: Optional[ProtocolSettings] = None) -> Normalised:
    """The CT (and region) to score: slabs from thin slices and a blur for sharp kernels, as the settings ask."""
    settings = settings or ProtocolSettings()
    settings.validate()
    kernel = classify_kernel(ct.metadata.kernel, ct.metadata.manufacturer)
    result = Normalised(ct=ct, region=region, kernel=kernel, original_slices=ct.array.shape[0], original=ct.array)
    increment = float(ct.metadata.slice_increment_mm or ct.geometry.spacing[2])
    thickness = float(ct.metadata.slice_thickness_mm or increment)
    thin = min(thickness, increment) < THIN_SLICE_MM - 1e-6
    steps = result.steps
    steps["kernel"] = kernel.name
    steps["kernel_sharpness"] = kernel.sharpness
    steps["thin_slices"] = settings.thin_slices
    steps["sharp_kernel"] = settings.sharp_kernel
    array = ct.array
    sigma_mm = 0.0
    if settings.sharp_kernel == "on" or (settings.sharp_kernel == "auto" and kernel.is_sharp):
        sigma_mm = VERY_SHARP_SIGMA_MM if kernel.sharpness == VERY_SHARP else SHARP_SIGMA_MM
        array = _blur_in_plane(array, ct.geometry, sigma_mm, bounding_box(region.labels))
        result.warnings.append("%s: the image was smoothed in plane (Gaussian sigma %g mm) towards a soft kernel "
                               "before thresholding" % (kernel.reason if kernel.is_sharp else "sharp-kernel step "
                                                        "forced on", sigma_mm))
    elif kernel.sharpness == "unknown" and settings.sharp_kernel == "auto":
        steps["kernel_note"] = kernel.reason
    steps["kernel_smoothing_sigma_mm"] = sigma_mm or None
    per_slab = 1
    if settings.thin_slices == "on" or (settings.thin_slices == "auto" and thin):
        per_slab = max(1, int(round(settings.slab_mm / increment)))
    if per_slab > 1:
        array, geometry = _slabs(array, ct.geometry, per_slab)
        labels = _slab_max(region.labels, per_slab)
        blood = _slab_max(region.blood_pool, per_slab) if region.blood_pool is not None else None
        region = replace(region, labels=labels, blood_pool=blood,
                         heart=_slab_max(region.heart, per_slab), aorta=_slab_max(region.aorta, per_slab))
        slab = per_slab * increment
        metadata = replace(ct.metadata, slice_thickness_mm=slab, slice_increment_mm=slab)
        result.warnings.append("%g mm slices were averaged into %g mm slabs (%d slices each) before scoring, as 3 mm "
                               "reconstructions are made from thin data" % (increment, slab, per_slab))
        kept = [w for w in ct.warnings if not w.startswith(SLAB_ANSWERS)]  # contiguous 3 mm slabs answer these
        ct = CTVolume(array=array, geometry=geometry, metadata=metadata, warnings=kept)
    elif array is not ct.array:
        ct = CTVolume(array=array, geometry=ct.geometry, metadata=ct.metadata, warnings=list(ct.warnings))
    steps["slices_per_slab"] = per_slab
    steps["slab_mm"] = per_slab * increment if per_slab > 1 else None
    result.ct, result.region, result.slices_per_slab = ct, region, per_slab
    return result


def _blur_in_plane(array: np.ndarray, geometry: Geometry, sigma_mm: float, box) -> np.ndarray:
    """float32 copy of ``array`` blurred in plane inside ``box`` (grown by 4 sigma), the rest unchanged."""
    from scipy import ndimage

    out = array.astype(np.float32, copy=True)
    if box is None:
        return out
    sigma = (0.0, sigma_mm / geometry.spacing[1], sigma_mm / geometry.spacing[0])
    reach = [0, int(np.ceil(4 * sigma[1])), int(np.ceil(4 * sigma[2]))]
    grown = tuple(slice(max(0, b.start - r), min(n, b.stop + r)) for b, r, n in zip(box, reach, array.shape))
    out[grown] = ndimage.gaussian_filter(out[grown], sigma=sigma, mode="nearest")
    return out


def _slabs(array: np.ndarray, geometry: Geometry, per_slab: int) -> Tuple[np.ndarray, Geometry]:
    """Mean of every ``per_slab`` consecutive slices (the last slab from the slices left), and the slab grid: spacing
    along z times ``per_slab``, the origin moved to the first slab's centre."""
    nz = array.shape[0]
    sums = _blocks(array, per_slab, np.float32).sum(axis=1)
    count = sums.shape[0]
    weights = np.full(count, float(per_slab), dtype=np.float32)
    weights[-1] = nz - (count - 1) * per_slab
    slabs = sums / weights[:, None, None]
    origin = geometry.index_to_lps((0.5 * (per_slab - 1), 0.0, 0.0))
    spacing = (geometry.spacing[0], geometry.spacing[1], geometry.spacing[2] * per_slab)
    return slabs, replace(geometry, shape=tuple(slabs.shape), origin=tuple(origin), spacing=spacing)


def _slab_max(mask: Optional[np.ndarray], per_slab: int) -> Optional[np.ndarray]:
    """A label map on the slab grid: a slab voxel takes the largest value of its slices (in the region if any is)."""
    if mask is None or per_slab == 1:
        return mask
    return _blocks(mask, per_slab, mask.dtype).max(axis=1)


def _blocks(array: np.ndarray, per_slab: int, dtype) -> np.ndarray:
    """``array`` (z, y, x) as (slabs, per_slab, y, x), the last slab padded with zeros."""
    nz = array.shape[0]
    count = -(-nz // per_slab)
    padded = np.zeros((count * per_slab,) + array.shape[1:], dtype=dtype)
    padded[:nz] = array
    return padded.reshape(count, per_slab, *array.shape[1:])
