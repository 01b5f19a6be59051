"""The PDF report as an Encapsulated PDF DICOM object (modality DOC) in the source CT's study, for the PACS."""

from __future__ import annotations

import datetime

from . import dicom_source

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
TITLE = "Coronary calcium report (research software)"


def build_encapsulated_pdf(pdf_bytes: bytes, source):
    """A DICOM Encapsulated PDF holding ``pdf_bytes``, patient and study copied from the ``source`` CT header."""
    import highdicom as hd
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian

    now = datetime.datetime.now()
    document = hd.base.SOPClass(
        study_instance_uid=source.StudyInstanceUID, series_instance_uid=hd.UID(),
        series_number=dicom_source.PDF_SERIES_NUMBER, sop_instance_uid=hd.UID(), sop_class_uid=ENCAPSULATED_PDF,
        instance_number=1, modality="DOC", manufacturer=dicom_source.MANUFACTURER,
        manufacturer_model_name=dicom_source.MODEL_NAME, software_versions=dicom_source.SOFTWARE_VERSION,
        device_serial_number=dicom_source.DEVICE_SERIAL, transfer_syntax_uid=ExplicitVRLittleEndian,
        series_description=TITLE, content_date=now.date(), content_time=now.time())
    document.copy_patient_and_study_information(source)
    document.ConversionType = "WSD"  # SC Equipment: workstation
    document.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    document.BurnedInAnnotation = "YES"  # the report shows patient name and ID
    document.DocumentTitle = TITLE
    document.ConceptNameCodeSequence = [Dataset()]
    document.ConceptNameCodeSequence[0].CodeValue = "18748-4"
    document.ConceptNameCodeSequence[0].CodingSchemeDesignator = "LN"
    document.ConceptNameCodeSequence[0].CodeMeaning = "Diagnostic imaging report"
    document.MIMETypeOfEncapsulatedDocument = "application/pdf"
    document.EncapsulatedDocument = pdf_bytes + (b"\0" if len(pdf_bytes) % 2 else b"")
    document.EncapsulatedDocumentLength = len(pdf_bytes)
    return document
