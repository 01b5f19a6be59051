"""DICOM Segmentation (SEG) of an assessment with highdicom: calcium per artery and the region of interest.

The segments are those of ``calcium.seg.nrrd`` (one per artery with calcium) followed by those of
``region.seg.nrrd``, with the same SNOMED CT codes and colours (``region.terminology``), on the frames of the source CT
series, which the SEG references image by image. Binary segments may overlap (calcium lies inside the region).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from ..io.seg_nrrd import Segment
from ..result import Assessment
from . import dicom_source
from .case_files import calcium_segments, region_segments

SEG_LABEL = "CAC"


def algorithm_family():
    """CID 7162 family of the calcium segments: a HU threshold, then connected components with a minimum area."""
    from pydicom.sr.codedict import codes

    return codes.cid7162.NeighborhoodAnalysis


def _code(serialised: str):
    """A pydicom Code from Slicer's ``SCT^value^meaning`` terminology field."""
    from pydicom.sr.coding import Code

    scheme, value, meaning = serialised.split("^")
    return Code(value, scheme, meaning)


def terminology_codes(terminology: str) -> Tuple[object, object, object]:
    """(category, type, anatomic region or None) of a Slicer terminology entry, as written by ``region.terminology``."""
    parts = terminology.split("~")
    region = _code(parts[5]) if parts[5].strip("^") else None
    return _code(parts[1]), _code(parts[2]), region


def seg_segments(case: Assessment) -> List[Segment]:
    """The segments of the SEG, in segment-number order: calcium per artery, then the region of interest."""
    return calcium_segments(case) + region_segments(case)


def _description(number: int, segment: Segment):
    import highdicom as hd

    category, property_type, region = terminology_codes(segment.terminology)
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=segment.name,
        segmented_property_category=category,
        segmented_property_type=property_type,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name=dicom_source.MODEL_NAME, version=dicom_source.SOFTWARE_VERSION,
            family=algorithm_family()),
        tracking_id=segment.name,
        tracking_uid=hd.UID(),
        anatomic_regions=[region] if region is not None else None,
        display_color=hd.color.CIELabColor.from_rgb(*(int(round(255 * c)) for c in segment.color)),
    )


def build_seg(case: Assessment, sources: Sequence[object]):
    """The highdicom Segmentation of ``case`` on its source CT images (Datasets in stacking order)."""
    import highdicom as hd

    segments = seg_segments(case)
    pixels = np.stack([segment.mask for segment in segments], axis=-1).astype(np.uint8)
    return hd.seg.Segmentation(
        source_images=list(sources),
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[_description(number, segment) for number, segment in enumerate(segments, start=1)],
        series_instance_uid=hd.UID(),
        series_number=dicom_source.SEG_SERIES_NUMBER,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=dicom_source.MANUFACTURER,
        manufacturer_model_name=dicom_source.MODEL_NAME,
        software_versions=dicom_source.SOFTWARE_VERSION,
        device_serial_number=dicom_source.DEVICE_SERIAL,
        content_label=SEG_LABEL,
        content_description="Coronary calcium per artery and region of interest",
        series_description="Coronary calcium segmentation (research software)",
    )
