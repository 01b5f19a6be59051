"""Writing a phantom case: NIfTI image and masks (same grid), truth JSON, and optionally a DICOM series.

Files in the case folder: ``image.nii.gz`` (int16 HU), ``coronary.nii.gz`` (uint8, 1=LM 2=LAD 3=LCX 4=RCA, with the
configured imperfections), ``coronary_exact.nii.gz``, ``heart.nii.gz``, ``aorta.nii.gz``, ``lesions.nii.gz`` (coronary
calcium truth labelled by artery), ``calcium_ids.nii.gz`` (uint16 id of every calcified object, coronary or not, as in
``truth.json``), ``truth.json``; with ``noise_free`` also ``image_noise_free.nii.gz``; with ``dicom`` a ``dicom/`` series.
"""

from __future__ import annotations

import os
from typing import Dict

import numpy as np

from ..io.atomic import atomic_path, write_text_atomic
from ..io.integrity import itk_writable_path

FILES = {
    "image": "image.nii.gz",
    "coronary": "coronary.nii.gz",
    "coronary_exact": "coronary_exact.nii.gz",
    "heart": "heart.nii.gz",
    "aorta": "aorta.nii.gz",
    "lesions": "lesions.nii.gz",
    "calcium_ids": "calcium_ids.nii.gz",
    "truth": "truth.json",
    "image_noise_free": "image_noise_free.nii.gz",
    "dicom": "dicom",
}


def write_volume(array: np.ndarray, grid, path: str) -> str:
    """Write a (z, y, x) array on ``grid`` as a compressed NIfTI (or any SimpleITK format by extension)."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing(tuple(float(s) for s in grid.spacing))
    image.SetOrigin(tuple(float(o) for o in grid.origin))
    with atomic_path(path) as temporary, itk_writable_path(temporary) as writable:
        sitk.WriteImage(image, writable, True)
    return path


def write_case(case, out_dir: str, dicom: bool = False, noise_free: bool = False) -> Dict[str, str]:
    """Write ``case`` into ``out_dir`` (created); returns {name: path} of what was written."""
    os.makedirs(out_dir, exist_ok=True)
    paths: Dict[str, str] = {}
    volumes = {
        "image": case.image,
        "coronary": case.coronary_labels,
        "coronary_exact": case.coronary_labels_exact,
        "heart": case.heart_mask,
        "aorta": case.aorta_mask,
        "lesions": case.lesion_labels,
        "calcium_ids": case.calcium_ids,
    }
    if noise_free:
        volumes["image_noise_free"] = case.image_noise_free
    for name, array in volumes.items():
        paths[name] = write_volume(array, case.grid, os.path.join(out_dir, FILES[name]))
    truth = case.truth.to_dict()
    truth["files"] = {name: os.path.basename(path) for name, path in paths.items()}
    if dicom:
        from .dicom_writer import write_dicom_series

        folder = os.path.join(out_dir, FILES["dicom"])
        write_dicom_series(case, folder)
        paths["dicom"] = folder
        truth["files"]["dicom"] = FILES["dicom"]
    import json

    paths["truth"] = os.path.join(out_dir, FILES["truth"])
    write_text_atomic(paths["truth"], json.dumps(truth, indent=1) + "\n")
    return paths
