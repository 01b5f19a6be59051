"""The region's bounding box and label values, found from projections and inside the box, agree with scipy's per-label
search and numpy's unique on the whole grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from CoronaryCalciumLib.region.mask import bounding_box, label_values


def _box_of_all_labels(labels: np.ndarray, margin: int = 0):
    """Reference: the union of scipy's per-label boxes, grown by ``margin``."""
    boxes = [box for box in ndimage.find_objects(labels) if box is not None]
    if not boxes:
        return None
    return tuple(slice(max(0, min(b[axis].start for b in boxes) - margin),
                       min(labels.shape[axis], max(b[axis].stop for b in boxes) + margin))
                 for axis in range(labels.ndim))


def _generated_masks():
    rng = np.random.default_rng(15)
    masks = []
    for _ in range(12):
        shape = tuple(int(n) for n in rng.integers(1, 40, size=3))
        mask = np.zeros(shape, dtype=np.uint8)
        for _blob in range(int(rng.integers(0, 4))):
            start = [int(rng.integers(0, n)) for n in shape]
            stop = [min(n, s + int(rng.integers(1, 8))) for n, s in zip(shape, start)]
            mask[tuple(slice(a, b) for a, b in zip(start, stop))] = int(rng.integers(1, 5))
        masks.append(mask)
    full = np.ones((3, 4, 5), dtype=np.uint8)
    corner = np.zeros((6, 7, 8), dtype=np.uint8)
    corner[-1, -1, -1] = 9
    return masks + [full, corner, np.zeros((4, 4, 4), dtype=np.uint8)]


@pytest.mark.parametrize("margin", [0, 2])
def test_the_bounding_box_from_projections_is_the_box_around_every_label(margin):
    for mask in _generated_masks():
        assert bounding_box(mask, margin=margin) == _box_of_all_labels(mask, margin), mask.shape


def test_the_bounding_box_of_a_boolean_mask_and_of_an_empty_one():
    mask = np.zeros((5, 6, 7), dtype=bool)
    assert bounding_box(mask) is None
    mask[1, 2:4, 6] = True
    assert bounding_box(mask) == (slice(1, 2), slice(2, 4), slice(6, 7))


def test_label_values_inside_the_box_equal_the_unique_values_of_the_whole_grid():
    for mask in _generated_masks():
        for array in (mask, mask.astype(np.int16) - 1, mask.astype(np.float32) * 0.5):
            values = label_values(array)
            assert values.dtype == array.dtype
            np.testing.assert_array_equal(values, np.unique(array))
