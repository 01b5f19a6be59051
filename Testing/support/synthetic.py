"""Tiny synthetic CT volumes with exactly known calcium, for rule-by-rule tests."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from CoronaryCalciumLib.io.ct import CTMetadata, ct_from_array
from CoronaryCalciumLib.region.mask import region_from_array


def blank_ct(shape=(6, 40, 40), spacing=(0.5, 0.5, 3.0), background=40, kvp=120.0, thickness=None):
    """Soft tissue (``background`` HU) with an air border so the volume validates as CT in HU."""
    array = np.full(shape, background, dtype=np.int16)
    array[:, :2, :] = -1000
    meta = CTMetadata(source="synthetic", format="array", kvp=kvp, slice_thickness_mm=thickness or spacing[2],
                      slice_increment_mm=spacing[2])
    return array, meta


def as_ct(array, meta, spacing: Sequence[float]):
    return ct_from_array(array, spacing, metadata=meta)


def full_region(shape, label=1, names=None):
    labels = np.zeros(shape, dtype=np.uint8)
    labels[:, 2:, :] = label
    return region_from_array(labels, names)


def write_dicom_series(folder, array, spacing=(0.7, 0.7, 3.0), origin=(-100.0, -100.0, 0.0), patient_name="DOE^JANE",
                       patient_id="PID-12345", modality="CT", kvp=120):
    """Write a (z, y, x) HU array as a minimal uncompressed CT series (one file per slice, intercept -1024)."""
    import os

    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    os.makedirs(folder, exist_ok=True)
    series_uid, study_uid = generate_uid(), generate_uid()
    for index, plane in enumerate(array):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.PatientName, ds.PatientID, ds.KVP = modality, patient_name, patient_id, kvp
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.StudyDate, ds.Manufacturer, ds.SliceThickness = "20260101", "SYNTHETIC", spacing[2]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + index * spacing[2]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = (plane.astype(np.int32) + 1024).clip(0, 65535).astype(np.uint16).tobytes()
        ds.save_as(os.path.join(folder, "IM%04d" % index), enforce_file_format=True)
    return folder
