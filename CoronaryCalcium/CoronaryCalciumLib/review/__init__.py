"""Stage 8, review: a reader's edits on an automatic assessment (set a lesion's artery, exclude or restore a lesion, add
one from a seed point) and the scores recomputed from them by the scoring stage's own rules, with an audit trail."""

from .._lazy import lazy_api

_API = {
    "Edit": ".edits",
    "EXCLUDE_REASONS": ".edits",
    "parse_artery_edit": ".edits",
    "parse_exclude_edit": ".edits",
    "parse_add_edit": ".edits",
    "parse_include_edit": ".edits",
    "edits_from_json": ".edits",
    "Review": ".model",
    "apply_edits": ".model",
    "ct_sha256": ".model",
    "reader_exclusion": ".model",
    "edits_to_reference": ".reference_edits",
    "read_case": ".case_dir",
    "review_case": ".case_dir",
    "settings_of": ".case_dir",
    "with_voxels": ".case_dir",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
