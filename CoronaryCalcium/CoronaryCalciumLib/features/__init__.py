"""Stage 4, features: named numbers of the region from extractors found by name (``radiomics``, ``ctfm``, ``radimagenet``), cached per case, gathered in a cohort's ``FeatureTable``."""

from .._lazy import lazy_api

_API = {
    "FeatureExtractor": ".base",
    "CaseFeatures": ".base",
    "PreparedInput": ".base",
    "make_extractor": ".registry",
    "extractor_names": ".registry",
    "register_extractor": ".registry",
    "FeatureCache": ".cache",
    "default_cache_dir": ".cache",
    "FeatureTable": ".table",
    "extract_case": ".table",
    "merge_case_features": ".table",
    "spec_extractors": ".table",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
