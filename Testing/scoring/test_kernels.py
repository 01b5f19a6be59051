"""Reconstruction kernels are classed soft / sharp / very sharp from the DICOM name, vendor by vendor."""

from __future__ import annotations

import pytest

from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.scoring.kernels import SHARP, SOFT, UNKNOWN, VERY_SHARP, classify_kernel
from support.data import LIDC_THIN, LUNG1, QRM, data_path


@pytest.mark.parametrize("kernel, manufacturer, expected", [
    ("B19f", "SIEMENS", SOFT), ("B35f", "SIEMENS", SOFT), ("Qr36", "SIEMENS", SOFT), ("Br40", "SIEMENS", SOFT),
    ("B45f", "SIEMENS", SHARP), ("B70f", "SIEMENS", VERY_SHARP), ("Br64", "Siemens Healthineers", VERY_SHARP),
    (["Br38f", "3"], "SIEMENS", SOFT),
    ("STANDARD", "GE MEDICAL SYSTEMS", SOFT), ("DETAIL", "GE MEDICAL SYSTEMS", SHARP),
    ("BONEPLUS", "GE MEDICAL SYSTEMS", VERY_SHARP), ("LUNG", "GE MEDICAL SYSTEMS", VERY_SHARP),
    ("B", "Philips", SOFT), ("D", "Philips", SHARP), ("L", "Philips", VERY_SHARP), ("YA", "Philips", VERY_SHARP),
    ("FC12", "TOSHIBA", SOFT), ("FC35", "CANON_MEC", SHARP), ("FC52", "TOSHIBA", VERY_SHARP),
    ("FL03", "TOSHIBA", VERY_SHARP),
    ("B35f", "CoronaryCalcium phantom", SOFT), ("B50f", "CoronaryCalcium phantom", SHARP),
])
def test_vendor_kernel_names_are_classed_by_sharpness(kernel, manufacturer, expected):
    assert classify_kernel(kernel, manufacturer).sharpness == expected


def test_a_missing_or_unlisted_kernel_is_unknown_with_the_reason():
    missing = classify_kernel(None, "SIEMENS")
    assert missing.sharpness == UNKNOWN and "no ConvolutionKernel" in missing.reason
    odd = classify_kernel("MYSTERY9", "ACME")
    assert odd.sharpness == UNKNOWN and "MYSTERY9" in odd.reason and not odd.is_sharp


@pytest.mark.parametrize("folder, expected", [(LUNG1, SOFT), (QRM, SOFT), (LIDC_THIN, SHARP)])
def test_the_real_scans_kernels_are_read_from_their_headers(folder, expected):
    ct = load_ct(data_path(folder))
    assert classify_kernel(ct.metadata.kernel, ct.metadata.manufacturer).sharpness == expected
