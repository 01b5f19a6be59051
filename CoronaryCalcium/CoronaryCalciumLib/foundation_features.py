"""Foundation-model feature extractors by name: ``ctfm`` (CT-FM, 512 features) and ``radimagenet`` (RadImageNet
ResNet50, 2048 features), registered with ``features.register_extractor`` so ``--features ctfm``,
``radimagenet`` or ``radiomics+ctfm`` work wherever radiomics does.

Importing this module registers them (``register_foundation_extractors`` does it again explicitly). Nothing here
imports torch: the networks are built on the first embedding, so the core still imports without torch.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from .features import FeatureExtractor, register_extractor

EXTRACTOR_NAMES = ("ctfm", "radimagenet")


def _make_ctfm(settings: Optional[Mapping[str, Any]]) -> FeatureExtractor:
    from .ctfm import CTFMExtractor

    return CTFMExtractor.from_settings(settings)


def _make_radimagenet(settings: Optional[Mapping[str, Any]]) -> FeatureExtractor:
    from .radimagenet import RadImageNetExtractor

    return RadImageNetExtractor.from_settings(settings)


def add_embedding_options(parser) -> None:
    """``--ctfm-weights``, ``--radimagenet-weights`` and ``--device`` on a command (argparse parser or group)."""
    parser.add_argument("--ctfm-weights", metavar="PATH",
                        help="CT-FM weights file or folder (model.safetensors + config.json from "
                             "huggingface.co/project-lighter/ct_fm_feature_extractor); default "
                             "$CORONARY_CALCIUM_CTFM_WEIGHTS, then ~/.cache/coronary-calcium/weights/"
                             "ct_fm_feature_extractor")
    parser.add_argument("--radimagenet-weights", metavar="PATH",
                        help="RadImageNet ResNet50 PyTorch weights; default $CORONARY_CALCIUM_RADIMAGENET_WEIGHTS, "
                             "then ~/.cache/coronary-calcium/weights/radimagenet_resnet50")
    parser.add_argument("--device", metavar="DEVICE",
                        help="torch device of the ctfm / radimagenet features: auto (default), cpu, cuda, cuda:N")


def apply_embedding_options(args) -> None:
    """Make the options of ``add_embedding_options`` the defaults of this process and its worker processes (they set
    the environment variables the extractors read; a trained model's pinned weights hash is still enforced)."""
    from .ctfm import WEIGHTS as CTFM_WEIGHTS
    from .radimagenet import WEIGHTS as RADIMAGENET_WEIGHTS
    from .torch_runtime import DEVICE_ENV

    for value, variable in ((getattr(args, "ctfm_weights", None), CTFM_WEIGHTS.env_var),
                            (getattr(args, "radimagenet_weights", None), RADIMAGENET_WEIGHTS.env_var),
                            (getattr(args, "device", None), DEVICE_ENV)):
        if value:
            os.environ[variable] = os.path.abspath(os.path.expanduser(value)) if variable != DEVICE_ENV else value


def register_foundation_extractors() -> None:
    """Register ``ctfm`` and ``radimagenet`` with the feature-extractor registry."""
    register_extractor("ctfm", _make_ctfm)
    register_extractor("radimagenet", _make_radimagenet)


register_foundation_extractors()
