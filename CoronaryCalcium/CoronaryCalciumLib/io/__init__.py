"""Stage 1, load: a CT from DICOM, NIfTI, NRRD or MHA as a ``CTVolume`` (HU, LPS geometry), the cases of a manifest CSV, and the files the pipeline writes."""

from .._lazy import lazy_api

_API = {
    "CTMetadata": ".ct",
    "CTVolume": ".ct",
    "ct_from_array": ".ct",
    "load_ct": ".ct",
    "validate_ct": ".ct",
    "find_series": ".dicom",
    "read_series": ".dicom",
    "series_headers": ".dicom",
    "contrast_agent_from_header": ".dicom",
    "DicomNode": ".dicom_node",
    "parse_node": ".dicom_node",
    "query_series": ".dicom_node",
    "retrieve_study": ".dicom_node",
    "store_files": ".dicom_node",
    "Geometry": ".geometry",
    "Segment": ".seg_nrrd",
    "write_segmentation": ".seg_nrrd",
    "read_segmentation": ".seg_nrrd",
    "ManifestCase": ".manifest",
    "read_manifest": ".manifest",
    "atomic_path": ".atomic",
    "write_text_atomic": ".atomic",
    "plain_json": ".atomic",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
