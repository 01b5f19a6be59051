"""Run-time settings of the embedding extractors: where their weights are and which torch device runs them.

None of these change the features (a trained model's pinned weights SHA-256 is still enforced), so they are not part
of an extractor's settings hash. The command line builds one from ``--ctfm-weights``, ``--radimagenet-weights`` and
``--device``; ``registry.make_extractor(name, settings, embedding=...)`` applies it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class EmbeddingSettings:
    ctfm_weights: Optional[str] = None         # CT-FM weights file or folder
    radimagenet_weights: Optional[str] = None  # RadImageNet ResNet50 weights file
    device: Optional[str] = None               # "auto", "cpu", "cuda", "cuda:N"

    def for_extractor(self, name: str) -> Dict[str, Any]:
        """The settings this gives the extractor ``name`` (nothing for an extractor without weights)."""
        weights = {"ctfm": self.ctfm_weights, "radimagenet": self.radimagenet_weights}
        if name not in weights:
            return {}
        out: Dict[str, Any] = {}
        if weights[name]:
            out["weights"] = os.path.abspath(os.path.expanduser(weights[name]))
        if self.device:
            out["device"] = self.device
        return out
