"""Weights files of the foundation-model extractors: where they are looked for, and the one-line errors for a missing
file, another network's file, a wrong shape, a damaged file, Keras-converted RadImageNet weights, weights that differ
from those a model was trained with, and a machine without torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.features.registry import make_extractor
from support.classifier_cohort import make_case
from support.embeddings import ctfm_weights, radimagenet_weights, require_embeddings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture
def no_default_weights(tmp_path, monkeypatch):
    """No weights in the environment variables or the default folder."""
    monkeypatch.setenv("CORONARY_CALCIUM_WEIGHTS", str(tmp_path / "weights-home"))
    monkeypatch.delenv("CORONARY_CALCIUM_CTFM_WEIGHTS", raising=False)
    monkeypatch.delenv("CORONARY_CALCIUM_RADIMAGENET_WEIGHTS", raising=False)
    return tmp_path


def test_missing_weights_say_where_to_get_them(no_default_weights):
    with pytest.raises(InputError) as error:
        make_extractor("ctfm").settings()
    message = str(error.value)
    assert "huggingface.co/project-lighter/ct_fm_feature_extractor" in message
    assert "CORONARY_CALCIUM_CTFM_WEIGHTS" in message and "weights-home" in message
    with pytest.raises(InputError, match="BMEII-AI/RadImageNet"):
        make_extractor("radimagenet", {"weights": str(no_default_weights / "absent.pt")}).settings()


def test_weights_found_through_environment_and_default_folder(no_default_weights, monkeypatch):
    target = no_default_weights / "weights-home" / "radimagenet_resnet50"
    target.mkdir(parents=True)
    (target / "resnet50.pt").write_bytes(b"not read until the network is built")
    assert make_extractor("radimagenet").settings()["weights"] == str(target / "resnet50.pt")
    other = no_default_weights / "env.pth"
    other.write_bytes(b"x")
    monkeypatch.setenv("CORONARY_CALCIUM_RADIMAGENET_WEIGHTS", str(other))
    assert make_extractor("radimagenet").settings()["weights"] == str(other)


def test_folder_with_no_or_several_weight_files(tmp_path):
    with pytest.raises(InputError, match="holds no CT-FM weights file"):
        make_extractor("ctfm", {"weights": str(tmp_path)}).settings()
    (tmp_path / "a.pt").write_bytes(b"1")
    (tmp_path / "b.pt").write_bytes(b"2")
    with pytest.raises(InputError, match="several weights files"):
        make_extractor("ctfm", {"weights": str(tmp_path)}).settings()


def test_pinned_weights_refuse_other_files_and_follow_a_moved_file(tmp_path, no_default_weights, monkeypatch):
    original = tmp_path / "weights.pt"
    original.write_bytes(b"the weights a model was trained with")
    settings = make_extractor("radimagenet", {"weights": str(original)}).settings()
    other = tmp_path / "other.pt"
    other.write_bytes(b"other weights")
    with pytest.raises(InputError, match="differ from those the features were made with"):
        make_extractor("radimagenet", dict(settings, weights=str(other))).settings()
    moved = tmp_path / "moved.pt"
    shutil.move(str(original), str(moved))
    monkeypatch.setenv("CORONARY_CALCIUM_RADIMAGENET_WEIGHTS", str(moved))
    assert make_extractor("radimagenet", settings).settings()["weights"] == str(moved)


def _compute_error(name, weights):
    ct, region = make_case(5, 1)
    extractor = make_extractor(name, {"weights": weights})
    with pytest.raises(InputError) as error:
        extractor.extract(ct, region)
    return str(error.value)


def test_another_networks_file_is_refused_with_a_hint():
    require_embeddings()
    message = _compute_error("ctfm", radimagenet_weights())
    assert "does not hold CT-FM weights" in message and "RadImageNet" in message
    message = _compute_error("radimagenet", os.path.join(ctfm_weights(), "model.safetensors"))
    assert "does not hold RadImageNet ResNet50 weights" in message and "CT-FM" in message


def test_wrong_shapes_and_wrong_config_are_refused(tmp_path):
    require_embeddings()
    import torch

    state = torch.load(radimagenet_weights(), weights_only=True)
    state["backbone.0.weight"] = torch.zeros(64, 1, 7, 7)  # a 1-channel stem
    path = str(tmp_path / "one_channel.pt")
    torch.save(state, path)
    assert "of another shape (e.g. conv1.weight (64, 1, 7, 7) != (64, 3, 7, 7))" in _compute_error("radimagenet",
                                                                                                   path)
    folder = tmp_path / "ctfm16"
    shutil.copytree(ctfm_weights(), str(folder))
    (folder / "config.json").write_text(json.dumps({"init_filters": 16, "blocks_down": [1, 2, 2, 4, 4]}))
    assert "init_filters=16" in _compute_error("ctfm", str(folder))


def test_keras_converted_radimagenet_weights_are_named_as_such(tmp_path):
    require_embeddings()
    import torch

    state = torch.load(radimagenet_weights(), weights_only=True)
    state["backbone.0.bias"] = torch.zeros(64)
    state["backbone.4.0.conv1.bias"] = torch.zeros(64)
    path = str(tmp_path / "keras.pt")
    torch.save(state, path)
    assert "Keras" in _compute_error("radimagenet", path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_damaged_files_are_refused(tmp_path):
    require_embeddings()
    broken = tmp_path / "model.safetensors"
    broken.write_bytes(os.urandom(2048))
    assert "not a readable safetensors file" in _compute_error("ctfm", str(broken))
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(b"\x80\x04garbage")
    assert "not a torch state dict that can be read safely" in _compute_error("radimagenet", str(pickled))


def test_core_imports_without_torch_and_says_how_to_install_it(tmp_path):
    """With torch unimportable, the package, the registry and the extractors' settings work; computing an embedding
    is a one-line InputError with the install command."""
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"never read")
    case = os.path.join(REPO, "Testing")
    script = r"""
import sys
sys.modules["torch"] = None  # import torch -> ImportError
sys.path.insert(0, %r)
import CoronaryCalciumLib, CoronaryCalciumLib.cli.main, CoronaryCalciumLib.features.registry
import CoronaryCalciumLib.features.embeddings.ctfm, CoronaryCalciumLib.features.embeddings.radimagenet, CoronaryCalciumLib.classifier.finetune_probe
import CoronaryCalciumLib.classifier.feature_comparison, CoronaryCalciumLib.cli.finetune_probe
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.features.registry import extractor_names, make_extractor
from support.classifier_cohort import make_case
assert {"ctfm", "radimagenet"} <= set(extractor_names())
ct, region = make_case(1, 1)
for name in ("ctfm", "radimagenet"):
    extractor = make_extractor(name, {"weights": %r})
    assert len(extractor.settings()["weights_sha256"]) == 64
    try:
        extractor.extract(ct, region)
    except InputError as error:
        print(name, "->", error)
    else:
        raise SystemExit("no error without torch")
""" % (case, str(weights))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=os.path.join(REPO, "CoronaryCalcium"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all("PyTorch is not installed" in line and "pip install torch" in line for line in lines)


def test_command_line_options_reach_the_extractors_as_settings_not_environment(tmp_path, no_default_weights,
                                                                             monkeypatch):
    import argparse

    from CoronaryCalciumLib.cli.options import add_embedding_options, embedding_settings

    for variable in ("CORONARY_CALCIUM_CTFM_WEIGHTS", "CORONARY_CALCIUM_RADIMAGENET_WEIGHTS",
                     "CORONARY_CALCIUM_TORCH_DEVICE"):
        monkeypatch.setenv(variable, "unset-by-test")  # restored after the test
    ctfm = tmp_path / "ctfm.safetensors"
    ctfm.write_bytes(b"c")
    rin = tmp_path / "rin.pt"
    rin.write_bytes(b"r")
    parser = argparse.ArgumentParser()
    add_embedding_options(parser)
    embedding = embedding_settings(parser.parse_args(["--ctfm-weights", str(ctfm), "--radimagenet-weights", str(rin),
                                                      "--device", "cpu"]))
    ctfm_extractor = make_extractor("ctfm", embedding=embedding)
    assert ctfm_extractor.settings()["weights"] == str(ctfm)
    assert ctfm_extractor.device == "cpu"
    assert make_extractor("radimagenet", embedding=embedding).settings()["weights"] == str(rin)
    assert make_extractor("radiomics", embedding=embedding).name == "radiomics"  # no weights: unchanged
    assert os.environ["CORONARY_CALCIUM_TORCH_DEVICE"] == "unset-by-test"  # nothing travels through the environment
