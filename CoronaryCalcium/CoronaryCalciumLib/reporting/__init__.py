"""Stage 7, reports: what one assessment writes (result JSON, lesion CSV, segmentation, HTML report, text summary; for a PACS: DICOM SEG, SR, PDF and Encapsulated PDF) and a cohort's overview and training reports."""

from .._lazy import lazy_api

_API = {
    "write_case_outputs": ".case_files",
    "write_dicom_outputs": ".dicom_outputs",
    "build_seg": ".dicom_seg",
    "build_sr": ".dicom_sr",
    "build_encapsulated_pdf": ".dicom_pdf",
    "write_pdf_report": ".pdf",
    "render_report": ".html_report",
    "write_report": ".html_report",
    "format_summary": ".text_summary",
    "write_overview": ".overview",
    "write_training_report": ".training_report",
    "write_evaluation_report": ".training_report",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
