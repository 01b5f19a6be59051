"""reporting.display: the wording and numbers the panel, the text summary and the HTML report share."""

from __future__ import annotations

import html

import numpy as np
import pytest

from CoronaryCalciumLib.classifier.prediction import ClassifierNotRun, Prediction
from CoronaryCalciumLib.pipeline import assess
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.reporting import display
from CoronaryCalciumLib.reporting.html_report import render_report
from CoronaryCalciumLib.reporting.text_summary import format_summary
from CoronaryCalciumLib.review.edits import Edit
from CoronaryCalciumLib.scoring.agatston import scoring_settings
from CoronaryCalciumLib.scoring.image_quality import ImageQuality
from support.synthetic import as_ct, blank_ct

SPACING = (0.5, 0.5, 3.0)


def _case(calibration=None):
    """Two plaques: 400 HU in the LAD (label 2), 250 HU in the RCA (label 4)."""
    array, meta = blank_ct(shape=(6, 40, 40), spacing=SPACING)
    array[2:4, 8:14, 8:14] = 400
    array[3:4, 26:29, 26:29] = 250
    labels = np.zeros(array.shape, dtype=np.uint8)
    labels[:, 4:20, :] = 2
    labels[:, 20:36, :] = 4
    return assess(as_ct(array, meta, SPACING), region_from_array(labels),
                  scoring_settings(calibration_factor=calibration))


def test_number_gives_the_digits_asked_with_the_unit_and_a_dash_for_a_missing_value():
    assert display.number(12.345, "mg") == "12.3 mg"
    assert display.number(12.345) == "12.3"
    assert display.number(519.6, "HU", digits=0) == "520 HU"
    assert display.number(None, "mg") == "-"


def test_a_mass_without_calibration_is_said_the_same_way_in_the_panel_the_summary_and_the_report():
    case = _case(calibration=None)
    assert case.score.mass_mg is None and case.score.agatston > 0
    phrase = display.NO_CALIBRATION
    assert display.score_texts(case)["mass"] == phrase
    assert phrase in format_summary(case)
    report = render_report(case)
    assert report.count(html.escape(phrase)) == 2  # mass and integrated-intensity mass
    for other in ("not reported (no calibration)", "mg  (no calibration)"):
        assert other not in format_summary(case) and other not in report


def test_score_texts_show_the_assessments_own_numbers():
    case = _case(calibration=0.0008)
    score = case.score
    texts = display.score_texts(case)
    assert texts["agatston"] == "%.1f" % score.agatston
    assert texts["volume"] == "%.1f mm³" % score.volume_mm3
    assert texts["mass"].startswith("%.1f mg" % score.mass_mg)
    assert ("integrated-intensity" in texts["mass"]) == (score.integrated_mass_mg is not None)
    assert texts["category"].startswith("%s (%s)" % (score.category.classic, score.category.classic_range))
    assert texts["cac_drs"] == score.category.cac_drs


def test_lesion_rows_rank_by_agatston_and_keep_the_lps_centroid():
    case = _case(calibration=0.0008)
    rows = display.lesion_rows(case)
    lesions = sorted(case.score.lesions, key=lambda lesion: -lesion.agatston)
    assert [row["id"] for row in rows] == [lesion.id for lesion in lesions] and len(rows) == 2
    assert [row["artery"] for row in rows] == ["LAD", "RCA"]
    for row, lesion in zip(rows, lesions):
        assert row["centroid_lps_mm"] == pytest.approx(lesion.centroid_lps_mm)
        cells = display.lesion_cells(row)
        assert len(cells) == len(display.LESION_COLUMNS)
        assert float(cells[2]) == pytest.approx(lesion.agatston, abs=0.05)
        assert cells[-1] == "%d-%d" % (lesion.first_slice, lesion.last_slice)


def test_a_lesion_the_reader_excluded_follows_the_counted_ones_and_says_why():
    case = _case(calibration=None)
    largest = max(case.score.lesions, key=lambda lesion: lesion.agatston)
    case.apply_review([Edit("exclude", lesion=largest.id, reason="bone", reader="R")])
    rows = display.lesion_rows(case)
    assert [row["counted"] for row in rows] == [True, False]
    assert rows[-1]["id"] == largest.id and rows[-1]["reason"] == "bone"
    assert rows[-1]["artery"] == "excluded by reader: bone"
    assert display.lesion_cells(rows[-1])[4] == "-"  # no calibration: no mass
    assert display.review_status(case).startswith("reviewed by R on ")


def test_a_translate_callable_changes_the_phrases_and_leaves_the_numbers():
    case = _case(calibration=None)
    largest = max(case.score.lesions, key=lambda lesion: lesion.agatston)
    case.apply_review([Edit("exclude", lesion=largest.id, reason="bone")])
    case.classifier_not_run = ClassifierNotRun(reason="no model installed")
    asked = []

    def translate(text):
        asked.append(text)
        return "<" + text + ">"

    texts = display.score_texts(case, translate=translate)
    assert texts["mass"] == "<%s>" % display.NO_CALIBRATION
    assert texts["agatston"] == display.score_texts(case)["agatston"]
    verdict, detail = display.classifier_texts(case, translate=translate)
    assert verdict == "<Classifier: <not run: no model installed>>" and detail == ""
    assert display.classifier_wording(case, translate=translate).verdict == "<not run: %s>" % "no model installed"
    assert display.lesion_rows(case, translate=translate)[-1]["artery"] == "<excluded by reader: bone>"
    assert display.NO_CALIBRATION in asked and "excluded by reader: %s" in asked


def _prediction(synthetic: bool = True) -> Prediction:
    """A binary verdict as a model gives it (no contributions: the report draws no feature chart)."""
    return Prediction(label="non-zero", probability=0.93, probabilities={"zero": 0.07, "non-zero": 0.93},
                      task="binary", top_contributions=[], base_value=0.0, contribution_units="log-odds",
                      model_name="cac_binary_test", model_family="random_forest", model_sha256="0" * 64,
                      feature_set="radiomics", synthetic_training=synthetic)


def _three_outputs(case):
    """What the panel (its labels and summary-table values), the text summary and the HTML report show."""
    verdict, model = display.classifier_texts(case)
    panel = "\n".join([verdict, model, display.review_status(case)] + list(display.score_texts(case).values()))
    return panel, format_summary(case), html.unescape(render_report(case))


def test_the_classifier_verdict_model_and_note_read_the_same_in_the_panel_the_summary_and_the_report():
    case = _case(calibration=None)
    case.classifier = _prediction()
    wording = display.classifier_wording(case)
    assert wording.ran and wording.verdict == "non-zero CAC (probability 0.93)"
    assert wording.model == "cac_binary_test (random_forest)" and wording.note == display.SYNTHETIC_NOTE
    panel, summary, report = _three_outputs(case)
    for output in (panel, summary, report):
        assert wording.verdict in output and wording.model in output
        assert display.SYNTHETIC_NOTE in output.lower()
    case.classifier = _prediction(synthetic=False)
    for output in _three_outputs(case):
        assert "not clinically validated" not in output.lower()


def test_a_classifier_that_did_not_run_says_why_in_the_same_words_everywhere():
    case = _case(calibration=None)
    case.classifier_not_run = ClassifierNotRun(reason="region too small for texture features")
    wording = display.classifier_wording(case)
    assert not wording.ran and wording.verdict == "not run: region too small for texture features"
    assert wording.model == "" and wording.note == ""
    panel, summary, report = _three_outputs(case)
    assert "Classifier: " + wording.verdict in panel
    assert "Classifier       " + wording.verdict in summary
    assert display.capitalised(wording.verdict) + "." in report
    case.classifier_not_run = None  # none asked for
    assert display.classifier_wording(case).verdict == display.NOT_RUN
    panel, summary, report = _three_outputs(case)
    assert "Classifier: not run" in panel and "Classifier       not run\n" in summary and "<p>Not run.</p>" in report


def test_the_report_redacts_the_input_names_in_why_the_classifier_did_not_run_and_escapes_it():
    case = _case(calibration=None)
    case.input_names = {"/data/patient smith/ct.nii.gz": "<image>"}
    case.classifier_not_run = ClassifierNotRun(reason="no features for /data/patient smith/ct.nii.gz")
    report = render_report(case)
    assert "patient smith" not in report and "Not run: no features for &lt;image&gt;." in report
    assert "patient smith" in display.classifier_wording(case).verdict  # redaction is the report's choice


def test_an_unreliable_category_reads_the_same_in_the_panel_the_summary_and_the_report():
    case = _case(calibration=None)
    case.score.image_quality = ImageQuality(noise_hu=42.0, noise_region="blood pool", noise_voxels=900,
                                            reasons=["image noise 42 HU in the blood pool is above 25 HU"])
    verdict = display.category_reliability(case)
    assert verdict == "category UNRELIABLE: image noise 42 HU in the blood pool is above 25 HU"
    quality = display.image_quality(case)
    assert quality == "noise 42 HU in the blood pool; " + verdict
    panel, summary, report = _three_outputs(case)
    assert verdict in display.score_texts(case)["category"]
    assert verdict in panel and quality in summary and quality in report
    case.score.image_quality.reasons = []
    assert display.image_quality(case) == "noise 42 HU in the blood pool; category reliable"
    panel, summary, report = _three_outputs(case)
    assert "UNRELIABLE" not in panel and "UNRELIABLE" not in summary and "UNRELIABLE" not in report
    assert "category reliable" in summary and "category reliable" in report
    case.score.image_quality = None
    assert display.image_quality(case) == "" and "Image quality" not in format_summary(case)


def test_the_review_status_reads_the_same_in_the_panel_the_summary_and_the_report():
    case = _case(calibration=None)
    status = display.review_status(case)
    assert status == "automatic (not reviewed)"
    panel, summary, report = _three_outputs(case)
    assert status in panel and status in summary and display.capitalised(status) + "." in report
    largest = max(case.score.lesions, key=lambda lesion: lesion.agatston)
    case.apply_review([Edit("exclude", lesion=largest.id, reason="bone", reader="Dr Who")])
    status = display.review_status(case)
    assert status.startswith("reviewed by Dr Who on ") and status.endswith("(1 edit)")
    panel, summary, report = _three_outputs(case)
    assert status in panel and status in summary and display.capitalised(status) + "." in report
