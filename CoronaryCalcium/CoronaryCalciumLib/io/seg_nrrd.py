"""Slicer segmentation files (.seg.nrrd) through slicerio: label maps on a CT grid in, named coloured segments out.

slicerio indexes voxels (i, j, k) = (x, y, z) and stacks overlapping layers first, (layer, i, j, k); this project keeps
(z, y, x) arrays, so the transposes happen here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .geometry import Geometry

@dataclass
class Segment:
    """A segment to write: name, boolean (z, y, x) mask on the grid, RGB colour in 0-1, optional terminology entry."""

    name: str
    mask: np.ndarray
    color: Tuple[float, float, float] = (0.9, 0.9, 0.2)
    terminology: Optional[str] = None


def _ijk_to_lps(geometry: Geometry) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(geometry.direction, dtype=float).reshape(3, 3) * np.asarray(geometry.spacing)
    matrix[:3, 3] = geometry.origin
    return matrix


def write_segmentation(path: str, geometry: Geometry, segments: Sequence[Segment]) -> None:
    """Write segments (masks on ``geometry``) as a Slicer .seg.nrrd; overlapping segments go to separate layers."""
    import slicerio
    from slicerio.segmentation import terminology_entry_from_string

    shape_ijk = tuple(reversed(geometry.shape))
    segmentation = slicerio.create_segmentation(shape_ijk, _ijk_to_lps(geometry))
    for segment in segments:
        fields = {"id": segment.name.replace(" ", "_"), "name": segment.name, "color": list(segment.color)}
        if segment.terminology:
            fields["terminology"] = terminology_entry_from_string(segment.terminology)
        slicerio.add_segment(segmentation, np.transpose(segment.mask.astype(bool), (2, 1, 0)), fields)
    slicerio.write_segmentation(path, segmentation)


def read_segmentation(path: str):
    """A .seg.nrrd as (SimpleITK label image, {label value: segment name}). Overlapping layers are merged, later
    segments winning where they overlap."""
    import SimpleITK as sitk
    import slicerio

    try:
        segmentation = slicerio.read_segmentation(path)
    except Exception as error:
        raise InputError("cannot read Slicer segmentation %s: %s" % (path, str(error).splitlines()[0][:160])) from None
    voxels = segmentation["voxels"]
    segments: List[Dict] = segmentation.get("segments", [])
    if voxels.ndim == 4:
        merged = np.zeros(voxels.shape[1:], dtype=np.uint16)
        names: Dict[int, str] = {}
        for index, segment in enumerate(segments, start=1):
            merged[voxels[int(segment.get("layer", 0))] == int(segment["labelValue"])] = index
            names[index] = segment.get("name", "segment %d" % index)
        voxels = merged
    else:
        names = {int(s["labelValue"]): s.get("name", "") for s in segments}
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(voxels, (2, 1, 0))))
    ijk_to_lps = np.asarray(segmentation["ijkToLPS"], dtype=float)
    spacing = np.linalg.norm(ijk_to_lps[:3, :3], axis=0)
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(v) for v in ijk_to_lps[:3, 3]))
    image.SetDirection(tuple(float(v) for v in (ijk_to_lps[:3, :3] / spacing).ravel()))
    return image, names
