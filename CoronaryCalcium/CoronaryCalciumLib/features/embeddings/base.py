"""The base of the pretrained-network extractors (CT-FM, RadImageNet): weights located once, the network built and
loaded once per process, the settings hash without the weights' path, non-finite output refused.

Nothing here imports torch: the network is built on the first embedding, so the core still imports without torch.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ...errors import RegionError
from ..base import FeatureExtractor
from .weights import WeightsFile, WeightsSpec, load_checked, locate_weights, read_state_dict

# (extractor name, weights SHA-256, device) -> network in eval mode; one network per extractor kept per process
_NETWORKS: Dict[Tuple[str, str, str], Any] = {}


def cached_network(name: str, weights: WeightsFile, device, spec: WeightsSpec, build: Callable[[], Any],
                   to_state: Callable[[Mapping[str, Any]], Dict[str, Any]],
                   hint: Callable[[Sequence[str], Sequence[str]], str]):
    """The network ``build()`` with ``weights`` (read, renamed by ``to_state``, checked) on ``device``, eval mode."""
    key = (name, weights.sha256, str(device))
    if key not in _NETWORKS:
        model = build()
        load_checked(model, to_state(read_state_dict(weights.path, spec)), weights.path, spec, hint=hint)
        for other in [k for k in _NETWORKS if k[0] == name]:
            del _NETWORKS[other]
        _NETWORKS[key] = model.to(device).eval()
    return _NETWORKS[key]


class PretrainedExtractor(FeatureExtractor):
    """A feature extractor running a pretrained network from a user-supplied weights file (``weights_spec``).

    Subclasses set ``weights_spec`` and call ``_init_weights(weights, weights_sha256)`` in ``__init__``.
    """

    weights_spec: WeightsSpec

    def _init_weights(self, weights: Optional[str], weights_sha256: Optional[str]) -> None:
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self._located: Optional[WeightsFile] = None

    def weights_file(self) -> WeightsFile:
        """The located, hashed weights file (looked up once)."""
        if self._located is None:
            self._located = locate_weights(self.weights, self.weights_spec, self.weights_sha256)
        return self._located

    def settings_hash(self) -> str:
        """Hash of the settings without the weights' path (the SHA-256 identifies them) or the MONAI version."""
        settings = {k: v for k, v in self.settings().items() if k not in ("weights", "monai")}
        text = json.dumps({"extractor": self.name, "settings": settings}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def check_finite(self, values: np.ndarray, label: str) -> np.ndarray:
        if not np.all(np.isfinite(values)):
            raise RegionError("%s produced non-finite values: damaged weights or input" % label)
        return values
