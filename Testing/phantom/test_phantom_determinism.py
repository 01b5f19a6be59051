"""Same seed and settings -> same bytes (arrays, NIfTI, truth JSON, DICOM); another seed -> another patient."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from CoronaryCalciumLib.phantom import PhantomConfig, generate_case, small_config, write_case


def _digest(folder: str) -> dict:
    result = {}
    for root, _dirs, files in os.walk(folder):
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as stream:
                result[os.path.relpath(path, folder)] = hashlib.sha256(stream.read()).hexdigest()
    return result


@pytest.fixture(scope="module")
def config() -> PhantomConfig:
    return small_config(n_slices=24, burden="moderate", imperfections=small_config().imperfections.__class__(enabled=True))


def test_same_seed_gives_identical_files(tmp_path, config):
    first = generate_case(11, config)
    second = generate_case(11, config)
    for name in ("image", "image_noise_free", "coronary_labels", "coronary_labels_exact", "heart_mask", "aorta_mask",
                 "lesion_labels", "calcium_ids"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    write_case(first, str(tmp_path / "a"), dicom=True, noise_free=True)
    write_case(second, str(tmp_path / "b"), dicom=True, noise_free=True)
    digest_a, digest_b = _digest(str(tmp_path / "a")), _digest(str(tmp_path / "b"))
    assert len(digest_a) == 9 + 24  # 8 NIfTI + truth.json + one DICOM file per slice
    assert digest_a == digest_b


def test_other_seed_gives_another_case(config):
    a = generate_case(11, config)
    b = generate_case(12, config)
    assert not np.array_equal(a.image, b.image)
    assert a.truth.anatomy["body_width_mm"] != b.truth.anatomy["body_width_mm"]


def test_noise_level_leaves_anatomy_and_plaques_unchanged(config):
    """Each purpose has its own random stream: changing the noise does not move a plaque."""
    quiet = generate_case(11, config.with_changes(noise_sd_hu=5.0))
    loud = generate_case(11, config.with_changes(noise_sd_hu=30.0))
    assert np.array_equal(quiet.image_noise_free, loud.image_noise_free)
    assert quiet.truth.objects == loud.truth.objects
    difference = loud.image.astype(np.float64) - loud.image_noise_free
    inside = loud.image_noise_free > -900  # air is clipped at -1024
    assert difference[inside].std() == pytest.approx(30.0, rel=0.08)
