"""Loading real CT: DICOM (plain, extension-less, JPEG 2000), NIfTI; geometry and metadata checked against the headers."""

from __future__ import annotations

import glob
import os
import shutil

import numpy as np
import pydicom
import pytest

from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.errors import InputError
from support.data import JPEG2000_SERIES, LIDC_THIN, LUNG1, QRM, TS_EXAMPLES, data_path


def _sorted_headers(folder):
    files = [f for f in glob.glob(os.path.join(folder, "*")) if os.path.isfile(f)]
    headers = [pydicom.dcmread(f) for f in files]
    return sorted(headers, key=lambda ds: float(ds.ImagePositionPatient[2]))


def test_real_chest_ct_loads_with_its_geometry():
    ct = load_ct(data_path(LUNG1))
    headers = _sorted_headers(LUNG1)
    first = headers[0]
    assert ct.array.shape == (134, 512, 512)
    assert ct.geometry.spacing == pytest.approx((0.9765625, 0.9765625, 3.0))
    assert ct.geometry.origin == pytest.approx([float(v) for v in first.ImagePositionPatient])
    assert ct.geometry.direction == pytest.approx((1, 0, 0, 0, 1, 0, 0, 0, 1))
    # voxel values are HU: stored value x slope + intercept of the same slice
    middle = headers[67]
    expected = middle.pixel_array.astype(np.int32) * int(middle.RescaleSlope) + int(middle.RescaleIntercept)
    assert np.array_equal(ct.array[67], expected)
    # a voxel's LPS position matches the DICOM position of its slice
    assert ct.geometry.index_to_lps((67, 0, 0)) == pytest.approx([float(v) for v in middle.ImagePositionPatient])
    meta = ct.metadata
    assert (meta.kvp, meta.slice_thickness_mm, meta.slice_increment_mm) == (120.0, 3.0, 3.0)
    assert meta.manufacturer == "SIEMENS" and meta.contrast_agent is None
    assert ct.warnings == []


def test_extension_less_dicom_with_stored_hu_loads():
    ct = load_ct(data_path(QRM))
    assert ct.array.shape == (47, 512, 512)
    assert ct.array.dtype == np.int16
    assert ct.array.min() == -2048  # stored values are HU already (intercept 0, signed)
    assert ct.metadata.manufacturer == "TOSHIBA" and ct.metadata.kvp == 120.0
    assert ct.geometry.spacing == pytest.approx((0.488, 0.488, 3.0))


def test_jpeg2000_series_with_empty_series_uid_loads():
    ct = load_ct(data_path(JPEG2000_SERIES))
    headers = _sorted_headers(JPEG2000_SERIES)
    assert headers[0].file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.90"
    assert ct.array.shape == (20, 512, 512)
    expected = headers[5].pixel_array.astype(np.int32) + int(headers[5].RescaleIntercept)
    assert np.array_equal(ct.array[5], expected)
    assert ct.metadata.contrast_agent == "APPLIED"
    assert ct.metadata.slice_increment_mm == pytest.approx(2.0)
    assert any("overlapping reconstruction" in w for w in ct.warnings)


def test_thin_slice_series_measures_its_increment():
    ct = load_ct(data_path(LIDC_THIN))
    assert ct.array.shape[0] == 275
    positions = sorted(float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2])
                       for f in glob.glob(os.path.join(LIDC_THIN, "*.dcm")))
    assert ct.metadata.slice_increment_mm == pytest.approx(float(np.median(np.diff(positions))))
    assert any("thin slices" in w for w in ct.warnings)


def test_single_dicom_file_loads_its_whole_series():
    one_file = sorted(glob.glob(os.path.join(data_path(LUNG1), "*")))[10]
    assert load_ct(one_file).array.shape == (134, 512, 512)


def test_nifti_loads_with_geometry():
    path = os.path.join(data_path(TS_EXAMPLES), "example_ct.nii.gz")
    import SimpleITK as sitk

    reference = sitk.ReadImage(path)
    ct = load_ct(path)
    assert ct.array.shape == tuple(reversed(reference.GetSize()))
    assert ct.geometry.origin == pytest.approx(reference.GetOrigin())
    assert ct.geometry.direction == pytest.approx(reference.GetDirection())
    assert ct.metadata.format == "NIfTI" and ct.metadata.kvp is None


def _copy_series(source, target, count=None):
    os.makedirs(target, exist_ok=True)
    files = sorted(glob.glob(os.path.join(source, "*")), key=lambda f: float(
        pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))
    for path in files[:count] if count else files:
        shutil.copy(path, target)
    return target


def test_folder_with_several_series_picks_the_largest_ct_and_allows_choosing(tmp_path):
    root = tmp_path / "study"
    _copy_series(data_path(QRM), str(root / "a"), count=10)
    small = _copy_series(data_path(LUNG1), str(root / "b"), count=4)
    ct = load_ct(str(root))
    assert ct.metadata.manufacturer == "TOSHIBA"
    assert any("using the CT series with the most slices" in w for w in ct.warnings)
    uid = str(pydicom.dcmread(glob.glob(os.path.join(small, "*"))[0]).SeriesInstanceUID)
    assert load_ct(str(root), series_uid=uid).array.shape == (4, 512, 512)
    with pytest.raises(InputError, match="not found"):
        load_ct(str(root), series_uid="1.2.3")


def test_calcium_is_found_in_the_heart_of_the_real_chest_ct():
    """LUNG1-001 has visibly calcified coronary arteries (no reference score exists): in a heart-sized region (an
    ellipsoid of 130 x 110 x 120 mm around the heart) the pipeline must find dense calcified lesions, and the
    unenhanced blood must not be taken for contrast."""
    from CoronaryCalciumLib.region.mask import region_from_array
    from CoronaryCalciumLib.scoring.agatston import score

    ct = load_ct(data_path(LUNG1))
    z, y, x = np.ogrid[: ct.array.shape[0], : ct.array.shape[1], : ct.array.shape[2]]
    sx, sy, sz = ct.spacing
    heart = ((((x - 265) * sx / 65) ** 2 + ((y - 250) * sy / 55) ** 2 + ((z - 52) * sz / 60) ** 2) <= 1)
    result = score(ct, region_from_array(heart.astype(np.uint8)))
    assert result.settings["contrast_check_median_hu"] < 80
    dense = [lesion for lesion in result.lesions if lesion.peak_hu >= 400 and lesion.agatston >= 10]
    assert len(dense) >= 3
    assert result.category.classic in ("moderate", "severe")
