"""The wording and number formatting of one assessment, shared by the Slicer panel, the text summary and the HTML
report: one phrase for each thing said, in one place.

Every function returns English. The ones with a ``translate`` argument pass each fixed phrase (before numbers are put
in) through it, so a door with a translation catalogue (the Slicer module: Qt's ``translate``) shows its language;
the default leaves the text as it is. Positions are LPS mm (the core's frame); the Slicer module converts to RAS.
Units: HU, mm3, mg.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Assessment

Translate = Callable[[str], str]

NO_CALIBRATION = "not measured (no calibration)"  # a mass without a calibration factor, wherever it is shown
NOT_RUN = "not run"  # the classifier, when none was asked for
SYNTHETIC_NOTE = "model trained on synthetic phantoms only: not clinically validated"  # the research-use note
LESION_COLUMNS = ("#", "Artery", "Agatston", "Volume (mm³)", "Mass (mg)", "Integrated mass (mg)", "Peak HU", "Slices")


def same(text: str) -> str:
    """The default ``translate``: English as it is."""
    return text


def number(value: Optional[float], unit: str = "", digits: int = 1) -> str:
    """``value`` with ``digits`` decimals and its unit; "-" for a value that is not there (None)."""
    if value is None:
        return "-"
    return ("%.*f %s" % (digits, value, unit)).strip()


def mass(value: Optional[float], unit: str = "mg", translate: Translate = same) -> str:
    """A mass score in mg, or the one phrase for a mass that needs a calibration factor."""
    return number(value, unit) if value is not None else translate(NO_CALIBRATION)


def capitalised(text: str) -> str:
    """``text`` with its first letter upper-case: a value shown as a sentence."""
    return text[:1].upper() + text[1:]


def score_texts(assessment: "Assessment", translate: Translate = same) -> Dict[str, str]:
    """Agatston, volume, mass (with the integrated-intensity mass when measured), category (with the image-quality
    verdict when the image makes it unreliable) and CAC-DRS, keyed agatston, volume, mass, category, cac_drs."""
    score = assessment.score
    category = score.category
    shown_mass = mass(score.mass_mg, translate=translate)
    if score.integrated_mass_mg is not None:
        shown_mass = translate("%s; integrated-intensity %s") % (shown_mass, number(score.integrated_mass_mg, "mg"))
    quality = score.image_quality
    unreliable = quality is not None and not quality.reliable
    return {
        "agatston": number(score.agatston),
        "volume": number(score.volume_mm3, "mm³"),
        "mass": shown_mass,
        "category": "%s (%s)%s" % (category.classic, category.classic_range,
                                   "; " + category_reliability(assessment, translate) if unreliable else ""),
        "cac_drs": category.cac_drs,
    }


def category_reliability(assessment: "Assessment", translate: Translate = same) -> str:
    """"category reliable" or "category UNRELIABLE: REASONS" from the image quality; empty when it was not
    assessed."""
    quality = assessment.score.image_quality
    if quality is None:
        return ""
    if quality.reliable:
        return translate("category reliable")
    return translate("category UNRELIABLE: %s") % "; ".join(quality.reasons)


def image_quality(assessment: "Assessment", translate: Translate = same) -> str:
    """"noise N HU in the blood pool; category reliable" (or "noise not measured (WHY)", "category UNRELIABLE:
    REASONS"); empty when the image quality was not assessed."""
    quality = assessment.score.image_quality
    if quality is None:
        return ""
    noise = (translate("noise %.0f HU in the blood pool") % quality.noise_hu if quality.noise_hu is not None
             else translate("noise not measured (%s)") % quality.noise_region)
    return "%s; %s" % (noise, category_reliability(assessment, translate))


@dataclass(frozen=True)
class ClassifierWording:
    """What the panel, the text summary and the HTML report say about the classifier (each door adds its own
    labels). ``verdict``: "non-zero CAC (probability 0.93)", or "not run: REASON" ("not run" when none was asked
    for); ``model``: "NAME (FAMILY)", empty when none ran; ``note``: the research-use note, empty when none."""

    ran: bool
    verdict: str
    model: str
    note: str


def classifier_wording(assessment: "Assessment", translate: Translate = same,
                       redact: Translate = same) -> ClassifierWording:
    """The classifier's wording for ``assessment``; ``redact`` is applied to the reason it did not run (the HTML
    report passes ``Assessment.redact``)."""
    prediction = assessment.classifier
    if prediction is None:
        not_run = assessment.classifier_not_run
        verdict = (translate("not run: %s") % redact(not_run.reason) if not_run is not None
                   else translate(NOT_RUN))
        return ClassifierWording(ran=False, verdict=verdict, model="", note="")
    return ClassifierWording(
        ran=True, verdict=translate("%s (probability %.2f)") % (prediction.label_text, prediction.probability),
        model="%s (%s)" % (prediction.model_name, prediction.model_family),
        note=translate(SYNTHETIC_NOTE) if prediction.synthetic_training else "")


def classifier_texts(assessment: "Assessment", translate: Translate = same) -> Tuple[str, str]:
    """The panel's two lines from ``classifier_wording``: ("Classifier: VERDICT", "Model: MODEL. NOTE." or empty
    when no model ran)."""
    wording = classifier_wording(assessment, translate)
    verdict = translate("Classifier: %s") % wording.verdict
    if not wording.ran:
        return (verdict, "")
    model = translate("Model: %s") % wording.model
    return (verdict, model + (". %s." % capitalised(wording.note) if wording.note else ""))


def top_features(assessment: "Assessment", count: int = 10) -> List[Tuple[str, float]]:
    """The features that pushed this case's classifier score most, as (readable name, TreeSHAP contribution in
    ``feature_units``); empty when no classifier ran."""
    prediction = assessment.classifier
    if prediction is None:
        return []
    from ..classifier.explanations import display_name

    return [(display_name(item.feature), float(item.contribution)) for item in prediction.top_contributions[:count]]


def feature_units(assessment: "Assessment") -> str:
    """Units of the contributions in ``top_features`` (e.g. log-odds); empty when no classifier ran."""
    prediction = assessment.classifier
    return prediction.contribution_units if prediction is not None else ""


def review_status(assessment: "Assessment") -> str:
    """"automatic (not reviewed)" or "reviewed by NAME on TIME (N edits)" (``capitalised`` where it starts a
    sentence)."""
    if not assessment.reviewed:
        return "automatic (not reviewed)"
    review = assessment.review
    return "reviewed by %s on %s (%d edit%s)" % (", ".join(review.readers()) or "an unnamed reader",
                                                  review.last_time(), len(review.edits),
                                                  "" if len(review.edits) == 1 else "s")


def lesion_rows(assessment: "Assessment", translate: Translate = same) -> List[Dict[str, object]]:
    """One dict per lesion, largest Agatston first, then the lesions a filter or the reader left out of the score
    (their artery cell says why): id, counted, reason (the reader's, else None), artery, agatston, volume_mm3, mass_mg,
    integrated_mass_mg, peak_hu, slices ("first-last") and centroid_lps_mm."""
    from ..review.model import reader_exclusion

    rows: List[Dict[str, object]] = []
    counted = sorted(assessment.score.lesions, key=lambda item: -item.agatston)
    left_out = sorted(assessment.score.excluded_lesions, key=lambda item: -item.agatston)
    for lesion in counted + left_out:
        reader_reason = reader_exclusion(lesion.excluded)
        if lesion.excluded is None:
            artery = lesion.artery
        elif reader_reason:
            artery = translate("excluded by reader: %s") % reader_reason
        else:
            artery = translate("not counted: %s") % lesion.excluded.split(":")[0]
        rows.append({
            "id": lesion.id,
            "counted": lesion.excluded is None,
            "reason": reader_reason,
            "artery": artery,
            "agatston": lesion.agatston,
            "volume_mm3": lesion.volume_mm3,
            "mass_mg": lesion.mass_mg,
            "integrated_mass_mg": lesion.integrated_mass_mg,
            "peak_hu": lesion.peak_hu,
            "slices": "%d-%d" % (lesion.first_slice, lesion.last_slice),
            "centroid_lps_mm": tuple(float(value) for value in lesion.centroid_lps_mm),
        })
    return rows


def lesion_cells(row: Dict[str, object]) -> List[str]:
    """The cells of a ``lesion_rows`` row, in LESION_COLUMNS order."""
    return [str(row["id"]), str(row["artery"]), number(row["agatston"]), number(row["volume_mm3"]),
            number(row["mass_mg"]), number(row["integrated_mass_mg"]), number(row["peak_hu"], digits=0),
            str(row["slices"])]
