"""Edits derived from a reference score: the seed point of an add is calcium the add edit accepts."""

from __future__ import annotations

import numpy as np

from CoronaryCalciumLib.review.reference_edits import lesion_point
from support.review_cases import scored_phantom


def test_every_lesion_seed_point_of_a_thin_slice_scan_scored_on_slabs_is_at_or_above_the_threshold(tmp_path):
    ct, _settings, exact, _shell = scored_phantom(str(tmp_path), seed=5, slice_thickness_mm=1.0,
                                                 slice_increment_mm=0.5, n_slices=60)
    assert exact.settings["protocol"]["slices_per_slab"] > 1, "not scored on slabs: the test would prove nothing"
    labels, threshold = exact.lesion_label_volume(), float(exact.settings["threshold_hu"])
    below = [l.id for l in exact.lesions if (ct.array[labels == l.id] < threshold).any()]
    assert below, "no lesion holds a voxel below the threshold: the test would prove nothing"
    for lesion in exact.lesions:
        index = tuple(int(round(v)) for v in ct.geometry.lps_to_index(lesion_point(exact, lesion.id, ct)))
        assert labels[index] == lesion.id
        assert ct.array[index] == np.max(ct.array[labels == lesion.id]) >= threshold
