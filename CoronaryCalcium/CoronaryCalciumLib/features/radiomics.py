"""pyradiomics features in the region of interest (settings: ``radiomics_params.yaml`` beside this file).

The CT is cropped to the region's bounding box plus a margin before pyradiomics sees it (a view of the numpy array, then
a copy of the crop only), so extraction time follows the region, not the scan. pyradiomics is imported only when
features are computed: it is optional in Slicer until installed.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, RegionError
from ..progress import Progress, silent
from .base import FeatureExtractor, PreparedInput

PARAMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "radiomics_params.yaml")
CROP_MARGIN_VOXELS = 4
INSTALL_HINT = ("pyradiomics is not installed: pip install numpy, then "
                "pip install --no-build-isolation pyradiomics==3.0.1 (needs setuptools and wheel)")


def load_params(path: str = PARAMS_FILE) -> Dict[str, Any]:
    """The pyradiomics parameter file as a dict (YAML read with ruamel.yaml, which pyradiomics brings)."""
    if not os.path.exists(path):
        raise InputError("radiomics parameter file not found: %s" % path)
    with open(path, "r", encoding="utf-8") as stream:
        text = stream.read()
    try:
        from ruamel.yaml import YAML

        params = YAML(typ="safe", pure=True).load(text)
    except ImportError:
        import yaml  # PyYAML, when ruamel.yaml is absent

        params = yaml.safe_load(text)
    if not isinstance(params, dict):
        raise InputError("%s is not a pyradiomics parameter file (expected a mapping)" % path)
    return _plain(params)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class CroppedRegion:
    """The CT and mask cut to the region's bounding box (+ margin), as SimpleITK images on the CT's geometry."""

    image: Any
    mask: Any
    voxels: int
    box_zyx: Tuple[slice, slice, slice]


class RadiomicsExtractor(FeatureExtractor):
    """pyradiomics shape, first-order and texture features of the (unioned) region of interest.

    ``labels``: which label values of the region to use (default all non-zero, i.e. the whole coronary tree or heart).
    """

    name = "radiomics"

    def __init__(self, params: Optional[Mapping[str, Any]] = None, labels: Optional[Sequence[int]] = None,
                 margin_voxels: int = CROP_MARGIN_VOXELS, fast_shape: bool = True):
        self.fast_shape = bool(fast_shape)  # same values either way (features/fast_shape.py), so not a setting
        self.params = _plain(dict(params)) if params is not None else load_params()
        self.labels = sorted(int(v) for v in labels) if labels else None
        self.margin_voxels = int(margin_voxels)

    @classmethod
    def from_settings(cls, settings: Optional[Mapping[str, Any]]) -> "RadiomicsExtractor":
        if not settings:
            return cls()
        return cls(params=settings.get("params"), labels=settings.get("labels"),
                   margin_voxels=int(settings.get("margin_voxels", CROP_MARGIN_VOXELS)))

    def settings(self) -> Dict[str, Any]:
        return {"params": copy.deepcopy(self.params), "labels": self.labels, "margin_voxels": self.margin_voxels,
                "pyradiomics": _pyradiomics_version()}

    # ------------------------------------------------------------------------------------------------------ prepare
    def crop(self, ct, region) -> CroppedRegion:
        """Cut ``ct`` (CTVolume) and ``region`` (RegionOfInterest) to the region's bounding box plus the margin."""
        import SimpleITK as sitk

        from ..io.geometry import Geometry, apply_geometry
        from ..region.mask import bounding_box

        labels = region.labels
        if labels.shape != ct.array.shape:
            raise RegionError("region of interest %s does not match the CT grid %s" % (labels.shape, ct.array.shape))
        box = bounding_box(labels, margin=self.margin_voxels)
        if box is None:
            raise RegionError("region of interest is empty: no features can be extracted (segmentation failed?)")
        label_crop = labels[box]
        if self.labels is None:
            mask_array = (label_crop > 0).astype(np.uint8)
        else:
            mask_array = np.isin(label_crop, self.labels).astype(np.uint8)
        voxels = int(np.count_nonzero(mask_array))
        if voxels == 0:
            raise RegionError("region of interest holds none of the labels %s: no features can be extracted"
                              % self.labels)
        start = (box[0].start, box[1].start, box[2].start)
        geometry = ct.geometry
        cropped_geometry = Geometry(shape=tuple(int(n) for n in mask_array.shape), spacing=geometry.spacing,
                                    origin=geometry.index_to_lps(start), direction=geometry.direction)
        image = sitk.GetImageFromArray(np.ascontiguousarray(ct.array[box]))
        apply_geometry(image, cropped_geometry)
        mask = sitk.GetImageFromArray(mask_array)
        apply_geometry(mask, cropped_geometry)
        return CroppedRegion(image=image, mask=mask, voxels=voxels, box_zyx=box)

    def prepare(self, ct, region) -> PreparedInput:
        import SimpleITK as sitk

        cropped = self.crop(ct, region)
        digest = hashlib.sha256()
        for image in (cropped.image, cropped.mask):
            array = sitk.GetArrayViewFromImage(image)
            digest.update(str((array.dtype.str, array.shape, image.GetSpacing(), image.GetOrigin(),
                               image.GetDirection())).encode("ascii"))
            digest.update(np.ascontiguousarray(array).tobytes())
        return PreparedInput(input_hash=digest.hexdigest(), data=cropped)

    # ------------------------------------------------------------------------------------------------------ compute
    def compute(self, prepared: PreparedInput, progress: Progress = silent) -> Dict[str, float]:
        cropped: CroppedRegion = prepared.data
        extractor = self._pyradiomics_extractor()
        label = int(self.params.get("setting", {}).get("label", 1))
        progress(0.1, "radiomics: %d voxels in region" % cropped.voxels)
        try:
            with self._shape_routine():
                raw = extractor.execute(cropped.image, cropped.mask, label=label)
        except ValueError as error:
            raise RegionError("region of interest (%d voxels) is too small or thin for radiomics: %s"
                              % (cropped.voxels, _first_line(error))) from None
        except RuntimeError as error:
            raise RegionError("radiomics failed on the region of interest (%d voxels): %s"
                              % (cropped.voxels, _first_line(error))) from None
        values = {name: _to_float(value) for name, value in raw.items() if not name.startswith("diagnostics_")}
        if not values:
            raise RegionError("radiomics returned no features for the region of interest (%d voxels)" % cropped.voxels)
        return values

    def _shape_routine(self):
        from contextlib import nullcontext

        from .fast_shape import fast_shape

        return fast_shape() if self.fast_shape else nullcontext()

    def _pyradiomics_extractor(self):
        try:
            import radiomics
            from radiomics import featureextractor
        except ImportError:
            raise InputError(INSTALL_HINT) from None
        logging.getLogger("radiomics").setLevel(logging.ERROR)
        radiomics.setVerbosity(logging.ERROR)
        return featureextractor.RadiomicsFeatureExtractor(copy.deepcopy(self.params))


def _pyradiomics_version() -> Optional[str]:
    try:
        from importlib.metadata import version

        return version("pyradiomics")
    except Exception:  # not installed: the settings still describe the request
        return None


def _to_float(value: Any) -> float:
    try:
        return float(np.asarray(value, dtype=float).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return float("nan")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
