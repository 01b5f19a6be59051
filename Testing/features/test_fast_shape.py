"""The fast shape routine gives pyradiomics' own values: every coefficient and all 107 features, stock vs fast, computed
side by side in each test (stock pyradiomics 3.0.1 is the reference, never a stored number)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("radiomics")

from support.classifier_cohort import make_case
from CoronaryCalciumLib.features import fast_shape
from CoronaryCalciumLib.features.radiomics import RadiomicsExtractor

RELATIVE = 1e-9


def _stock(mask, spacing):
    from radiomics import cShape

    return cShape.calculate_coefficients(mask, np.asarray(spacing, dtype=float))


def _assert_same_coefficients(mask, spacing):
    area, volume, diameters = _stock(mask, spacing)
    fast_area, fast_volume, fast_diameters = fast_shape.calculate_coefficients(mask, spacing)
    assert fast_area == pytest.approx(area, rel=RELATIVE, abs=1e-12)
    assert fast_volume == pytest.approx(volume, rel=RELATIVE, abs=1e-12)
    assert np.asarray(fast_diameters) == pytest.approx(np.asarray(diameters), rel=RELATIVE, abs=1e-12)


def _padded(inner):
    mask = np.zeros(np.asarray(inner.shape) + 2, dtype=bool)
    mask[1:-1, 1:-1, 1:-1] = inner
    return mask


@pytest.mark.parametrize("seed", range(8))
def test_random_blobs_get_pyradiomics_surface_volume_and_diameters(seed):
    rng = np.random.default_rng(seed)
    inner = rng.random(tuple(rng.integers(3, 16, size=3))) < rng.uniform(0.15, 0.9)
    _assert_same_coefficients(_padded(inner), tuple(rng.uniform(0.3, 3.0, size=3)))


def test_an_anisotropic_ellipsoid_shell_gets_pyradiomics_values():
    z, y, x = np.mgrid[:20, :34, :30]
    radius = ((z - 9.5) / 8.0) ** 2 + ((y - 16.2) / 15.0) ** 2 + ((x - 14.7) / 13.0) ** 2
    _assert_same_coefficients(_padded((radius < 1.0) & (radius > 0.6)), (3.0, 0.71, 0.68))


@pytest.mark.parametrize("inner", [
    np.ones((1, 6, 9), dtype=bool),           # one slice: all vertices of a plane are flat for the hull
    np.ones((1, 1, 7), dtype=bool),           # a line of voxels
    np.ones((1, 1, 1), dtype=bool),           # one voxel
    np.eye(6, dtype=bool)[None, :, :],        # a diagonal, face-disconnected staircase
])
def test_flat_thin_and_single_voxel_regions_get_pyradiomics_values(inner):
    _assert_same_coefficients(_padded(inner), (2.5, 0.8, 0.8))


def _features(ct, region, fast, params=None):
    return RadiomicsExtractor(params=params, fast_shape=fast).extract(ct, region).values


def _assert_same_features(stock, fast):
    assert set(stock) == set(fast)
    assert len(stock) == 107
    for name, value in stock.items():
        assert fast[name] == pytest.approx(value, rel=RELATIVE, abs=1e-12, nan_ok=True), name


def test_all_107_features_of_a_generated_case_are_unchanged():
    ct, region = make_case(seed=5, burden=3)
    _assert_same_features(_features(ct, region, fast=False), _features(ct, region, fast=True))


def test_all_107_features_of_the_ibsi_phantom_are_unchanged():
    from support.data import IBSI, data_path

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.region.mask import load_region

    ct = load_ct(data_path(os.path.join(IBSI, "nifti", "image", "phantom.nii.gz")))
    region = load_region(data_path(os.path.join(IBSI, "nifti", "mask", "mask.nii.gz")), ct)
    _assert_same_features(_features(ct, region, fast=False), _features(ct, region, fast=True))


def test_the_stock_routine_is_back_after_extraction():
    import radiomics.shape
    from radiomics import cShape

    ct, region = make_case(seed=2, burden=1)
    _features(ct, region, fast=True)
    assert radiomics.shape.cShape is cShape
