"""The typed classifier result: ``Assessment.classifier`` (a Prediction) or ``Assessment.classifier_not_run`` (why),
their JSON, and result files written before ``classifier_not_run`` existed."""

from __future__ import annotations

import json
import os

import pytest

from support.data import REPO
from CoronaryCalciumLib.classifier.prediction import ClassifierNotRun, Prediction
from CoronaryCalciumLib.classifier.step import classifier_step
from CoronaryCalciumLib.phantom.case import generate_case
from CoronaryCalciumLib.phantom.config import small_config
from CoronaryCalciumLib.pipeline import assess
from CoronaryCalciumLib.reporting.html_report import render_report
from CoronaryCalciumLib.reporting.text_summary import format_summary


@pytest.fixture(scope="module")
def case():
    return generate_case(990021, small_config(burden="mild"))


def test_a_classifier_that_cannot_run_says_why_in_a_typed_field(case, tmp_path, monkeypatch):
    monkeypatch.setenv("CORONARY_CALCIUM_MODELS", str(tmp_path))  # no shipped model installed here
    assessment = assess(case.ct, case.coronary_region(), classify=classifier_step("shipped"))
    assert assessment.classifier is None and assessment.score.agatston > 0
    reason = assessment.classifier_not_run.reason
    assert "shipped binary model is not installed" in reason
    data = json.loads(assessment.to_json())
    assert data["classifier"] is None and data["classifier_not_run"] == {"reason": reason}
    assert ClassifierNotRun.from_dict(data) == assessment.classifier_not_run
    old = {key: value for key, value in data.items() if key != "classifier_not_run"}  # a file from before the field
    assert ClassifierNotRun.from_dict(old) == assessment.classifier_not_run
    assert "Classifier       not run: %s" % reason in format_summary(assessment)
    assert "<p>Not run: %s.</p>" % reason in render_report(assessment)


def test_no_classifier_asked_for_is_neither_a_prediction_nor_a_failure(case):
    assessment = assess(case.ct, case.coronary_region(), classify=classifier_step("none"))
    data = json.loads(assessment.to_json())
    assert data["classifier"] is None and data["classifier_not_run"] is None
    assert ClassifierNotRun.from_dict(data) is None and Prediction.from_dict(data["classifier"]) is None
    assert "<h2>Classifier</h2>\n<p>Not run.</p>" in render_report(assessment)
    assert "Classifier       not run\n" in format_summary(assessment)


def test_a_prediction_reads_back_from_the_json_it_wrote(case, monkeypatch):
    monkeypatch.setenv("CORONARY_CALCIUM_MODELS", os.path.join(REPO, "models"))
    assessment = assess(case.ct, case.coronary_region(), classify=classifier_step("shipped"))
    prediction = assessment.classifier
    assert isinstance(prediction, Prediction) and assessment.classifier_not_run is None
    assert prediction.top_contributions and prediction.model_sha256
    data = json.loads(assessment.to_json())
    again = Prediction.from_dict(data["classifier"])
    assert again.to_dict() == data["classifier"]
    assert [c.feature for c in again.top_contributions] == [c.feature for c in prediction.top_contributions]
    html = render_report(assessment)
    assert "Verdict: <b>%s (probability %.2f)</b>" % (prediction.label_text, prediction.probability) in html
    assert 'alt="top features"' in html
