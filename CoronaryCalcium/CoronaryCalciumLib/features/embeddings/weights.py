"""Pretrained network weights that the user supplies: where they are, what they hash to, reading and checking them.

Weights are never downloaded (the model hubs are not reachable from every site, and a silent download would change
features under a trained classifier). A weights location is a file (``.safetensors``, or a torch ``.pt`` / ``.pth`` /
``.bin`` state dict) or a folder holding one, e.g. a Hugging Face snapshot folder with ``model.safetensors`` and
``config.json``. It is looked for in this order: the path given (setting or CLI flag), the extractor's environment
variable, then ``<weights dir>/<name>/`` where the weights dir is $CORONARY_CALCIUM_WEIGHTS or
``~/.cache/coronary-calcium/weights``. The SHA-256 of the file is part of the extractor's settings, so cached features
and trained classifiers are tied to the exact weights, and a model trained on other weights refuses to run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ...errors import InputError

WEIGHTS_DIR_ENV = "CORONARY_CALCIUM_WEIGHTS"
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
PREFERRED_NAMES = ("model.safetensors", "pytorch_model.bin")
_HASHES: Dict[Tuple[str, int, float], str] = {}


def default_weights_dir() -> str:
    """$CORONARY_CALCIUM_WEIGHTS or ``~/.cache/coronary-calcium/weights``."""
    if os.environ.get(WEIGHTS_DIR_ENV):
        return os.environ[WEIGHTS_DIR_ENV]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "coronary-calcium", "weights")


@dataclass
class WeightsSpec:
    """How one network's weights are found: its label for messages, env variable, default sub-folder, and where the
    user gets them."""

    label: str
    env_var: str
    subdir: str
    source_hint: str


@dataclass
class WeightsFile:
    """A located weights file, its SHA-256 and the ``config.json`` beside it (empty when there is none)."""

    path: str
    sha256: str
    config: Dict[str, Any] = field(default_factory=dict)


def weights_file_in(path: str, spec: WeightsSpec) -> str:
    """The weights file itself: ``path`` when it is a file, else the one weights file in the folder ``path``."""
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise InputError("%s weights not found at %s. %s" % (spec.label, path, spec.source_hint))
    for name in PREFERRED_NAMES:
        if os.path.isfile(os.path.join(path, name)):
            return os.path.join(path, name)
    found = sorted(name for name in os.listdir(path) if name.lower().endswith(WEIGHT_SUFFIXES)
                   and os.path.isfile(os.path.join(path, name)))
    if len(found) == 1:
        return os.path.join(path, found[0])
    if not found:
        raise InputError("folder %s holds no %s weights file (%s). %s"
                         % (path, spec.label, ", ".join(WEIGHT_SUFFIXES), spec.source_hint))
    raise InputError("folder %s holds several weights files (%s): give the file itself" % (path, ", ".join(found)))


def candidate_locations(given: Optional[str], spec: WeightsSpec) -> List[str]:
    """Where the weights are looked for, in order (the given path, the environment variable, the default folder)."""
    places = []
    for place in (given, os.environ.get(spec.env_var), os.path.join(default_weights_dir(), spec.subdir)):
        if place and place not in places:
            places.append(os.path.abspath(os.path.expanduser(place)))
    return places


def locate_weights(given: Optional[str], spec: WeightsSpec, expected_sha256: Optional[str] = None) -> WeightsFile:
    """Find the weights file, hash it, read ``config.json`` beside it.

    Without ``expected_sha256`` the first existing location wins. With it (settings of a trained model), a location
    whose file has another hash is skipped, so a model keeps working when its weights moved but never runs on other
    weights. Raises InputError naming every place looked at and where to get the weights.
    """
    places = candidate_locations(given, spec)
    mismatched = []
    for place in places:
        if not os.path.exists(place):
            continue
        path = weights_file_in(place, spec)
        digest = file_sha256(path)
        if expected_sha256 and digest != expected_sha256:
            mismatched.append("%s (SHA-256 %s...)" % (path, digest[:12]))
            continue
        return WeightsFile(path=path, sha256=digest, config=_read_config(path))
    if mismatched:
        raise InputError("the %s weights found differ from those the features were made with (SHA-256 %s...): %s. "
                         "Point %s or the setting at the original file"
                         % (spec.label, expected_sha256[:12], "; ".join(mismatched), spec.env_var))
    looked = ", ".join(places) if places else "nowhere"
    raise InputError("%s weights not found (looked at: %s). %s Then give the file or folder with the weights option, "
                     "set %s, or put it in %s"
                     % (spec.label, looked, spec.source_hint, spec.env_var,
                        os.path.join(default_weights_dir(), spec.subdir)))


def file_sha256(path: str) -> str:
    """SHA-256 of a file, remembered per (path, size, modification time) so large weights are hashed once."""
    from ...classifier.trust import sha256_file

    status = os.stat(path)
    key = (os.path.abspath(path), int(status.st_size), float(status.st_mtime))
    if key not in _HASHES:
        _HASHES[key] = sha256_file(path)
    return _HASHES[key]


def _read_config(weights_path: str) -> Dict[str, Any]:
    config_path = os.path.join(os.path.dirname(weights_path), "config.json")
    if not os.path.isfile(config_path):
        return {}
    try:
        with open(config_path, "r", encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError) as error:
        raise InputError("cannot read %s: %s" % (config_path, error)) from None
    return data if isinstance(data, dict) else {}


def read_state_dict(path: str, spec: WeightsSpec) -> Dict[str, Any]:
    """Parameter name -> tensor from a safetensors file or a torch state-dict file (never unpickles arbitrary code:
    torch files are read with ``weights_only=True``). A checkpoint wrapping the state dict under ``state_dict`` /
    ``model`` is unwrapped."""
    from .torch_runtime import require_torch

    torch = require_torch()
    if path.lower().endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise InputError("reading %s needs the safetensors package: pip install safetensors" % path) from None
        try:
            state = load_file(path, device="cpu")
        except Exception as error:  # safetensors raises its own error types for damaged files
            raise InputError("%s is not a readable safetensors file: %s" % (path, _first_line(error))) from None
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # unpickling errors, truncated files, a whole pickled model
            raise InputError("%s is not a torch state dict that can be read safely (%s). Save the weights with "
                             "torch.save(model.state_dict(), path) or as safetensors" % (path, _first_line(error))) \
                from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not state:
        raise InputError("%s holds no %s state dict (parameter name -> tensor)" % (path, spec.label))
    tensors = {str(k): v for k, v in state.items() if hasattr(v, "shape")}
    if not tensors:
        raise InputError("%s holds no tensors; it is not a %s state dict" % (path, spec.label))
    return tensors


def load_checked(model, state: Mapping[str, Any], path: str, spec: WeightsSpec,
                 hint: Callable[[Sequence[str], Sequence[str]], str] = lambda missing, unexpected: "") -> None:
    """Load ``state`` into ``model`` after checking every name and shape; any difference is an InputError that names
    the first few keys (wrong architecture or a file of another model)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = ["%s %s != %s" % (k, tuple(state[k].shape), tuple(expected[k].shape)) for k in expected
                   if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append("%d missing (e.g. %s)" % (len(missing), ", ".join(missing[:3])))
        if unexpected:
            parts.append("%d unexpected (e.g. %s)" % (len(unexpected), ", ".join(unexpected[:3])))
        if wrong_shape:
            parts.append("%d of another shape (e.g. %s)" % (len(wrong_shape), wrong_shape[0]))
        extra = hint(missing, unexpected)
        raise InputError("%s does not hold %s weights for this architecture: keys %s.%s"
                         % (path, spec.label, "; ".join(parts), (" " + extra) if extra else ""))
    model.load_state_dict(dict(state), strict=True)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
