"""The review model: a reader's edits on an automatic score, recomputed by the scoring stage's own rules."""

from __future__ import annotations

import copy

import pytest

from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.review.edits import Edit
from CoronaryCalciumLib.review.model import apply_edits
from support.review_cases import scored_phantom, truth_edits

ARTERIES = ("LM", "LAD", "LCX", "RCA")


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    return scored_phantom(str(tmp_path_factory.mktemp("review-phantom")), seed=17)


def test_excluding_and_reassigning_heart_shell_lesions_reproduces_the_exact_mask_scores_per_artery(phantom):
    ct, settings, exact, shell = phantom
    edits = truth_edits(shell, exact)
    assert {e.action for e in edits} == {"artery", "exclude", "add"}, "this phantom would not test every edit"
    reviewed = apply_edits(shell, edits, ct, settings)
    for artery in ARTERIES + ("unassigned",):
        assert reviewed.per_artery[artery].agatston == pytest.approx(exact.per_artery[artery].agatston, rel=1e-9), artery
        assert reviewed.per_artery[artery].volume_mm3 == pytest.approx(exact.per_artery[artery].volume_mm3, rel=1e-9)
        assert reviewed.per_artery[artery].mass_mg == pytest.approx(exact.per_artery[artery].mass_mg, rel=1e-9)
        assert reviewed.per_artery[artery].lesion_count == exact.per_artery[artery].lesion_count
    assert reviewed.agatston == pytest.approx(exact.agatston, rel=1e-9)
    assert reviewed.category.cac_drs == exact.category.cac_drs
    assert reviewed.category.classic == exact.category.classic
    assert shell.agatston != pytest.approx(exact.agatston, rel=1e-3), "nothing to review: the test would prove nothing"


def test_reviewed_totals_are_the_sums_the_automatic_score_gives_without_edits(phantom):
    _, _, _, shell = phantom
    same = apply_edits(shell, [])
    assert same.agatston == pytest.approx(shell.agatston, rel=1e-9)
    assert same.volume_mm3 == pytest.approx(shell.volume_mm3, rel=1e-9)
    assert same.mass_mg == pytest.approx(shell.mass_mg, rel=1e-9)
    assert same.category == shell.category


def test_undo_is_dropping_the_last_edit_and_the_automatic_score_is_never_changed(phantom):
    ct, settings, exact, shell = phantom
    before = copy.deepcopy(shell.to_dict())
    edits = truth_edits(shell, exact)
    apply_edits(shell, edits, ct, settings)
    assert shell.to_dict() == before
    one_less = apply_edits(shell, edits[:-1], ct, settings)
    again = apply_edits(shell, edits[:-1] + edits[-1:], ct, settings)
    last = edits[-1]
    assert one_less.to_dict() != again.to_dict() or last.action == "artery"


def test_moving_a_lesion_to_another_artery_moves_its_agatston_and_nothing_else(phantom):
    _, _, _, shell = phantom
    lesion = max(shell.lesions, key=lambda l: l.agatston)
    target = next(a for a in ARTERIES if a != lesion.artery)
    moved = apply_edits(shell, [Edit("artery", lesion=lesion.id, artery=target)])
    assert moved.per_artery[target].agatston == pytest.approx(shell.per_artery[target].agatston + lesion.agatston)
    assert moved.per_artery[lesion.artery].agatston == pytest.approx(
        shell.per_artery[lesion.artery].agatston - lesion.agatston, abs=1e-9)
    assert moved.agatston == pytest.approx(shell.agatston)


def test_an_excluded_lesion_can_be_counted_again(phantom):
    _, _, _, shell = phantom
    lesion = shell.lesions[0]
    edits = [Edit("exclude", lesion=lesion.id, reason="bone"), Edit("include", lesion=lesion.id)]
    assert apply_edits(shell, edits).agatston == pytest.approx(shell.agatston)
    excluded = apply_edits(shell, edits[:1])
    assert excluded.agatston == pytest.approx(shell.agatston - lesion.agatston)
    assert next(l for l in excluded.excluded_lesions if l.id == lesion.id).excluded == "reader: bone"


@pytest.mark.parametrize("edit, message", [
    (Edit("artery", lesion=999, artery="LAD"), "no lesion 999"),
    (Edit("artery", lesion=1, artery="LXX"), "does not exist"),
    (Edit("exclude", lesion=1, reason="boredom"), "not one of"),
    (Edit("include", lesion=1), "counted already"),
    (Edit("add", point_lps_mm=(5000.0, 0.0, 0.0)), "outside the CT"),
])
def test_a_bad_edit_is_refused_with_one_line_and_changes_nothing(phantom, edit, message):
    ct, settings, _, shell = phantom
    before = copy.deepcopy(shell.to_dict())
    with pytest.raises(InputError, match=message) as error:
        apply_edits(shell, [edit], ct, settings)
    assert "\n" not in str(error.value)
    assert shell.to_dict() == before


def test_a_point_without_calcium_is_refused(phantom):
    ct, settings, _, shell = phantom
    point = ct.geometry.index_to_lps((0, 0, 0))  # the corner: air
    with pytest.raises(InputError, match="below the .* HU threshold"):
        apply_edits(shell, [Edit("add", point_lps_mm=point)], ct, settings)


def test_a_point_in_a_counted_lesion_is_refused_rather_than_split(phantom):
    ct, settings, _, shell = phantom
    lesion = shell.lesions[0]
    from support.review_cases import lesion_point

    with pytest.raises(InputError, match="lies in lesion %d" % lesion.id):
        apply_edits(shell, [Edit("add", point_lps_mm=lesion_point(shell, lesion.id))], ct, settings)


def test_a_reader_excluding_the_non_coronary_lesions_gets_the_filtered_score_and_can_undo_a_filter():
    from CoronaryCalciumLib.scoring.agatston import score, scoring_settings
    from support.chest_lesions import build, chest, place_lesions

    array, labels, heart, aorta, blood = chest()
    place_lesions(array)
    ct, region = build(array, labels, heart, aorta, blood)
    filtered = score(ct, region)
    everything = score(ct, region, scoring_settings(lesion_filters="off"))
    centroids = {l.centroid_lps_mm for l in filtered.excluded_lesions}
    non_coronary = [l for l in everything.lesions if l.centroid_lps_mm in centroids]
    assert len(non_coronary) == len(filtered.excluded_lesions) >= 3
    reviewed = apply_edits(everything, [Edit("exclude", lesion=l.id, reason="noise") for l in non_coronary])
    assert reviewed.agatston == pytest.approx(filtered.agatston, rel=1e-9)
    assert reviewed.per_artery["LAD"].agatston == pytest.approx(filtered.per_artery["LAD"].agatston, rel=1e-9)
    restored = apply_edits(filtered, [Edit("include", lesion=l.id) for l in filtered.excluded_lesions])
    assert restored.agatston == pytest.approx(everything.agatston, rel=1e-9)


def test_review_edits_round_trip_through_the_result_file(phantom):
    from CoronaryCalciumLib.result import Assessment
    from CoronaryCalciumLib.io.ct import CTMetadata

    ct, settings, exact, shell = phantom
    case = Assessment(case_id="phantom", ct=CTMetadata(), score=shell, ct_volume=ct, ct_sha256="abc")
    case.apply_review(truth_edits(shell, exact, reader="Dr Who"), settings)
    assert case.reviewed
    data = case.to_dict()
    assert data["schema_version"] == 3 and data["reviewed"] is True
    assert data["review"]["readers"] == ["Dr Who"]
    back = Assessment.from_dict(data)
    assert back.reviewed and back.to_dict() == data
    assert back.automatic_score.agatston == pytest.approx(shell.agatston)
    old = dict(data, schema_version=2)
    for key in ("review", "reviewed", "ct_sha256"):
        old.pop(key)
    assert not Assessment.from_dict(old).reviewed
