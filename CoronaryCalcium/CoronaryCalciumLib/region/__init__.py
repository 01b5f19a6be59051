"""Stage 2, region: where calcium may be scored, as a labelled ``RegionOfInterest`` (per-artery masks, a heart region from TotalSegmentator, or a coronary region with arteries attributed by position)."""

from .._lazy import lazy_api

_API = {
    "RegionOfInterest": ".mask",
    "RegionSource": ".source",
    "ARTERIES": ".mask",
    "UNASSIGNED": ".mask",
    "artery_for_name": ".mask",
    "parse_label_spec": ".mask",
    "region_from_array": ".mask",
    "load_region": ".mask",
    "region_terminology": ".terminology",
    "calcium_terminology": ".terminology",
    "assign_arteries": ".artery_attribution",
    "TotalSegRegionSettings": ".totalseg_region",
    "TotalSegRegion": ".totalseg_region",
    "region_from_totalsegmentator": ".totalseg_region",
    "region_from_class_masks": ".totalseg_region",
    "totalseg_class": ".totalseg_names",
    "TotalSegSettings": ".totalseg_runner",
    "TotalSegRun": ".totalseg_runner",
    "is_installed": ".totalseg_runner",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
