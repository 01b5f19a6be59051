"""A small synthetic chest with an automatic region and lesions that are and are not coronary calcium."""

from __future__ import annotations

import numpy as np

from CoronaryCalciumLib.io.ct import CTMetadata, ct_from_array
from CoronaryCalciumLib.region.mask import region_from_array

SPACING = (0.5, 0.5, 3.0)


def chest(seed=0, noise_hu=20.0):
    """Fat (-100 HU) with soft tissue, lung and an aorta running up from the heart (slices 0-9) to slice 24; noise
    ``noise_hu`` (HU SD); an automatic region (with its heart and aorta masks) over all of it."""
    rng = np.random.default_rng(seed)
    array = np.full((25, 120, 120), -100.0, dtype=np.float32)
    array[:, :2, :] = -1000
    array[:, 60:100, 10:50] = 40  # soft tissue (myocardium-like)
    array[:, 10:40, 80:118] = -850  # lung
    yy, xx = np.mgrid[:120, :120]
    aorta = np.zeros(array.shape, dtype=bool)
    aorta[:, (yy - 95) ** 2 + (xx - 95) ** 2 <= 12 ** 2] = True
    array[aorta] = 40
    array[:, 2:, :] += rng.normal(0, noise_hu, size=(25, 118, 120))
    heart = np.zeros(array.shape, dtype=bool)
    heart[:10, 55:105, 5:55] = True
    blood = np.zeros(array.shape, dtype=np.uint8)
    blood[:, 65:95, 15:45] = 1
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 2:, :] = 1
    return array, labels, heart, aorta, blood


def build(array, labels, heart, aorta, blood, automatic=True):
    ct = ct_from_array(array, SPACING, metadata=CTMetadata(source="synthetic", kvp=120.0, slice_thickness_mm=3.0,
                                                            slice_increment_mm=3.0))
    region = region_from_array(labels, {1: "LAD"}, blood_pool=blood)
    if automatic:
        region.heart, region.aorta = heart, aorta
    return ct, region


def place_lesions(array):
    array[2, 20:26, 20:26] = 420  # calcified plaque in fat: coronary
    array[2, 75:78, 25:28] = 150  # faint density in soft tissue: noise
    array[2, 40:42, 90:96] = 300  # rim along the lung's border (lung starts at row 40 ... 10:40 above)
    array[22, 82:84, 106:110] = 380  # on the aortic wall 60 mm above the heart, far from the root
    return {"coronary": (2, 23, 23), "noise": (2, 76, 26), "rim": (2, 41, 93), "aortic": (22, 83, 108)}
