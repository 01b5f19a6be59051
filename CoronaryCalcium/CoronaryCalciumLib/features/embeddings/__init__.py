"""Pretrained-network extractors (CT-FM, RadImageNet ResNet50) on user-supplied weights; torch is imported only when an embedding is computed."""

from ..._lazy import lazy_api

_API = {
    "PretrainedExtractor": ".base",
    "EmbeddingSettings": ".settings",
    "CTFMExtractor": ".ctfm",
    "RadImageNetExtractor": ".radimagenet",
    "WeightsSpec": ".weights",
    "WeightsFile": ".weights",
    "locate_weights": ".weights",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
