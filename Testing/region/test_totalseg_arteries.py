"""Artery attribution by geometry (artery_geometry): the heart frame's conventions on an analytic heart, and agreement
with the per-artery truth of synthetic phantoms (seeds not used when the rules were set: those were 0-9)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from CoronaryCalciumLib.region import artery_attribution
from CoronaryCalciumLib.region import totalseg_region
from CoronaryCalciumLib.io.geometry import Geometry
from CoronaryCalciumLib.region.mask import region_from_array


def _analytic_heart():
    """Ellipsoid heart along the usual long axis (left, anterior, inferior), aorta rising from its base."""
    spacing = (1.0, 1.0, 1.0)
    shape = (110, 120, 120)
    geometry = Geometry(shape=shape, spacing=spacing, origin=(-60.0, -60.0, -55.0))
    k, j, i = np.indices(shape)
    points = np.stack([i - 60.0, j - 60.0, k - 55.0], axis=-1)
    axis = artery_attribution.PRIOR_LONG_AXIS / np.linalg.norm(artery_attribution.PRIOR_LONG_AXIS)
    along = points @ axis
    across = np.linalg.norm(points - along[..., None] * axis, axis=-1)
    heart = (along / 50.0) ** 2 + (across / 35.0) ** 2 <= 1.0
    base = -axis * 30.0
    aorta_axis = np.linalg.norm((points - base)[..., :2], axis=-1)
    aorta = (aorta_axis <= 12.0) & (points[..., 2] >= base[2])
    return geometry, heart & ~aorta, aorta, axis


def test_frame_follows_the_heart_and_names_sides_in_patient_terms():
    geometry, heart, aorta, axis = _analytic_heart()
    frame = artery_attribution.heart_frame(heart, aorta, geometry)
    assert np.degrees(np.arccos(abs(frame.long_axis @ axis))) < 5.0  # the aorta cut out of the base tilts it a little
    assert frame.left[0] > 0.5  # +x is the patient's left in LPS
    assert frame.anterior[1] < -0.5  # -y is anterior
    assert frame.root is not None and frame.apex_level > frame.base_level + 20.0
    centre = frame.centroid
    mid = centre + frame.long_axis * (frame.base_level + 0.6 * (frame.apex_level - frame.base_level))
    probes = np.array([mid + frame.anterior * 30.0,  # anterior wall towards the apex: LAD
                       mid + frame.left * 30.0 + frame.anterior * -10.0,  # lateral wall: LCX (obtuse marginal)
                       mid - frame.anterior * 30.0,  # inferior wall (posterior interventricular groove): RCA
                       mid - frame.left * 30.0])  # right side: RCA
    labels = artery_attribution.classify_points(probes, frame)
    assert [artery_attribution.LABELS_BY_VALUE[v] for v in labels] == ["LAD", "LCX", "RCA", "RCA"]


def test_without_an_aorta_the_left_main_is_not_named():
    geometry, heart, _, _ = _analytic_heart()
    result = artery_attribution.assign_arteries(heart, heart, None, geometry)
    counts = result.voxel_counts()
    assert counts["LM"] == 0 and min(counts["LAD"], counts["LCX"], counts["RCA"]) > 0
    assert any("no aorta mask" in note for note in result.notes)


@pytest.fixture(scope="module")
def phantom_cases():
    from CoronaryCalciumLib.phantom import generate_case, small_config

    config = small_config(n_slices=60, burden="moderate")
    return [generate_case(seed, config, keep_anatomy=True) for seed in (200, 201, 202, 203)]


def test_coronary_voxels_get_their_artery_on_phantoms(phantom_cases):
    accuracies = []
    for case in phantom_cases:
        truth = case.coronary_labels_exact
        result = artery_attribution.assign_arteries(truth > 0, case.heart_mask > 0, case.aorta_mask > 0, case.ct.geometry)
        agreement = artery_attribution.evaluate(result.labels, truth)
        accuracies.append(agreement.accuracy)
        assert agreement.per_artery["LAD"] > 0.8 and agreement.per_artery["RCA"] > 0.8, agreement.summary()
    # held-out phantoms measured 84-97 % (mean 94 %); the lowest are left-dominant hearts, whose posterior descending
    # artery (LCX) the rules give to the RCA
    assert np.mean(accuracies) > 0.88 and min(accuracies) > 0.78, accuracies


def test_phantom_lesions_in_the_heart_shell_are_attributed_to_their_artery(phantom_cases):
    correct = total = 0
    for case in phantom_cases:
        heart, aorta, geometry = case.heart_mask > 0, case.aorta_mask > 0, case.ct.geometry
        shell = totalseg_region.heart_shell(heart, aorta, geometry, totalseg_region.TotalSegRegionSettings())
        assigned = artery_attribution.assign_arteries(shell, heart, aorta, geometry)
        region = region_from_array(assigned.labels, names=dict(totalseg_region.DEFAULT_LABELS))
        lesions, count = ndimage.label(case.lesion_labels > 0, structure=np.ones((3, 3, 3)))
        for index in range(1, count + 1):
            voxels = lesions == index
            given = np.bincount(region.labels[voxels], minlength=5)
            if given[1:].sum() == 0:
                continue  # outside the shell: a coverage matter, measured by bench_totalseg_regions
            true_artery = np.bincount(case.lesion_labels[voxels]).argmax()
            correct += int(given[1:].argmax() + 1 == true_artery)
            total += 1
    assert total >= 10
    assert correct / total >= 0.9, (correct, total)


def test_a_binary_user_mask_gets_artery_labels_and_a_labelled_one_is_kept(phantom_cases):
    case = phantom_cases[0]
    binary = region_from_array((case.coronary_labels_exact > 0).astype(np.uint8), source="user mask")
    assert not binary.has_artery_labels
    labelled = artery_attribution.label_region(binary, case.heart_mask > 0, case.aorta_mask > 0, case.ct.geometry)
    assert labelled.has_artery_labels and labelled.source == "user mask"
    assert np.array_equal(labelled.labels > 0, binary.labels > 0)
    assert any("geometry" in warning for warning in labelled.warnings)
    exact = case.coronary_region(exact=True)
    assert artery_attribution.label_region(exact, case.heart_mask > 0, None, case.ct.geometry) is exact
