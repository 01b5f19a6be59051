"""The CT around the region of interest, as the foundation-model extractors read it: cropped, reoriented, resampled.

Only the region's bounding box (grown by a margin in mm) is copied out of the scan; reorientation and resampling then
work on that crop, so the cost follows the region, not the scan. The crop is reoriented to the LPS index orientation
(SimpleITK ``DICOMOrient(image, "LPS")``: identity direction), in which the numpy (z, y, x) array runs towards
superior, posterior and left: this is MONAI's / nibabel's ``SPL`` axis-code orientation, the one CT-FM was trained in,
and the radiological display orientation of axial slices (patient's right on the image's left, anterior at the top).
An oblique scan is reoriented to the closest axis-aligned orientation (no resampling of the tilt).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ...errors import RegionError

AIR_HU = -1024.0


@dataclass
class OrientedCrop:
    """HU values (float32, numpy (z, y, x), SPL orientation), the selected region mask (uint8, same grid) and the
    voxel spacing (x, y, z) in mm."""

    hu: np.ndarray
    mask: np.ndarray
    spacing: Tuple[float, float, float]

    def digest(self, *extra: object) -> str:
        """SHA-256 of the crop, the mask, the spacing and ``extra`` (settings that shaped the crop)."""
        return hash_arrays((self.hu, self.mask), (self.spacing,) + tuple(extra))


def select_mask(labels: np.ndarray, chosen: Optional[Sequence[int]]) -> np.ndarray:
    """Boolean mask of the chosen label values (default: every non-zero label)."""
    if chosen is None:
        return labels > 0
    return np.isin(labels, [int(v) for v in chosen])


def crop_region(ct, region, labels: Optional[Sequence[int]] = None, margin_mm: Sequence[float] = (10.0, 10.0, 10.0),
                resample_mm: Optional[float] = None) -> OrientedCrop:
    """Crop ``ct`` (CTVolume) to ``region`` (RegionOfInterest)'s bounding box grown by ``margin_mm`` (x, y, z) on each
    side (clipped to the scan), reorient to SPL and, with ``resample_mm``, resample to that isotropic spacing (linear
    for HU, nearest neighbour for the mask; outside the scan counts as air, -1024 HU)."""
    import SimpleITK as sitk

    from ...io.geometry import Geometry, apply_geometry
    from ...region.mask import bounding_box

    if region.labels.shape != ct.array.shape:
        raise RegionError("region of interest %s does not match the CT grid %s" % (region.labels.shape,
                                                                                 ct.array.shape))
    box = bounding_box(region.labels)
    if box is None:
        raise RegionError("region of interest is empty: no embedding can be computed (segmentation failed?)")
    selected = select_mask(region.labels[box], labels)
    inner = bounding_box(selected.view(np.uint8))
    if inner is None:
        raise RegionError("region of interest holds none of the labels %s: no embedding can be computed" % labels)
    geometry = ct.geometry
    spacing_zyx = tuple(float(s) for s in geometry.spacing[::-1])
    margin_zyx = tuple(float(m) for m in margin_mm)[::-1]
    grown = []
    for axis in range(3):
        start = box[axis].start + inner[axis].start
        stop = box[axis].start + inner[axis].stop
        extra = int(math.ceil(margin_zyx[axis] / spacing_zyx[axis] - 1e-9)) if margin_zyx[axis] > 0 else 0
        grown.append(slice(max(0, start - extra), min(ct.array.shape[axis], stop + extra)))
    crop = tuple(grown)
    start_index = tuple(s.start for s in crop)
    cropped_geometry = Geometry(shape=tuple(s.stop - s.start for s in crop), spacing=geometry.spacing,
                                origin=geometry.index_to_lps(start_index), direction=geometry.direction)
    image = sitk.GetImageFromArray(np.ascontiguousarray(ct.array[crop], dtype=np.float32))
    apply_geometry(image, cropped_geometry)
    mask = sitk.GetImageFromArray(np.ascontiguousarray(select_mask(region.labels[crop], labels), dtype=np.uint8))
    apply_geometry(mask, cropped_geometry)
    if not np.allclose(image.GetDirection(), np.eye(3).ravel(), atol=1e-6):
        image = sitk.DICOMOrient(image, "LPS")
        mask = sitk.DICOMOrient(mask, "LPS")
    if resample_mm:
        image, mask = _resample_isotropic(image, mask, float(resample_mm))
    return OrientedCrop(hu=sitk.GetArrayFromImage(image).astype(np.float32, copy=False),
                        mask=sitk.GetArrayFromImage(mask).astype(np.uint8, copy=False),
                        spacing=tuple(float(s) for s in image.GetSpacing()))


def _resample_isotropic(image, mask, spacing_mm: float):
    """Both images on an isotropic grid covering the same extent (first voxel centre kept)."""
    import SimpleITK as sitk

    old_spacing = np.asarray(image.GetSpacing(), dtype=float)
    old_size = np.asarray(image.GetSize(), dtype=float)
    new_size = [max(1, int(round(n * s / spacing_mm))) for n, s in zip(old_size, old_spacing)]
    new_spacing = (spacing_mm,) * 3
    resampled = sitk.Resample(image, new_size, sitk.Transform(), sitk.sitkLinear, image.GetOrigin(), new_spacing,
                              image.GetDirection(), AIR_HU, sitk.sitkFloat32)
    resampled_mask = sitk.Resample(mask, new_size, sitk.Transform(), sitk.sitkNearestNeighbor, image.GetOrigin(),
                                   new_spacing, image.GetDirection(), 0, sitk.sitkUInt8)
    return resampled, resampled_mask


def hash_arrays(arrays: Sequence[np.ndarray], extra: Sequence[object] = ()) -> str:
    """SHA-256 over arrays (dtype, shape, bytes) and a text form of ``extra``."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str((array.dtype.str, array.shape)).encode("ascii"))
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr(tuple(extra)).encode("utf-8"))
    return digest.hexdigest()
