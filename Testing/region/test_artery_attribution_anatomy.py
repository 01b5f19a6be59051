"""Artery attribution that follows the anatomy: the left main from the aortic wall, calcium that keeps the artery of
the calcium next to it where the geometry is open, and the coronary task's mask read from an existing TotalSegmentator
output. On generated phantoms (seeds 400-402, not used when the rules were set)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from CoronaryCalciumLib.region import artery_attribution
from CoronaryCalciumLib.region import totalseg_region
from CoronaryCalciumLib.region.artery_attribution import LABELS


@pytest.fixture(scope="module")
def phantoms():
    from CoronaryCalciumLib.phantom import generate_case, small_config

    config = small_config(n_slices=60, burden="moderate")
    return [generate_case(seed, config, keep_anatomy=True) for seed in (400, 401, 402)]


def test_the_left_main_is_found_next_to_the_aortic_root_without_taking_the_lad_or_lcx(phantoms):
    for case in phantoms:
        truth = case.coronary_labels_exact
        assigned = artery_attribution.assign_arteries(truth > 0, case.heart_mask > 0, case.aorta_mask > 0,
                                                      case.ct.geometry)
        agreement = artery_attribution.evaluate(assigned.labels, truth)
        assert agreement.per_artery["LM"] > 0.8, agreement.summary()
        assert agreement.per_artery["LAD"] > 0.85 and agreement.per_artery["LCX"] > 0.85, agreement.summary()
        given_lm = assigned.labels == LABELS["LM"]
        assert np.count_nonzero(given_lm & (truth == LABELS["LM"])) > 0.5 * np.count_nonzero(given_lm)


def _surface_band(case, frame, heart_mm, heights):
    """Shell voxels on the heart surface (0-3 mm outside the heart mask) at heights ``heights`` (t): (indices, phi in
    degrees, 0-360)."""
    shell = totalseg_region.heart_shell(case.heart_mask > 0, case.aorta_mask > 0, case.ct.geometry,
                                        totalseg_region.TotalSegRegionSettings())
    indices = np.argwhere(shell & (heart_mm > 0) & (heart_mm <= 3.0))
    height, phi = frame.coordinates(artery_attribution._points_lps(indices, case.ct.geometry))
    keep = (height > heights[0]) & (height < heights[1])
    return shell, indices[keep], phi[keep] % 360.0


def _scene(case, heights, boundary, gap_mm, long_side):
    """The case's CT without its own calcium, and two calcifications painted (400 HU) on the heart surface at
    ``heights``: a long one over 40 degrees on the ``long_side`` (+1 or -1) of the angle ``boundary``, and a small one
    (about 3 mm) about ``gap_mm`` beyond its end, across the boundary. Returns (image, shell, small one's voxels)."""
    geometry = case.ct.geometry
    heart = case.heart_mask > 0
    frame = artery_attribution.heart_frame(heart, case.aorta_mask > 0, geometry)
    spacing = (geometry.spacing[2], geometry.spacing[1], geometry.spacing[0])
    heart_mm = ndimage.distance_transform_edt(~heart, sampling=spacing)
    shell, indices, phi = _surface_band(case, frame, heart_mm, heights)
    offset = long_side * ((phi - boundary + 180.0) % 360.0 - 180.0)  # degrees from the boundary, long side positive
    points = artery_attribution._points_lps(indices, geometry) - frame.centroid
    radius = np.median(np.linalg.norm(points - np.outer(points @ frame.long_axis, frame.long_axis), axis=1))
    per_mm = np.degrees(1.0 / radius)
    image = np.minimum(case.image, 100).astype(np.int16)
    long_one = indices[(offset >= 1.0) & (offset < 41.0)]
    small = indices[(offset >= 1.0 - (gap_mm + 3.0) * per_mm) & (offset < 1.0 - gap_mm * per_mm)]
    image[tuple(long_one.T)] = 400
    image[tuple(small.T)] = 400
    return image, shell, small


RULES = artery_attribution.AttributionRules()
# (where, heights t, boundary angle, side of the long calcification, its artery, the small one's artery by position)
SPLITS = [
    ("lateral wall, LAD diagonals / LCX marginals", (0.45, 0.6), RULES.lad_left_deg, +1, "LCX", "LAD"),
    ("posterior crux, LCX / RCA", (0.1, 0.2), RULES.posterior_split_deg, -1, "LCX", "RCA"),
]


def _artery_of(labels, voxels):
    return artery_attribution.LABELS_BY_VALUE[int(np.bincount(labels[tuple(voxels.T)], minlength=5)[1:].argmax()) + 1]


@pytest.mark.parametrize("where, heights, boundary, long_side, artery, by_position", SPLITS,
                         ids=[split[0] for split in SPLITS])
def test_a_calcification_across_an_artery_boundary_keeps_the_artery_of_the_calcium_next_to_it(
        phantoms, where, heights, boundary, long_side, artery, by_position):
    case = phantoms[0]
    geometry = case.ct.geometry
    image, shell, small = _scene(case, heights, boundary, 3.0, long_side)
    _components, count = ndimage.label(image >= 130, structure=np.ones((3, 3, 3)))
    assert count == 2 and len(small) >= 3  # two separate calcifications, a few mm apart
    heart, aorta = case.heart_mask > 0, case.aorta_mask > 0
    by_geometry = artery_attribution.assign_arteries(shell, heart, aorta, geometry)
    assert _artery_of(by_geometry.labels, small) == by_position  # its position alone
    followed = artery_attribution.assign_arteries(shell, heart, aorta, geometry, image=image)
    assert _artery_of(followed.labels, small) == artery
    assert any("continuity" in note for note in followed.notes)
    changed = followed.labels != by_geometry.labels
    assert changed.any() and np.all(followed.labels[changed] == LABELS[artery])
    small_mask = np.zeros(shell.shape, dtype=bool)
    small_mask[tuple(small.T)] = True
    rim = ndimage.binary_dilation(small_mask, structure=np.ones((3, 3, 3)))
    assert not (changed & ~rim).any()  # the calcification and its one-voxel rim, not the territory


@pytest.mark.parametrize("where, heights, boundary, long_side, artery, by_position", SPLITS,
                         ids=[split[0] for split in SPLITS])
def test_a_calcification_far_from_other_calcium_keeps_the_artery_of_its_position(
        phantoms, where, heights, boundary, long_side, artery, by_position):
    case = phantoms[0]
    image, shell, small = _scene(case, heights, boundary, 12.0, long_side)
    followed = artery_attribution.assign_arteries(shell, case.heart_mask > 0, case.aorta_mask > 0, case.ct.geometry,
                                                  image=image)
    assert _artery_of(followed.labels, small) == by_position


@pytest.mark.parametrize("index", [1, 2])
def test_the_coronary_task_mask_from_an_existing_output_gets_arteries_that_match_the_phantom(phantoms, index,
                                                                                            tmp_path):
    import json

    from CoronaryCalciumLib.cli import main
    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.phantom.writer import write_volume

    case = phantoms[index]
    geometry = case.ct.geometry
    folder = tmp_path / "totalseg"
    folder.mkdir()
    write_volume((case.coronary_labels_exact > 0).astype(np.uint8), geometry, str(folder / "coronary_arteries.nii.gz"))
    write_volume(case.heart_mask.astype(np.uint8), geometry, str(folder / "heart.nii.gz"))
    write_volume(case.aorta_mask.astype(np.uint8), geometry, str(folder / "aorta.nii.gz"))
    image_path = write_volume(case.image, geometry, str(tmp_path / "image.nii.gz"))

    ct = load_ct(image_path)
    built = totalseg_region.region_from_existing_output(
        ct, totalseg_region.TotalSegRegionSettings(backend="coronary", existing_output=str(folder)))
    assert built.region.has_artery_labels and built.attribution is not None
    agreement = artery_attribution.evaluate(built.region.labels, case.coronary_labels_exact)
    assert agreement.accuracy > 0.85 and min(agreement.per_artery.values()) > 0.75, agreement.summary()

    out = tmp_path / "score.json"
    assert main(["score", image_path, "--region", "coronary", "--totalseg-output", str(folder), "--model", "none",
                 "--json", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["region"]["source"].startswith("existing TotalSegmentator coronary arteries")
    assert result["lesions"] and result["per_artery"]["unassigned"]["agatston"] == 0
    for lesion in result["lesions"]:  # each scored lesion is given the artery its calcium truly lies in
        z, y, x = np.rint(geometry.lps_to_index(lesion["centroid_lps_mm"])).astype(int)
        window = case.lesion_labels[max(z - 1, 0):z + 2, max(y - 3, 0):y + 4, max(x - 3, 0):x + 4]
        if window.any():
            true_artery = artery_attribution.LABELS_BY_VALUE[int(np.bincount(window[window > 0]).argmax())]
            assert lesion["artery"] == true_artery, lesion
