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
