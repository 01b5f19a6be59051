"""Lesions in an automatic region that are not coronary calcium are listed apart with their reason."""

from __future__ import annotations

import pytest

from CoronaryCalciumLib.scoring.agatston import score, scoring_settings
from support.chest_lesions import build, chest, place_lesions


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


def test_calcium_beside_the_aortic_root_at_the_height_of_the_ostia_counts_as_coronary():
    array, labels, heart, aorta, blood = chest()
    places = place_lesions(array)
    array[13, 82:84, 106:110] = 380  # against the aortic wall 39 mm up the root (the phantoms' ostia: 31-34 mm)
    ct, region = build(array, labels, heart, aorta, blood)
    result = score(ct, region)
    ostial = find(result, (13, 83, 108))
    assert ostial.excluded is None and ostial in result.lesions  # 32 mm from the root's centre: cut by the old rule
    assert find(result, places["aortic"]).excluded.startswith("aortic_wall")  # 66 mm up: the ascending aorta


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


@pytest.mark.parametrize("noise_hu, counted", [(20.0, True), (45.0, False)])
def test_a_faint_spot_in_fat_counts_at_scoring_noise_but_not_when_noise_could_have_made_it(noise_hu, counted):
    array, labels, heart, aorta, blood = chest(noise_hu=noise_hu)
    places = place_lesions(array)
    array[2, 20:24, 60:64] = 170  # 2 x 2 mm, faint, in fat
    ct, region = build(array, labels, heart, aorta, blood)
    result = score(ct, region)
    spot = find(result, (2, 21, 61))
    assert (spot.excluded is None) == counted
    if not counted:
        assert spot.excluded.startswith("below_noise") and "Rose" in spot.excluded
        assert not result.image_quality.reliable
    assert find(result, places["coronary"]).excluded is None  # 420 HU stands far above either noise
    assert result.image_quality.blood_pool_hu == pytest.approx(40, abs=5)


@pytest.mark.parametrize("air_sides, counted", [(("left", "right"), False), (("right",), True)])
def test_a_dense_spot_in_a_wall_between_two_air_spaces_is_left_out_but_one_beside_air_on_one_side_counts(
        air_sides, counted):
    array, labels, heart, aorta, blood = chest()
    bands = {"left": slice(60, 62), "right": slice(74, 76)}  # 2.5 mm either side of the spot: beyond air_rim's reach
    for side in air_sides:
        array[4, 102:118, bands[side]] = -900
    array[4, 108:112, 66:70] = 300
    ct, region = build(array, labels, heart, aorta, blood)
    spot = find(score(ct, region), (4, 110, 68))
    assert (spot.excluded is None) == counted
    if not counted:
        assert spot.excluded.startswith("between_air")


def test_the_noise_rule_keeps_every_insert_of_the_real_qrm_phantom():
    """QRM inserts (200-800 mg HA/cm3, 1-5 mm) in resin of 69 HU with 25 HU noise: the Rose-criterion rule, given the
    resin around the rod as the blood pool, must leave every scoring insert as it is."""
    import numpy as np

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.region.mask import region_from_array
    from CoronaryCalciumLib.scoring import qrm
    from CoronaryCalciumLib.scoring.calibration import calibrate_auto, rod_regions
    from support.data import QRM, data_path

    scan = load_ct(data_path(QRM))
    _rod, resin = rod_regions(scan, calibrate_auto(scan).rod)
    for insert in qrm.locate_inserts(scan):
        mask = qrm.insert_region(scan, insert)
        plain = score(scan, region_from_array(mask))
        filtered = score(scan, region_from_array(mask, blood_pool=resin.astype(np.uint8)),
                         scoring_settings(lesion_filters="on"))
        assert filtered.image_quality.noise_hu > 20 and filtered.image_quality.blood_pool_hu > 50
        assert not [l for l in filtered.excluded_lesions if l.excluded.startswith("below_noise")], insert.name
        assert len(filtered.lesions) + len(filtered.excluded_lesions) == len(plain.lesions), insert.name
