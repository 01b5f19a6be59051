"""DICOM Structured Report (TID 1500 Measurement Report) of an assessment with highdicom.

Measurement groups, each with a tracking identifier:
- ``total``: total Agatston (method: Agatston scoring), volume (mm3) and mass (mg, only with a calibration factor),
  the classic and CAC-DRS categories, and the settings that matter: threshold (HU), tube voltage (kV), calibration
  factor (mg/(mm3 HU));
- one per artery (LM, LAD, LCX, RCA, unassigned): the same three measurements, finding site the artery; a volumetric
  group referencing the artery's calcium segment in the SEG when it has calcium;
- ``classifier`` (when a model ran): its verdict and probability, algorithm = the model's name and SHA-256, marked
  research use only.
Concepts without a DICOM code (categories, the classifier) use the private coding scheme ``99CORCAC``.

A reader-reviewed assessment (``Assessment.reviewed``) reports the reviewed scores, names the reader as the person
observer beside the device and says "reviewed" in the series description; it is still not marked VERIFIED (a legal
attestation with an organisation, which the review's login name is not).
"""

from __future__ import annotations

from typing import List, Optional

from ..region.arteries import ARTERIES_AND_UNASSIGNED
from ..region.terminology import ARTERY_CODES, CALCIFICATION
from ..result import Assessment
from . import dicom_source

PRIVATE_SCHEME = "99CORCAC"
RESEARCH_NOTE = "research use only, not a medical device"


def _codes():
    """The concept names and units of the report (pydicom Codes; built on use so importing this module stays light)."""
    from pydicom.sr.coding import Code

    return {
        "agatston": Code("112058", "DCM", "Calcium score"),
        "agatston_method": Code("112055", "DCM", "Agatston scoring method"),
        "volume": Code("122660", "DCM", "Calcium Volume"),
        "mass": Code("122661", "DCM", "Calcium Mass"),
        "threshold": Code("122657", "DCM", "Agatston Score Threshold"),
        "kvp": Code("113733", "DCM", "KVP"),
        "calibration": Code("122659", "DCM", "Calcium Scoring Calibration"),
        "procedure": Code("122603", "DCM", "Calcium Scoring Analysis"),
        "classic": Code("CLASSIC", PRIVATE_SCHEME, "Agatston category (classic bands)"),
        "cac_drs": Code("CACDRS", PRIVATE_SCHEME, "CAC-DRS category"),
        "verdict": Code("VERDICT", PRIVATE_SCHEME, "Calcium classifier verdict (research)"),
        "probability": Code("PROB", PRIVATE_SCHEME, "Calcium classifier probability (research)"),
        "no_units": Code("1", "UCUM", "no units"),
        "mm3": Code("mm3", "UCUM", "cubic millimeter"),
        "mg": Code("mg", "UCUM", "milligram"),
        "hu": Code("[hnsf'U]", "UCUM", "Hounsfield unit"),
        "kv": Code("kV", "UCUM", "kilovolt"),
        "mg_per_mm3_hu": Code("mg/(mm3.[hnsf'U])", "UCUM", "milligram per cubic millimeter and Hounsfield unit"),
    }


def _value_code(value: str, kind: str):
    from pydicom.sr.coding import Code

    return Code("%s-%s" % (kind.upper(), value.replace(" ", "_"))[:16], PRIVATE_SCHEME, value)


def _site(name: str):
    import highdicom as hd
    from pydicom.sr.coding import Code

    code, meaning = ARTERY_CODES[name]
    return hd.sr.FindingSite(anatomic_location=Code(code, "SCT", meaning))


def _scores(codes, agatston: float, volume_mm3: float, mass_mg: Optional[float]) -> List[object]:
    import highdicom as hd

    items = [hd.sr.Measurement(codes["agatston"], float(agatston), codes["no_units"], method=codes["agatston_method"]),
             hd.sr.Measurement(codes["volume"], float(volume_mm3), codes["mm3"])]
    if mass_mg is not None:
        items.append(hd.sr.Measurement(codes["mass"], float(mass_mg), codes["mg"]))
    return items


def _tracking(identifier: str):
    import highdicom as hd

    return hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=identifier)


def _total_group(case: Assessment, codes):
    import highdicom as hd

    score, settings = case.score, case.score.settings
    measurements = _scores(codes, score.agatston, score.volume_mm3, score.mass_mg)
    measurements.append(hd.sr.Measurement(codes["threshold"], float(settings["threshold_hu"]), codes["hu"]))
    if settings.get("kvp") is not None:
        measurements.append(hd.sr.Measurement(codes["kvp"], float(settings["kvp"]), codes["kv"]))
    if settings.get("calibration_factor_mg_per_mm3_hu") is not None:
        measurements.append(hd.sr.Measurement(codes["calibration"], float(settings["calibration_factor_mg_per_mm3_hu"]),
                                              codes["mg_per_mm3_hu"]))
    category = score.category
    evaluations = [hd.sr.QualitativeEvaluation(codes["classic"], _value_code(category.classic, "classic")),
                   hd.sr.QualitativeEvaluation(codes["cac_drs"], _value_code(category.cac_drs, "cacdrs"))]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking("total"), finding_sites=[_site("unassigned")], measurements=measurements,
        qualitative_evaluations=evaluations, algorithm_id=_software())


def _software():
    import highdicom as hd

    return hd.sr.AlgorithmIdentification(name=dicom_source.MODEL_NAME, version=dicom_source.SOFTWARE_VERSION)


def _artery_group(case: Assessment, name: str, seg, codes):
    import highdicom as hd
    from pydicom.sr.coding import Code

    artery = case.score.per_artery[name]
    measurements = _scores(codes, artery.agatston, artery.volume_mm3, artery.mass_mg)
    common = dict(tracking_identifier=_tracking(name), finding_sites=[_site(name)], measurements=measurements,
                  algorithm_id=_software(), finding_type=Code(CALCIFICATION[0], "SCT", CALCIFICATION[1]))
    number = _segment_number(seg, "%s calcium" % name)
    if number is None:
        return hd.sr.MeasurementsAndQualitativeEvaluations(**common)
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, segment_number=number), **common)


def _segment_number(seg, label: str) -> Optional[int]:
    for item in seg.SegmentSequence:
        if item.SegmentLabel == label:
            return int(item.SegmentNumber)
    return None


def _classifier_group(case: Assessment, codes):
    import highdicom as hd

    prediction = case.classifier
    if prediction is None:
        return None
    model = hd.sr.AlgorithmIdentification(
        name=prediction.model_name[:64], version=prediction.model_sha256[:16],
        parameters=["sha256=%s" % prediction.model_sha256, RESEARCH_NOTE,
                    "synthetic training data" if prediction.synthetic_training else "trained on real data"])
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking("classifier (research)"), algorithm_id=model,
        measurements=[hd.sr.Measurement(codes["probability"], float(prediction.probability), codes["no_units"])],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(codes["verdict"],
                                                             _value_code(prediction.label, "verdict"))])


def reader_name(case: Assessment) -> Optional[str]:
    """Who reviewed ``case``: the reader of its last edit that names one (None when not reviewed or unnamed)."""
    if not case.reviewed:
        return None
    names = [edit.reader for edit in case.review.edits if edit.reader]
    return names[-1] if names else None


def _reader(case: Assessment):
    """The person observer context of a reviewed case's reader (None otherwise)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    name = reader_name(case)
    if name is None:
        return None
    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=name[:64]))


def build_sr(case: Assessment, sources, seg):
    """The highdicom Comprehensive 3D SR (TID 1500) of ``case``, referencing ``seg`` and the source CT images."""
    import highdicom as hd

    codes = _codes()
    groups = [_total_group(case, codes)]
    groups += [_artery_group(case, name, seg, codes) for name in ARTERIES_AND_UNASSIGNED]
    classifier = _classifier_group(case, codes)
    if classifier is not None:
        groups.append(classifier)
    device = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121007", "DCM", "Device"),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name=dicom_source.MODEL_NAME, manufacturer_name=dicom_source.MANUFACTURER,
            model_name="%s %s" % (dicom_source.MODEL_NAME, dicom_source.SOFTWARE_VERSION)))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=_reader(case),
                                                     observer_device_context=device),
        procedure_reported=codes["procedure"], imaging_measurements=groups)
    return hd.sr.Comprehensive3DSR(
        evidence=list(sources) + [seg], content=report, series_instance_uid=hd.UID(),
        series_number=dicom_source.SR_SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer=dicom_source.MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
        series_description=("Coronary calcium, reader-reviewed (research software)" if case.reviewed
                            else "Coronary calcium measurements (research software)"),
        coding_schemes=[hd.coding_schemes.CodingSchemeIdentificationItem(
            designator=PRIVATE_SCHEME, name="CoronaryCalcium concepts",
            responsible_organization=dicom_source.MANUFACTURER)])
