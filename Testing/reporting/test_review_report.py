"""The HTML report and the text summary say whether a reader reviewed the case, list the edits, and set the automatic
and reviewed scores side by side when they differ."""

from __future__ import annotations

import os

import pytest

from CoronaryCalciumLib.review.edits import Edit


@pytest.fixture(scope="module")
def assessment(tmp_path_factory):
    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.phantom import generate_case, small_config
    from CoronaryCalciumLib.phantom.writer import write_case
    from CoronaryCalciumLib.pipeline import assess
    from CoronaryCalciumLib.region.mask import load_region

    folder = str(tmp_path_factory.mktemp("review-report"))
    write_case(generate_case(17, small_config(burden="severe", noise_sd_hu=20.0)), folder)
    ct = load_ct(os.path.join(folder, "image.nii.gz"))
    return assess(ct, load_region(os.path.join(folder, "coronary.nii.gz"), ct))


def test_an_automatic_report_says_automatic_and_lists_no_edits(assessment):
    from CoronaryCalciumLib.reporting.html_report import render_report
    from CoronaryCalciumLib.reporting.text_summary import format_summary

    page = render_report(assessment)
    assert "Automatic (not reviewed)." in page and "<ol>" not in page.split("<h2>Review</h2>")[1].split("<h2>")[0]
    assert "automatic (not reviewed)" in format_summary(assessment)


def test_a_reviewed_report_names_the_reader_lists_the_edits_and_shows_both_scores(assessment):
    from CoronaryCalciumLib.reporting.html_report import render_report

    lesion = max(assessment.score.lesions, key=lambda l: l.agatston)
    automatic = assessment.score.agatston
    assessment.apply_review([Edit("exclude", lesion=lesion.id, reason="device", reader="Dr Jones",
                                  time="2026-12-03T10:00:00+00:00", note="stent")])
    try:
        section = render_report(assessment).split("<h2>Review</h2>")[1].split("<h2>Classifier")[0]
        assert "Reviewed by Dr Jones on 2026-12-03T10:00:00+00:00 (1 edit)" in section
        assert "lesion %d excluded (device): stent" % lesion.id in section
        assert "<td>Agatston score</td><td>%.1f</td><td>%.1f</td>" % (automatic, automatic - lesion.agatston) in section
        assert "<td>Volume score (mm3)</td>" in section
    finally:
        assessment.apply_review([])
    assert not assessment.reviewed and assessment.score.agatston == pytest.approx(automatic)
