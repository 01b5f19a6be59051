"""torch for the foundation-model extractors: imported only when an embedding is computed, the device, determinism.

The core package never imports torch at module level: ``require_torch()`` imports it on first use and turns a missing
install into an ``InputError`` that says how to install the CPU build. ``deterministic()`` wraps inference (and the
fine-tuning probe) so the same input gives the same numbers: eval mode and no_grad are the callers' job, this sets
``torch.use_deterministic_algorithms`` and turns cuDNN autotuning off for the duration, then restores both.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Optional

from ...errors import InputError

DEVICE_ENV = "CORONARY_CALCIUM_TORCH_DEVICE"
TORCH_HINT = ("PyTorch is not installed; the ctfm / radimagenet features need it. CPU build: "
              "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu (or the CUDA build from "
              "pytorch.org), then pip install 'coronary-calcium[embeddings]' (MONAI, safetensors)")
MONAI_HINT = ("MONAI is not installed; the ctfm / radimagenet features build their networks with it: "
              "pip install 'monai>=1.3' (install torch first so pip does not pull a CUDA build)")


def require_torch():
    """The torch module, or InputError with install instructions."""
    try:
        import torch
    except ImportError:
        raise InputError(TORCH_HINT) from None
    return torch


def require_monai():
    """The monai module (after torch), or InputError with install instructions."""
    require_torch()
    try:
        import monai
    except ImportError:
        raise InputError(MONAI_HINT) from None
    return monai


def resolve_device(name: Optional[str] = None):
    """A torch.device from "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".

    ``None`` reads $CORONARY_CALCIUM_TORCH_DEVICE (default "auto"). Asking for CUDA without a usable GPU is an error.
    """
    torch = require_torch()
    text = (name or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError("device '%s' asked for, but torch sees no CUDA GPU (torch %s); use --device cpu"
                             % (text, torch.__version__))
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    try:
        return torch.device(text)
    except (RuntimeError, ValueError):
        raise InputError("unknown device '%s'; use auto, cpu, cuda or cuda:N" % text) from None


@contextlib.contextmanager
def deterministic(seed: Optional[int] = None) -> Iterator[Any]:
    """Deterministic algorithms on (warn-only for ops without one), cuDNN benchmark off; restored on exit.

    With ``seed``, torch's random generators are seeded too (training in the fine-tuning probe).
    """
    torch = require_torch()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = torch.backends.cudnn
    was_benchmark, was_cudnn_deterministic = cudnn.benchmark, cudnn.deterministic
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.benchmark, cudnn.deterministic = False, True
    if seed is not None:
        torch.manual_seed(int(seed))
    try:
        yield torch
    finally:
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
        cudnn.benchmark, cudnn.deterministic = was_benchmark, was_cudnn_deterministic


def package_version(name: str) -> Optional[str]:
    """Installed version of a distribution without importing it (None when absent)."""
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # not installed
        return None
