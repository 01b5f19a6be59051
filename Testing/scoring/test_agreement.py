"""Agreement with a reference: ICC, Bland-Altman, kappa, zero vs non-zero, lesion matching, and the command end to end
on generated phantoms assessed by ``assess``."""

import csv
import json
import os

import numpy as np
import pytest

from CoronaryCalciumLib.scoring.agreement import (bland_altman, icc_absolute_agreement, match_lesions, pair_tables,
                                          weighted_kappa, zero_vs_nonzero)
from CoronaryCalciumLib.scoring.categories import CLASSIC_CODES
from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.phantom import generate_cohort, small_config

# Shrout & Fleiss (Psychol Bull 1979), table 2: 6 targets rated by 4 judges; their ICC(2,1) is 0.29
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def test_icc_matches_the_published_example():
    icc = icc_absolute_agreement(SHROUT_FLEISS)
    assert icc["icc"] == pytest.approx(0.29, abs=0.005)
    # the F-based interval of McGraw & Wong (also what pingouin reports for these data: 0.02 to 0.76)
    assert icc["ci_low"] == pytest.approx(0.02, abs=0.005) and icc["ci_high"] == pytest.approx(0.76, abs=0.005)


def test_icc_penalises_a_systematic_offset():
    reference = np.array([0.0, 5.0, 40.0, 120.0, 380.0, 900.0])
    assert icc_absolute_agreement(np.column_stack([reference, reference]))["icc"] == pytest.approx(1.0)
    shifted = icc_absolute_agreement(np.column_stack([reference, reference + 150.0]))
    assert shifted["icc"] < 0.97 and shifted["ci_low"] < shifted["icc"] < shifted["ci_high"]
    with pytest.raises(InputError, match="at least 3 cases"):
        icc_absolute_agreement(np.array([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(InputError, match="same score"):
        icc_absolute_agreement(np.zeros((4, 2)))


def test_bland_altman_bias_and_limits():
    reference = np.array([10.0, 20.0, 30.0, 40.0])
    measured = reference + np.array([1.0, -1.0, 3.0, 1.0])
    ba = bland_altman(measured, reference)
    assert ba["bias"] == pytest.approx(1.0)
    sd = np.std([1.0, -1.0, 3.0, 1.0], ddof=1)
    assert ba["loa_low"] == pytest.approx(1.0 - 1.96 * sd) and ba["loa_high"] == pytest.approx(1.0 + 1.96 * sd)


def test_weighted_kappa_counts_distance_between_categories():
    reference = ["none", "minimal", "mild", "moderate", "severe"] * 4
    assert weighted_kappa(reference, reference, CLASSIC_CODES)["kappa"] == pytest.approx(1.0)
    one_off = ["minimal", "mild", "moderate", "severe", "severe"] * 4
    far_off = ["severe", "severe", "none", "none", "none"] * 4
    near = weighted_kappa(reference, one_off, CLASSIC_CODES)
    far = weighted_kappa(reference, far_off, CLASSIC_CODES)
    assert far["kappa"] < 0 < near["kappa"] < 1
    assert near["ci_low"] <= near["kappa"] <= near["ci_high"]
    assert weighted_kappa(["none"] * 5, ["none"] * 5, CLASSIC_CODES) is None


def test_zero_vs_nonzero():
    z = zero_vs_nonzero([0, 0, 5, 50, 300], [0, 2, 0, 60, 280])
    assert (z["tp"], z["tn"], z["fp"], z["fn"]) == (2, 1, 1, 1)
    assert z["sensitivity"] == pytest.approx(2 / 3) and z["specificity"] == pytest.approx(0.5)
    assert z["accuracy"] == pytest.approx(0.6)


def test_lesions_match_within_reach_and_extracoronary_calcium_is_told_apart():
    objects = [{"position_lps_mm": [0, 0, 0], "semi_axes_mm": [1, 1, 2], "coronary": True},
               {"position_lps_mm": [50, 0, 0], "semi_axes_mm": [1, 1, 1], "coronary": True,
                "motion_mm": [6.0, 0.0, 0.0]},
               {"position_lps_mm": [0, 80, 0], "semi_axes_mm": [4, 4, 4], "coronary": False}]
    lesions = [{"centroid_lps_mm": [0, 0, 4.9]},       # 2 + 3 mm reach: found
               {"centroid_lps_mm": [56.9, 0, 0]},      # 1 + 3 (half the sweep) + 3 mm: found
               {"centroid_lps_mm": [0, 86, 0]},        # on the aortic calcium
               {"centroid_lps_mm": [0, 0, -30]}]       # on nothing
    detected, kinds = match_lesions(objects, lesions, tolerance_mm=3.0)
    assert detected == [True, True, True]
    assert kinds == ["coronary", "coronary", "extracoronary", "none"]
    detected, kinds = match_lesions(objects, lesions, tolerance_mm=2.0)
    assert detected[:2] == [False, False] and kinds[:2] == ["none", "none"]


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_tables_are_paired_by_id_and_bad_tables_are_refused(tmp_path):
    measured = _write_csv(tmp_path / "m.csv", [
        {"id": "a", "status": "ok", "error": "", "agatston": "12.5"},
        {"id": "b", "status": "failed", "error": "<image>: not a CT", "agatston": ""},
        {"id": "c", "status": "ok", "error": "", "agatston": "0"},
        {"id": "x", "status": "ok", "error": "", "agatston": "3"}])
    reference = _write_csv(tmp_path / "r.csv", [{"id": "a", "agatston": "10"}, {"id": "b", "agatston": "4"},
                                                {"id": "c", "agatston": "0"}, {"id": "d", "agatston": "1"}])
    pairing = pair_tables(measured, reference)
    assert [(c.id, c.measured, c.reference) for c in pairing.cases] == [("a", 12.5, 10.0), ("c", 0.0, 0.0)]
    assert pairing.not_assessed == [("b", "<image>: not a CT")]
    assert pairing.only_measured == ["x"] and pairing.only_reference == ["d"]  # b is among the not assessed
    out = str(tmp_path / "out")
    no_id = _write_csv(tmp_path / "no_id.csv", [{"case": "a", "agatston": "1"}])
    assert main(["agreement", no_id, reference, "--out", out]) == 2
    twice = _write_csv(tmp_path / "twice.csv", [{"id": "a", "agatston": "1"}, {"id": "a", "agatston": "2"}])
    assert main(["agreement", measured, twice, "--out", out]) == 2
    other = _write_csv(tmp_path / "other.csv", [{"id": "q", "agatston": "1"}])
    assert main(["agreement", measured, other, "--out", out]) == 2
    text = _write_csv(tmp_path / "text.csv", [{"id": "a", "agatston": "high"}])
    assert main(["agreement", measured, text, "--out", out]) == 2
    assert main(["agreement", str(tmp_path / "missing.csv"), reference, "--out", out]) == 2
    assert not os.path.exists(out)


def test_agreement_of_assessed_phantoms_with_their_truth(tmp_path, capsys):
    cohort = str(tmp_path / "cohort")
    manifest = generate_cohort(cohort, 4, seed=11, base=small_config(), vary=False)
    results = str(tmp_path / "results")
    assert main(["assess", manifest, "--out", results, "--no-progress", "--no-report"]) == 0
    out = str(tmp_path / "agreement")
    capsys.readouterr()
    assert main(["agreement", os.path.join(results, "summary.csv"), manifest, "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "ICC(A,1)" in printed and "Lesions against phantom truth" in printed
    for name in ("agreement.md", "agreement.json", "pairs.csv", "bland_altman.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "agreement.json"), encoding="utf-8") as stream:
        report = json.load(stream)
    with open(manifest, newline="", encoding="utf-8") as stream:
        truth_rows = list(csv.DictReader(stream))
    with open(os.path.join(results, "summary.csv"), newline="", encoding="utf-8") as stream:
        measured_rows = {row["id"]: row for row in csv.DictReader(stream)}
    assert report["n"] == 4
    # the report's bias is the mean difference of the two tables, recomputed here from the files themselves
    differences = [float(measured_rows[r["id"]]["agatston"]) - float(r["agatston"]) for r in truth_rows]
    assert report["bland_altman"]["bias"] == pytest.approx(np.mean(differences), abs=1e-6)
    lesions = report["lesions"]
    coronary = sum(sum(1 for o in json.load(open(os.path.join(cohort, r["truth"])))["objects"] if o["coronary"])
                   for r in truth_rows)
    assert lesions["truth_lesions"] == coronary > 0
    assert lesions["measured_lesions"] == sum(int(r["lesions"]) for r in measured_rows.values())
    # with the phantoms' own masks every scored lesion lies on a coronary calcification, and the large ones are found
    assert lesions["ppv"] == pytest.approx(1.0)
    assert lesions["sensitivity_by_volume"] > 0.5
    # the reference against itself agrees perfectly: the figures are measured, not constants
    assert main(["agreement", manifest, manifest, "--out", str(tmp_path / "self"), "--quiet"]) == 0
    with open(os.path.join(str(tmp_path / "self"), "agreement.json"), encoding="utf-8") as stream:
        itself = json.load(stream)
    assert itself["icc"]["icc"] == pytest.approx(1.0) and itself["bland_altman"]["bias"] == 0.0
    assert report["icc"]["icc"] <= itself["icc"]["icc"]
