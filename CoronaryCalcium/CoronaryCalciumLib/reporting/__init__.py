"""Stage 7, reports: what one assessment writes (result JSON, lesion CSV, segmentation, HTML report, text summary) and a cohort's overview and training reports."""

from .._lazy import lazy_api

_API = {
    "write_case_outputs": ".case_files",
    "render_report": ".html_report",
    "write_report": ".html_report",
    "format_summary": ".text_summary",
    "write_overview": ".overview",
    "write_training_report": ".training_report",
    "write_evaluation_report": ".training_report",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
