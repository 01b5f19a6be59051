"""reporting.display: the wording and numbers the panel, the text summary and the HTML report share."""

from __future__ import annotations

import html

import numpy as np
import pytest

from CoronaryCalciumLib.classifier.prediction import ClassifierNotRun
from CoronaryCalciumLib.pipeline import assess
from CoronaryCalciumLib.region.mask import region_from_array
from CoronaryCalciumLib.reporting import display
from CoronaryCalciumLib.reporting.html_report import render_report
from CoronaryCalciumLib.reporting.text_summary import format_summary
from CoronaryCalciumLib.review.edits import Edit
from CoronaryCalciumLib.scoring.agatston import scoring_settings
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
    assert verdict == "<Classifier not run.>" and "no model installed" in detail
    assert display.lesion_rows(case, translate=translate)[-1]["artery"] == "<excluded by reader: bone>"
    assert display.NO_CALIBRATION in asked and "excluded by reader: %s" in asked


def test_classifier_texts_say_why_it_did_not_run():
    case = _case(calibration=None)
    assert display.classifier_texts(case) == ("Classifier not run.", "")
    assert display.top_features(case) == [] and display.feature_units(case) == ""
    case.classifier_not_run = ClassifierNotRun(reason="region too small for texture features")
    verdict, detail = display.classifier_texts(case)
    assert verdict == "Classifier not run." and "region too small for texture features" in detail
