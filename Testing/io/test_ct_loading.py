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


# --- bad input that used to be scored silently (issue 13) ---

def _write_nifti(path, array, spacing=(0.7, 0.7, 3.0), direction=None):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    if direction is not None:
        image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return str(path)


def _small_ct_array(dtype=np.int16):
    array = np.full((20, 40, 40), 40, dtype=dtype)
    array[:, :3, :] = -1000
    array[8:10, 20:24, 20:24] = 400
    return array


@pytest.mark.parametrize("keep", [0.33, 0.8])
def test_a_truncated_nifti_gz_is_refused_as_truncated(tmp_path, keep):
    whole = _write_nifti(tmp_path / "ct.nii.gz", _small_ct_array())
    data = open(whole, "rb").read()
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError, match="truncated"):
        load_ct(str(cut))


def test_a_truncated_uncompressed_nifti_is_refused_with_its_byte_count(tmp_path):
    whole = _write_nifti(tmp_path / "ct.nii", _small_ct_array())
    data = open(whole, "rb").read()
    cut = tmp_path / "cut.nii"
    cut.write_bytes(data[: len(data) - 100])
    with pytest.raises(InputError, match="truncated: %d of the %d bytes" % (len(data) - 100, len(data))):
        load_ct(str(cut))


def test_a_nifti_whose_header_says_zero_spacing_is_refused_not_read_at_1_mm(tmp_path):
    import struct

    whole = _write_nifti(tmp_path / "ct.nii", _small_ct_array())
    header = bytearray(open(whole, "rb").read())
    header[76 + 12:76 + 16] = struct.pack("<f", 0.0)  # pixdim[3], the slice spacing
    zero = tmp_path / "zero.nii"
    zero.write_bytes(bytes(header))
    with pytest.raises(InputError, match="spacing 0.7x0.7x0 mm"):
        load_ct(str(zero))


def test_nan_voxels_in_a_nifti_are_counted_not_read_as_water(tmp_path):
    array = _small_ct_array(np.float32)
    array[1, 1, 1] = np.nan
    array[2, 1, 1] = np.inf
    ct = load_ct(_write_nifti(tmp_path / "nan.nii.gz", array))
    assert np.isnan(ct.array[1, 1, 1]) and not np.isfinite(ct.array[2, 1, 1])
    assert any(w.startswith("2 voxel(s) are NaN or infinite") for w in ct.warnings)


def test_an_oblique_volume_is_scored_with_a_warning_naming_its_angle(tmp_path):
    import math

    angle = math.radians(25)
    direction = (1, 0, 0, 0, math.cos(angle), -math.sin(angle), 0, math.sin(angle), math.cos(angle))
    ct = load_ct(_write_nifti(tmp_path / "tilted.nii.gz", _small_ct_array(), direction=direction))
    assert any("tilted 25.0 degrees off axial" in w for w in ct.warnings)
    axial = load_ct(_write_nifti(tmp_path / "axial.nii.gz", _small_ct_array()))
    assert not any("off axial" in w for w in axial.warnings)


def test_an_extra_slice_from_another_acquisition_under_the_same_series_uid_is_warned_about(tmp_path):
    folder = tmp_path / "series"
    shutil.copytree(data_path(QRM), folder)
    headers = sorted(((pydicom.dcmread(str(f)), f) for f in folder.iterdir() if f.is_file()),
                     key=lambda pair: float(pair[0].ImagePositionPatient[2]))
    top, _path = headers[-1]
    top.ImagePositionPatient[2] = float(top.ImagePositionPatient[2]) + 3.0  # on the grid: no spacing warning
    top.AcquisitionNumber, top.ConvolutionKernel = 9, "FC52"
    top.SOPInstanceUID = pydicom.uid.generate_uid()
    top.save_as(str(folder / "extra"))
    ct = load_ct(str(folder))
    assert ct.array.shape[0] == 48
    assert any("differ in acquisition number (3 in 47 slice(s), 9 in 1 slice(s))" in w for w in ct.warnings)
    assert any("differ in kernel" in w for w in ct.warnings)
    assert not any("differ in" in w for w in load_ct(data_path(QRM)).warnings)


def test_a_slice_with_another_pixel_spacing_under_the_same_series_uid_is_refused(tmp_path):
    from support.synthetic import write_dicom_series

    folder = write_dicom_series(str(tmp_path / "series"), _small_ct_array()[:6])
    last = os.path.join(folder, "IM0005")
    ds = pydicom.dcmread(last)
    ds.PixelSpacing = [0.5, 0.5]
    ds.save_as(last)
    with pytest.raises(InputError, match="mixes pixel spacings"):
        load_ct(folder)


def test_each_dicom_file_of_a_series_is_parsed_once_and_gives_the_same_volume(tmp_path, monkeypatch):
    from support.synthetic import write_dicom_series

    array = _small_ct_array()
    folder = write_dicom_series(str(tmp_path / "series"), array)
    opened = []
    real_dcmread = pydicom.dcmread

    def counting_dcmread(path, *args, **kwargs):
        opened.append(path)
        return real_dcmread(path, *args, **kwargs)

    monkeypatch.setattr(pydicom, "dcmread", counting_dcmread)  # counts the parses; the loader itself runs unchanged
    ct = load_ct(folder)
    assert len(opened) == len(os.listdir(folder)) == array.shape[0]
    assert np.array_equal(ct.array, array)
