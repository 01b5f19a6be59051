"""Randomly initialised weights of the real CT-FM and RadImageNet architectures, written in the published file layouts.

For tests, benchmarks and smoke runs of the pipeline without the real weights: embeddings from these say nothing about
any image, and a classifier on them says nothing about real-data performance. The files go through the same loading
code as the real ones:
  CT-FM:       a folder like the Hugging Face snapshot: ``model.safetensors`` (SegResEncoder keys) + ``config.json``;
  RadImageNet: a torch file in the layout of RadImageNet's PyTorch release (``backbone.<index>.*``, see radimagenet).
"""

from __future__ import annotations

import json
import os

from ...errors import InputError


def _seeded(seed: int):
    from .torch_runtime import require_torch

    torch = require_torch()
    torch.manual_seed(int(seed))
    return torch


def _randomise_batch_norm(model, torch) -> None:
    """Non-trivial running statistics and affine terms, so every loaded tensor matters to the output."""
    generator = torch.Generator().manual_seed(1234)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
                module.running_var.copy_(1.0 + 0.2 * torch.rand(module.running_var.shape, generator=generator))
                module.weight.copy_(1.0 + 0.1 * torch.randn(module.weight.shape, generator=generator))
                module.bias.copy_(0.05 * torch.randn(module.bias.shape, generator=generator))


def write_random_ctfm(folder: str, seed: int = 0) -> str:
    """Random CT-FM encoder weights as ``folder/model.safetensors`` + ``folder/config.json``; returns the folder."""
    from .ctfm import ARCHITECTURE, build_encoder

    torch = _seeded(seed)
    model = build_encoder()
    _randomise_batch_norm(model, torch)
    try:
        from safetensors.torch import save_file
    except ImportError:
        raise InputError("writing safetensors needs the safetensors package: pip install safetensors") from None
    os.makedirs(folder, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as stream:
        json.dump(ARCHITECTURE, stream)
    return folder


def write_random_radimagenet(path: str, seed: int = 0) -> str:
    """Random ResNet50 weights saved with ``torch.save`` under RadImageNet's ``backbone.<index>.*`` names."""
    from .radimagenet import SEQUENTIAL_INDEX, build_resnet50

    torch = _seeded(seed)
    model = build_resnet50()
    _randomise_batch_norm(model, torch)
    index_of = {name: index for index, name in SEQUENTIAL_INDEX.items()}
    state = {}
    for key, value in model.state_dict().items():
        head, _, rest = key.partition(".")
        state["backbone.%s.%s" % (index_of[head], rest)] = value
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path)
    return path
