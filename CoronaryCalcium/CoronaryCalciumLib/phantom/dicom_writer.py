"""A phantom as a DICOM CT series (one file per slice, uncompressed), so the DICOM loading path is exercised.

Stored values are HU + 1024 (unsigned, 12 bits stored) with RescaleIntercept -1024 and RescaleSlope 1, like many
scanners. UIDs are derived from the case id, so the same case gives the same files. Slices are numbered from the top
(head) down, as in clinical calcium-scoring series.
"""

from __future__ import annotations

import os
from typing import List

import numpy as np

from ..io.atomic import atomic_path
from ..scoring.kernels import PHANTOM_MANUFACTURER

STUDY_DATE = "20240101"
STUDY_TIME = "120000"


def write_dicom_series(case, folder: str, description: str = "") -> List[str]:
    """Write ``case.image`` as ``folder/IM000001.dcm`` ...; returns the file paths."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    os.makedirs(folder, exist_ok=True)
    grid = case.grid
    meta = case.metadata
    config = case.config

    def uid(*parts) -> str:
        return generate_uid(entropy_srcs=["coronary-calcium-phantom", case.case_id, str(case.seed)] + [str(p) for p in parts])

    study_uid, series_uid, frame_uid = uid("study"), uid("series"), uid("frame")
    nz, ny, nx = grid.shape
    stored = (case.image.astype(np.int32) + 1024).clip(0, 4095).astype(np.uint16)
    paths = []
    for number, k in enumerate(range(nz - 1, -1, -1), start=1):
        z = grid.origin[2] + k * grid.spacing[2]
        sop_uid = uid("image", k)
        file_meta = FileMetaDataset()
        file_meta.MediaStorageSOPClassUID = CTImageStorage
        file_meta.MediaStorageSOPInstanceUID = sop_uid
        file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = file_meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = sop_uid
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = STUDY_DATE
        ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = STUDY_TIME
        ds.AccessionNumber = ""
        ds.Modality = "CT"
        ds.Manufacturer = meta.manufacturer or PHANTOM_MANUFACTURER
        ds.ManufacturerModelName = meta.model or "phantom"
        ds.InstitutionName = "synthetic"
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "Synthetic cardiac CT phantom"
        ds.SeriesDescription = description or meta.series_description or "phantom"
        ds.PatientName = case.case_id
        ds.PatientID = case.case_id
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.BodyPartExamined = "HEART" if config.variant == "cardiac" else "CHEST"
        ds.SliceThickness = _ds(grid.thickness_mm)
        ds.SpacingBetweenSlices = _ds(grid.spacing[2])
        ds.KVP = _ds(config.kvp)
        if meta.contrast_agent:  # (0018,0010) and route: what a contrast-enhanced CT records
            ds.ContrastBolusAgent = meta.contrast_agent[:64]
            ds.ContrastBolusRoute = "IV"
        ds.ConvolutionKernel = meta.kernel or "PHANTOM"
        ds.PatientPosition = "HFS"
        ds.ReconstructionDiameter = _ds(grid.spacing[0] * nx)
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = "1"
        ds.SeriesNumber = 2
        ds.AcquisitionNumber = 1
        ds.InstanceNumber = number
        ds.ImagePositionPatient = [_ds(grid.origin[0]), _ds(grid.origin[1]), _ds(z)]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.FrameOfReferenceUID = frame_uid
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = _ds(z)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ny
        ds.Columns = nx
        ds.PixelSpacing = [_ds(grid.spacing[1]), _ds(grid.spacing[0])]
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.PixelData = np.ascontiguousarray(stored[k]).tobytes()
        path = os.path.join(folder, "IM%06d.dcm" % number)
        with atomic_path(path) as temporary:
            pydicom.dcmwrite(temporary, ds, enforce_file_format=True)
        paths.append(path)
    return paths


def _ds(value: float) -> str:
    """A decimal string of at most 16 characters."""
    text = ("%.6f" % float(value)).rstrip("0").rstrip(".")
    return text[:16] if text not in ("", "-0") else "0"
