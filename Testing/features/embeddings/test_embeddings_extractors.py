"""CT-FM and RadImageNet extractors end to end with randomly initialised weights of the real architectures, saved in the
published file layouts and loaded through the same path users take (make_extractor with a weights location).

Random weights make the numbers meaningless but exercise everything else: cropping, orientation, resampling,
windowing, loading and key mapping, batching, pooling, determinism and the feature cache. Skipped without torch and
MONAI unless CORONARY_CALCIUM_REQUIRE_EMBEDDINGS=1 (then a failure). About 30 s on 2 cores, most of it writing and
hashing the 311 MB CT-FM weights once.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from CoronaryCalciumLib.features.cache import FeatureCache
from CoronaryCalciumLib.features.registry import make_extractor
from support.classifier_cohort import make_case
from support.embeddings import ctfm_weights, radimagenet_weights, require_embeddings, scratch


@pytest.fixture(scope="module")
def cases():
    return make_case(3, 2), make_case(4, 0)


def _values(features):
    return np.array(list(features.values.values()))


def _fresh(name, settings):
    """An extractor rebuilt from settings, with the per-process network cache emptied (a new 'process')."""
    from CoronaryCalciumLib.features.embeddings import base

    base._NETWORKS.clear()
    return make_extractor(name, settings)


@pytest.mark.parametrize("name,size,weights", [("ctfm", 512, ctfm_weights), ("radimagenet", 2048,
                                                                           radimagenet_weights)])
def test_embedding_shape_names_determinism_and_progress(cases, name, size, weights):
    require_embeddings()
    (ct, region), (other_ct, other_region) = cases
    extractor = make_extractor(name, {"weights": weights(), "device": "cpu"})
    seen = []
    first = extractor.extract(ct, region, progress=lambda fraction, message: seen.append((fraction, message)))
    values = _values(first)
    assert values.shape == (size,)
    assert list(first.values)[0] == ("%s_%03d" % (name, 0) if name == "ctfm" else "%s_%04d" % (name, 0))
    assert list(first.values)[-1].endswith(str(size - 1))
    assert np.all(np.isfinite(values)) and values.std() > 0
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) >= 3
    # the same input through a freshly built extractor and network gives exactly the same numbers
    again = _fresh(name, extractor.settings()).extract(ct, region)
    assert np.array_equal(_values(again), values)
    # another case gives another embedding
    assert not np.allclose(_values(extractor.extract(other_ct, other_region)), values)


def test_settings_rebuild_the_same_extractor_and_pin_the_weights():
    require_embeddings()
    extractor = make_extractor("ctfm", {"weights": ctfm_weights()})
    settings = extractor.settings()
    assert len(settings["weights_sha256"]) == 64
    assert make_extractor("ctfm", settings).settings_hash() == extractor.settings_hash()
    assert make_extractor("ctfm", dict(settings, margin_mm=5.0)).settings_hash() != extractor.settings_hash()


def test_weights_are_used_other_weights_give_other_embeddings(cases):
    require_embeddings()
    from CoronaryCalciumLib.features.embeddings.random_weights import write_random_radimagenet

    ct, region = cases[0]
    other = write_random_radimagenet(scratch("radimagenet-seed1.pt"), seed=1)
    a = _values(make_extractor("radimagenet", {"weights": radimagenet_weights()}).extract(ct, region))
    b = _values(make_extractor("radimagenet", {"weights": other}).extract(ct, region))
    assert not np.allclose(a, b)


def test_radimagenet_torchvision_layout_with_head_and_dataparallel_prefix_gives_the_same_embedding(cases):
    require_embeddings()
    import torch

    from CoronaryCalciumLib.features.embeddings.radimagenet import SEQUENTIAL_INDEX

    ct, region = cases[0]
    official = torch.load(radimagenet_weights(), weights_only=True)
    assert all(key.startswith("backbone.") for key in official)
    torchvision_style = {}
    for key, value in official.items():
        _, index, rest = key.split(".", 2)
        torchvision_style["module.%s.%s" % (SEQUENTIAL_INDEX[index], rest)] = value
    torchvision_style["module.fc.weight"] = torch.zeros(1000, 2048)
    torchvision_style["module.fc.bias"] = torch.zeros(1000)
    path = scratch("radimagenet-torchvision.pth")
    torch.save({"state_dict": torchvision_style}, path)
    a = _values(make_extractor("radimagenet", {"weights": radimagenet_weights()}).extract(ct, region))
    b = _values(make_extractor("radimagenet", {"weights": path}).extract(ct, region))
    assert np.array_equal(a, b)


def test_ctfm_full_segresnet_checkpoint_gives_the_encoder_embedding(cases):
    require_embeddings()
    import torch
    from safetensors.torch import load_file

    ct, region = cases[0]
    encoder = load_file(os.path.join(ctfm_weights(), "model.safetensors"))
    full = {"encoder." + key: value for key, value in encoder.items()}
    full["up_layers.0.upsample.weight"] = torch.zeros(256, 512, 2, 2, 2)  # a decoder part, ignored
    path = scratch("ctfm-segresnet.pt")
    torch.save(full, path)
    a = _values(make_extractor("ctfm", {"weights": ctfm_weights()}).extract(ct, region))
    b = _values(make_extractor("ctfm", {"weights": path}).extract(ct, region))
    assert np.array_equal(a, b)


def test_loaded_network_holds_exactly_the_file_tensors():
    require_embeddings()
    import torch

    from CoronaryCalciumLib.features.embeddings import radimagenet

    extractor = make_extractor("radimagenet", {"weights": radimagenet_weights()})
    network = radimagenet.load_network(extractor.weights_file(), torch.device("cpu"))
    stored = radimagenet.radimagenet_state(torch.load(radimagenet_weights(), weights_only=True))
    loaded = network.state_dict()
    assert set(stored) == set(loaded) and len(loaded) == 318
    assert all(torch.equal(stored[k], loaded[k]) for k in stored)
    assert not network.training


def test_batching_does_not_change_embeddings(cases):
    require_embeddings()
    (ct, region), (other_ct, other_region) = cases
    ctfm = make_extractor("ctfm", {"weights": ctfm_weights()})
    a, b = ctfm.prepare(ct, region).data, ctfm.prepare(other_ct, other_region).data
    ctfm.batch_size = 2
    together = ctfm.embed([a, a, b])
    ctfm.batch_size = 1
    assert np.allclose(together[0], ctfm.embed([a])[0], atol=1e-5)
    assert np.allclose(together[0], together[1], atol=1e-5)
    assert np.allclose(together[2], ctfm.embed([b])[0], atol=1e-5)
    rin = make_extractor("radimagenet", {"weights": radimagenet_weights()})
    grey = rin.prepare(ct, region).data
    rin.batch_size = 1
    one = rin.embed_slices(grey)
    rin.batch_size = 16
    assert one.shape == (grey.shape[0], 2048)
    assert np.allclose(one, rin.embed_slices(grey), atol=1e-4)


def test_cache_hit_and_weights_path_not_in_the_cache_key(cases, tmp_path):
    require_embeddings()
    ct, region = cases[0]
    cache = FeatureCache(str(tmp_path / "cache"))
    moved = str(tmp_path / "elsewhere.pt")
    shutil.copyfile(radimagenet_weights(), moved)
    first = make_extractor("radimagenet", {"weights": radimagenet_weights()}).extract(ct, region, cache=cache)
    second = make_extractor("radimagenet", {"weights": moved}).extract(ct, region, cache=cache)
    assert not first.from_cache and second.from_cache
    assert second.values == first.values


def test_scan_orientation_does_not_change_the_embedding(cases):
    """The same anatomy stored with a flipped x axis (direction -1) gives the same CT-FM and RadImageNet embedding."""
    require_embeddings()
    from CoronaryCalciumLib.io.ct import ct_from_array
    from CoronaryCalciumLib.region.mask import region_from_array

    ct, region = cases[0]
    flipped_array = np.ascontiguousarray(ct.array[:, :, ::-1])
    flipped_labels = np.ascontiguousarray(region.labels[:, :, ::-1])
    g = ct.geometry
    last_x = g.index_to_lps((0, 0, ct.array.shape[2] - 1))
    flipped = ct_from_array(flipped_array, g.spacing, origin_xyz=(last_x[0], g.origin[1], g.origin[2]),
                            direction=(-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    flipped_region = region_from_array(flipped_labels)
    for name, weights in (("ctfm", ctfm_weights()), ("radimagenet", radimagenet_weights())):
        extractor = make_extractor(name, {"weights": weights})
        assert np.allclose(_values(extractor.extract(ct, region)), _values(extractor.extract(flipped,
                                                                                            flipped_region)),
                           atol=1e-5), name
