"""Shared pieces of the foundation-model embedding tests: skipping without torch/MONAI, and random-weight files of the
real CT-FM and RadImageNet architectures written once per test session in the published layouts."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Dict

import pytest

REQUIRE_ENV = "CORONARY_CALCIUM_REQUIRE_EMBEDDINGS"
_FILES: Dict[str, str] = {}


def require_embeddings() -> None:
    """Skip without torch + MONAI + safetensors, or fail when CORONARY_CALCIUM_REQUIRE_EMBEDDINGS=1 (as in CI)."""
    missing = []
    for module in ("torch", "monai", "safetensors"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if not missing:
        return
    message = ("embeddings extra not installed (%s missing): pip install torch==2.13.0, then "
               "pip install -e '.[embeddings]'" % ", ".join(missing))
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(message)
    pytest.skip(message)


def _folder() -> str:
    if "folder" not in _FILES:
        _FILES["folder"] = tempfile.mkdtemp(prefix="cc-embedding-weights-")
        atexit.register(shutil.rmtree, _FILES["folder"], True)
    return _FILES["folder"]


def ctfm_weights() -> str:
    """Folder with model.safetensors + config.json of a randomly initialised CT-FM encoder (seed 0)."""
    require_embeddings()
    if "ctfm" not in _FILES:
        from CoronaryCalciumLib.features.embeddings.random_weights import write_random_ctfm

        _FILES["ctfm"] = write_random_ctfm(os.path.join(_folder(), "ctfm"), seed=0)
    return _FILES["ctfm"]


def radimagenet_weights() -> str:
    """RadImageNet-layout (backbone.<index>.*) torch file of a randomly initialised ResNet50 (seed 0)."""
    require_embeddings()
    if "radimagenet" not in _FILES:
        from CoronaryCalciumLib.features.embeddings.random_weights import write_random_radimagenet

        _FILES["radimagenet"] = write_random_radimagenet(os.path.join(_folder(), "radimagenet.pt"), seed=0)
    return _FILES["radimagenet"]


def scratch(name: str) -> str:
    """A path in the session's weights folder (for variants of the weight files)."""
    return os.path.join(_folder(), name)
