"""Lesions in an automatic region that are not coronary calcium are listed apart with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from CoronaryCalciumLib.io.ct import CTMetadata, ct_from_array
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.scoring.agatston import score, scoring_settings

SPACING = (0.5, 0.5, 3.0)


def chest(seed=0):
    """Fat (-100 HU) with soft tissue, lung and an aorta running up from the heart (slices 0-9) to slice 24; noise
    20 HU; an automatic region (with its heart and aorta masks) over all of it."""
    rng = np.random.default_rng(seed)
    array = np.full((25, 120, 120), -100.0, dtype=np.float32)
    array[:, :2, :] = -1000
    array[:, 60:100, 10:50] = 40  # soft tissue (myocardium-like)
    array[:, 10:40, 80:118] = -850  # lung
    yy, xx = np.mgrid[:120, :120]
    aorta = np.zeros(array.shape, dtype=bool)
    aorta[:, (yy - 95) ** 2 + (xx - 95) ** 2 <= 12 ** 2] = True
    array[aorta] = 40
    array[:, 2:, :] += rng.normal(0, 20, size=(25, 118, 120))
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


def find(result, voxel):
    lesion_id = int(result.lesion_label_volume()[voxel])
    assert lesion_id, "no lesion at %s" % (voxel,)
    return next(l for l in result.lesions + result.excluded_lesions if l.id == lesion_id)


def test_noise_in_soft_tissue_rims_at_air_and_aortic_wall_are_left_out_with_reasons():
    array, labels, heart, aorta, blood = chest()
    places = place_lesions(array)
    ct, region = build(array, labels, heart, aorta, blood)
    result = score(ct, region)
    coronary = find(result, places["coronary"])
    assert coronary.excluded is None and coronary in result.lesions
    assert find(result, places["noise"]).excluded.startswith("soft_tissue_noise")
    assert find(result, places["rim"]).excluded.startswith("air_rim")
    assert find(result, places["aortic"]).excluded.startswith("aortic_wall")
    assert result.agatston == pytest.approx(sum(l.agatston for l in result.lesions))
    assert result.per_artery["LAD"].agatston == pytest.approx(result.agatston)
    assert all(l.id > len(result.lesions) for l in result.excluded_lesions)
    artery_map = result.artery_label_volume()
    assert artery_map[places["coronary"]] > 0 and artery_map[places["noise"]] == 0
    data = result.to_dict()
    assert {l["excluded"].split(":")[0] for l in data["excluded_lesions"]} == {"soft_tissue_noise", "air_rim",
                                                                               "aortic_wall"}
    assert all("excluded" not in l for l in data["lesions"])


def test_with_the_filters_off_every_lesion_counts_again():
    array, labels, heart, aorta, blood = chest()
    place_lesions(array)
    ct, region = build(array, labels, heart, aorta, blood)
    filtered = score(ct, region)
    everything = score(ct, region, scoring_settings(lesion_filters="off"))
    assert not everything.excluded_lesions
    assert len(everything.lesions) == len(filtered.lesions) + len(filtered.excluded_lesions)
    assert everything.agatston == pytest.approx(filtered.agatston + sum(l.agatston for l in filtered.excluded_lesions))


def test_a_region_the_user_drew_is_not_filtered_unless_asked():
    array, labels, heart, aorta, blood = chest()
    place_lesions(array)
    ct, region = build(array, labels, heart, aorta, blood, automatic=False)
    assert not score(ct, region).excluded_lesions
    assert score(ct, region, scoring_settings(lesion_filters="on")).excluded_lesions
