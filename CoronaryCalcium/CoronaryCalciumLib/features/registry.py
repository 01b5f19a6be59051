"""Feature extractors by name: ``radiomics`` (pyradiomics), ``ctfm`` (CT-FM), ``radimagenet`` (RadImageNet ResNet50).

Built-in extractors are found by name and imported only when one is made (so nothing here imports pyradiomics or
torch); ``register_extractor`` adds another one, and every place that takes ``--features`` (train, evaluate) then
accepts its name.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Mapping, Optional

from ..errors import InputError
from .base import FeatureExtractor
from .embeddings.settings import EmbeddingSettings

ExtractorFactory = Callable[[Optional[Mapping[str, Any]]], FeatureExtractor]
# name -> (module, class) of the built-in extractors; the class has ``from_settings(settings)``
BUILTIN: Dict[str, tuple] = {
    "radiomics": ("CoronaryCalciumLib.features.radiomics", "RadiomicsExtractor"),
    "ctfm": ("CoronaryCalciumLib.features.embeddings.ctfm", "CTFMExtractor"),
    "radimagenet": ("CoronaryCalciumLib.features.embeddings.radimagenet", "RadImageNetExtractor"),
}
_FACTORIES: Dict[str, ExtractorFactory] = {}


def register_extractor(name: str, factory: ExtractorFactory) -> None:
    """Make ``make_extractor(name, settings)`` return ``factory(settings)``; ``settings`` None means the defaults."""
    _FACTORIES[name] = factory


def extractor_names() -> List[str]:
    return sorted(set(_FACTORIES) | set(BUILTIN))


def make_extractor(name: str, settings: Optional[Mapping[str, Any]] = None,
                   embedding: Optional[EmbeddingSettings] = None) -> FeatureExtractor:
    """An extractor by name; ``embedding`` (weights locations, torch device) overrides those of ``settings``."""
    if embedding is not None:
        settings = dict(settings or {}, **embedding.for_extractor(name))
    if name in _FACTORIES:
        return _FACTORIES[name](settings)
    if name not in BUILTIN:
        raise InputError("unknown feature extractor '%s'; available: %s" % (name, ", ".join(extractor_names())))
    module, cls = BUILTIN[name]
    return getattr(importlib.import_module(module), cls).from_settings(settings)
