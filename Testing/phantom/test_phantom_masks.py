"""Bone and calcium outside the coronary arteries lie outside the coronary mask; imperfect masks are imperfect."""

from __future__ import annotations

import numpy as np
import pytest

from CoronaryCalciumLib.phantom import MaskImperfections, generate_case, small_config


@pytest.fixture(scope="module")
def case():
    config = small_config(burden="severe", aortic_calcium=True, valve_calcium=True, mitral_calcium=True,
                          imperfections=MaskImperfections(enabled=True, missing_distal_probability=1.0,
                                                          dilate_probability=1.0, shift_probability=0.0))
    return generate_case(8, config)


def test_case_has_calcium_outside_the_coronaries(case):
    kinds = {o["kind"] for o in case.truth.objects}
    assert "coronary" in kinds
    assert kinds & {"aortic_wall", "aortic_valve", "mitral_annulus"}


def test_extracoronary_calcium_is_outside_the_coronary_mask(case):
    coronary = case.coronary_labels_exact > 0
    for item in case.truth.objects:
        if not item["coronary"]:
            footprint = case.calcium_ids == item["id"]
            assert not (footprint & coronary).any(), "%s calcium inside the coronary mask" % item["kind"]


def test_bone_is_outside_the_coronary_mask(case):
    image = case.image_noise_free
    calcium = case.calcium_ids > 0
    bright_not_calcium = (image >= 130) & ~calcium
    assert bright_not_calcium.sum() > 1000  # spine, ribs and sternum
    assert not (bright_not_calcium & (case.coronary_labels_exact > 0)).any()


def test_only_coronary_plaques_reach_threshold_inside_the_mask(case):
    inside = (case.image_noise_free >= 130) & (case.coronary_labels_exact > 0)
    assert inside.any()
    assert (case.lesion_labels[inside] > 0).all()


def test_imperfect_mask_differs_and_keeps_artery_labels(case):
    exact, written = case.coronary_labels_exact, case.coronary_labels
    assert case.truth.mask_imperfections
    assert not np.array_equal(exact, written)
    assert set(np.unique(written)) <= {0, 1, 2, 3, 4}
    # missing distal segments remove voxels that dilation cannot give back
    assert ((exact > 0) & (written == 0)).any()
    overlap = ((exact > 0) & (written > 0)).sum() / (exact > 0).sum()
    assert 0.3 < overlap < 1.0
