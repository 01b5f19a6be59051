"""result.RegionSummary: the region part of an assessment, typed, and its JSON unchanged."""

from __future__ import annotations

import json

import numpy as np

from CoronaryCalciumLib.io.ct import CTMetadata
from CoronaryCalciumLib.pipeline import assess
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.result import Assessment, RegionSummary
from CoronaryCalciumLib.scoring.agatston import score
from support.synthetic import as_ct, blank_ct

SPACING = (0.5, 0.5, 3.0)


def _case():
    array, meta = blank_ct(shape=(6, 40, 40), spacing=SPACING)
    array[2:4, 8:14, 8:14] = 400
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 4:20, :] = 2
    labels[:, 20:36, :] = 10  # an unnamed value: unassigned
    return assess(as_ct(array, meta, SPACING), region_from_array(labels, {2: "LAD", 10: "unassigned"},
                                                                 source="labels"))


def test_the_region_of_an_assessment_is_typed_and_written_as_before():
    case = _case()
    assert case.region == RegionSummary(source="labels", voxels=6 * 32 * 40, labels={2: "LAD", 10: "unassigned"})
    # the JSON form of schema 1-3: labels keyed by the value as text, in numeric order
    assert case.to_dict()["region"] == {"source": "labels", "voxels": 7680, "labels": {"2": "LAD", "10": "unassigned"}}
    assert list(json.loads(case.to_json())["region"]["labels"]) == ["2", "10"]


def test_the_region_reads_back_from_json_to_the_same_json():
    case = _case()
    text = case.to_json()
    again = Assessment.from_dict(json.loads(text))
    assert again.region == case.region
    assert again.to_dict()["region"] == json.loads(text)["region"]


def test_an_assessment_without_a_region_writes_an_empty_object_and_reads_it_back_as_none():
    array, meta = blank_ct()
    ct = as_ct(array, meta, SPACING)
    labels = np.ones(array.shape, dtype=np.uint8)
    bare = Assessment(case_id="bare", ct=CTMetadata(), score=score(ct, region_from_array(labels)))
    assert bare.region is None and bare.to_dict()["region"] == {}
    assert Assessment.from_dict(json.loads(bare.to_json())).region is None
