"""Region of interest for scoring: a binary or per-artery labelled mask on the CT grid.

Default label numbering of a labelled mask: 1 = LM, 2 = LAD, 3 = LCX, 4 = RCA. A mask whose only non-zero value is 1 (or
any single value outside 2-4, such as 255) is a binary region: its lesions are reported as "unassigned". Other numberings
are given explicitly, e.g. ``"1=LAD,2=LCX,3=RCA"``. Slicer ``.seg.nrrd`` files map segment names to arteries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Union

import numpy as np

from ..io.ct import CTVolume, read_image_file
from ..errors import InputError, RegionError
from ..io.geometry import Geometry, apply_geometry, geometry_of_sitk
from ..io.seg_nrrd import read_segmentation
from .arteries import ARTERIES, DEFAULT_LABELS, UNASSIGNED, artery_for_name

LabelSpec = Union[None, str, Mapping[int, str]]


@dataclass
class RegionOfInterest:
    """Voxels where calcium is looked for, on the CT grid.

    ``labels`` is a uint8 (z, y, x) array, 0 outside; ``names`` maps each label value to an artery (LM, LAD, LCX, RCA) or
    "unassigned". ``blood_pool`` optionally marks heart or aorta blood used to detect contrast enhancement.
    """

    labels: np.ndarray
    names: Dict[int, str]
    source: str = "array"
    warnings: List[str] = field(default_factory=list)
    blood_pool: Optional[np.ndarray] = None
    # the heart and aorta an automatic region was built from (bool, CT grid): lesion filters use them
    heart: Optional[np.ndarray] = field(default=None, repr=False)
    aorta: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def automatic(self) -> bool:
        """Built from heart (and aorta) masks rather than given as a region drawn around the arteries."""
        return self.heart is not None

    @property
    def has_artery_labels(self) -> bool:
        return any(name in ARTERIES for name in self.names.values())

    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.labels))


def parse_label_spec(spec: LabelSpec) -> Optional[Dict[int, str]]:
    """``"1=LAD,2=LCX"`` or a mapping -> {label: artery}; None keeps the automatic rule."""
    if spec is None or spec == "" or spec == "auto":
        return None
    if isinstance(spec, str):
        mapping: Dict[int, str] = {}
        for item in spec.split(","):
            if "=" not in item:
                raise InputError("label mapping '%s' not understood; write e.g. 1=LM,2=LAD,3=LCX,4=RCA" % spec)
            value, name = item.split("=", 1)
            try:
                mapping[int(value)] = name.strip()
            except ValueError:
                raise InputError("label value '%s' in '%s' is not an integer" % (value.strip(), spec)) from None
        spec = mapping
    result: Dict[int, str] = {}
    for value, name in spec.items():
        artery = name.upper() if name.upper() in ARTERIES else artery_for_name(name)
        if artery is None and name.lower() not in (UNASSIGNED, "region", "coronary", "heart"):
            raise InputError("'%s' is not an artery; use LM, LAD, LCX, RCA or unassigned" % name)
        result[int(value)] = artery or UNASSIGNED
    return result


def region_from_array(
    labels: np.ndarray,
    names: LabelSpec = None,
    source: str = "array",
    blood_pool: Optional[np.ndarray] = None,
) -> RegionOfInterest:
    """Region from an integer (z, y, x) array already on the CT grid. Raises RegionError when it is empty."""
    values = label_values(labels)
    check_label_values(values, source)
    values = [int(v) for v in values if v != 0]
    if not values:
        raise RegionError(
            "region of interest from %s is empty: segmentation failed or the mask is blank. Not scoring "
            "(an empty region is not a zero score)" % source
        )
    warnings: List[str] = []
    mapping = parse_label_spec(names)
    if mapping is None:
        mapping, note = _automatic_names(values)
        if note:
            warnings.append(note)
    if max(values) > 255 or min(values) < 0:
        compact = np.zeros(labels.shape, dtype=np.uint8)
        new_names: Dict[int, str] = {}
        for index, value in enumerate(values, start=1):
            compact[labels == value] = index
            new_names[index] = mapping.get(value, UNASSIGNED)
        labels_u8, final_names = compact, new_names
    else:
        labels_u8 = labels if labels.dtype == np.uint8 else labels.astype(np.uint8)
        final_names = {value: mapping.get(value, UNASSIGNED) for value in values}
    return RegionOfInterest(labels=labels_u8, names=final_names, source=source, warnings=warnings, blood_pool=blood_pool)


def _automatic_names(values: List[int]):
    present = set(values)
    if present <= set(DEFAULT_LABELS) and (len(present) > 1 or present != {1}):
        return dict(DEFAULT_LABELS), None
    if len(present) == 1:
        return {values[0]: UNASSIGNED}, (
            "binary region of interest: lesions are not attributed to arteries (label them 1=LM, 2=LAD, 3=LCX, 4=RCA "
            "or pass a label mapping)"
        )
    others = sorted(present - set(DEFAULT_LABELS))
    names = {v: DEFAULT_LABELS.get(v, UNASSIGNED) for v in values}
    return names, (
        "labels %s are not arteries under the default numbering (1=LM, 2=LAD, 3=LCX, 4=RCA); their lesions are unassigned"
        % ", ".join(str(v) for v in others)
    )


def load_region(path: str, ct: CTVolume, labels: LabelSpec = None) -> RegionOfInterest:
    """Read a mask file (NIfTI, NRRD, MHA or Slicer .seg.nrrd) onto the CT grid.

    A mask on another grid is resampled nearest-neighbour onto the CT grid, with a warning saying so.
    """
    if not os.path.exists(path):
        raise InputError("mask not found: %s" % path)
    if path.lower().endswith(".seg.nrrd"):
        image, segment_names = read_segmentation(path)
        if labels is None:
            labels = {value: artery_for_name(name) or UNASSIGNED for value, name in segment_names.items()}
    else:
        image = read_image_file(path, what="mask")
    if image.GetDimension() == 4 and image.GetSize()[3] == 1:
        image = image[:, :, :, 0]
    if image.GetDimension() != 3:
        raise InputError("mask %s has %d dimensions; expected a 3D mask" % (path, image.GetDimension()))
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError("mask %s has %d values per voxel (a 4-D or colour image?); expected a 3D label image"
                         % (path, image.GetNumberOfComponentsPerPixel()))
    _check_integer_mask(image, path)
    name = os.path.basename(path)
    array, difference = labels_on_ct_grid(image, ct.geometry)
    if difference and not array.any() and _has_foreground(image):
        raise RegionError("mask %s does not overlap the CT (nothing left after resampling onto the CT grid: %s); "
                          "is it the mask of another scan?" % (name, difference))
    region = region_from_array(array, labels, source=name)
    if difference:
        region.warnings.insert(0, resampled_note("mask %s" % name, difference))
    return region


def resampled_note(what: str, difference: str) -> str:
    """The warning that says a label image was moved onto the CT grid."""
    return "%s was on another grid (%s); resampled nearest-neighbour onto the CT grid" % (what, difference)


def _has_foreground(image) -> bool:
    import SimpleITK as sitk

    return bool(np.any(sitk.GetArrayViewFromImage(image)))


def _check_integer_mask(image, path: str) -> None:
    import SimpleITK as sitk

    array = sitk.GetArrayViewFromImage(image)
    if "float" in image.GetPixelIDTypeAsString():
        box = bounding_box(array)
        inside = array[box] if box is not None else array[:0]
        sample = inside[inside != 0]
        if sample.size and not np.all(np.isfinite(sample)):
            raise InputError("mask %s holds NaN or infinite values; expected a binary or labelled mask" % path)
        if sample.size and not np.allclose(sample, np.round(sample)):
            raise InputError("mask %s holds non-integer values (a probability map?); expected a binary or labelled mask"
                             % path)
    check_label_values(label_values(array), "mask %s" % path)


MAX_LABELS = 255


def check_label_values(values: np.ndarray, source: str) -> None:
    """Refuse label values no mask has: negative ones (a signed background such as -1 would become a region covering
    the volume) and more distinct values than a label map holds (a CT or another image given as the mask)."""
    if values.size and values[0] < 0:
        negative = values[values < 0]
        raise InputError("%s holds negative values (%s): a mask has 0 outside the region and positive labels inside; "
                         "is it an image rather than a mask?" % (source, ", ".join("%g" % v for v in negative[:3])
                                                                 + (", ..." if negative.size > 3 else "")))
    if np.count_nonzero(values) > MAX_LABELS:
        raise InputError("%s holds %d distinct values, more than a label map's %d: is it an image (the CT?) rather than "
                         "a mask?" % (source, np.count_nonzero(values), MAX_LABELS))


def labels_on_ct_grid(image, ct_geometry: Geometry):
    """A label image as a (z, y, x) array on the CT grid, and how its own grid differed (None when it already matched).
    A different grid is resampled nearest-neighbour, so labels stay labels."""
    import SimpleITK as sitk

    label_geometry = geometry_of_sitk(image)
    if label_geometry.matches(ct_geometry):
        return sitk.GetArrayFromImage(image), None
    reference = sitk.Image(ct_geometry.shape[2], ct_geometry.shape[1], ct_geometry.shape[0], sitk.sitkUInt8)
    apply_geometry(reference, ct_geometry)
    if image.GetPixelID() not in (sitk.sitkUInt8, sitk.sitkUInt16, sitk.sitkInt16, sitk.sitkInt32, sitk.sitkUInt32):
        image = sitk.Cast(sitk.Round(image) if "float" in image.GetPixelIDTypeAsString() else image, sitk.sitkInt32)
    resampled = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, image.GetPixelID())
    return sitk.GetArrayFromImage(resampled), ct_geometry.describe_difference(label_geometry)

def bounding_box(labels: np.ndarray, margin: int = 0):
    """Tuple of slices enclosing all non-zero voxels (grown by ``margin`` voxels), or None for an empty array.

    Found from projections: along each axis in turn, the planes holding a non-zero voxel inside the box found so far
    (a few milliseconds on a 512x512x134 grid; no per-label search)."""
    if labels.ndim == 0 or labels.size == 0:
        return None
    bounds = []
    view = labels
    for axis in range(labels.ndim):
        others = tuple(a for a in range(labels.ndim) if a != axis)
        planes = np.flatnonzero(view.any(axis=others) if others else view)
        if planes.size == 0:
            return None
        start, stop = int(planes[0]), int(planes[-1]) + 1
        bounds.append((start, stop))
        view = view[(slice(None),) * axis + (slice(start, stop),)]
    return tuple(slice(max(0, start - margin), min(labels.shape[axis], stop + margin))
                 for axis, (start, stop) in enumerate(bounds))


def label_values(labels: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``labels``, 0 included when present (``np.unique``), looked for inside the
    bounding box of the non-zero voxels only: everything outside it is 0."""
    box = bounding_box(labels)
    if box is None:
        return np.unique(labels)
    inside = labels[box]
    values = np.unique(inside)
    if inside.size < labels.size and not (values == 0).any():
        values = np.union1d(values, np.zeros(1, dtype=labels.dtype))
    return values
