"""`train --train-on both` end to end on fabricated cases, some marked contrast-enhanced in the manifest: the report's
contrast section and per-fold table, folds that never test a contrast case, and the card's contrast statement."""

from __future__ import annotations

import csv
import json
import os

import pytest

from support.classifier_cohort import write_cohort


@pytest.fixture(scope="module")
def contrast_run(tmp_path_factory):
    pytest.importorskip("radiomics")
    import importlib

    from CoronaryCalciumLib.cli import main

    root = tmp_path_factory.mktemp("contrast")
    manifest = write_cohort(str(root / "cohort"), 30, seed=5)
    rows = list(csv.DictReader(open(manifest, encoding="utf-8")))
    with open(manifest, "w", newline="", encoding="utf-8") as stream:  # every third case: contrast-enhanced
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]) + ["contrast"])
        writer.writeheader()
        for index, row in enumerate(rows):
            writer.writerow(dict(row, contrast="yes" if index % 3 == 2 else "no"))
    cli = importlib.import_module("CoronaryCalciumLib.cli.main")
    saved = cli.COMMANDS
    cli.COMMANDS = tuple(saved) + tuple(name for name in ("train",) if name not in saved)
    out = str(root / "out")
    try:
        code = main(["train", manifest, "--out", out, "--train-on", "both", "--models", "random_forest", "--grid",
                     "quick", "--outer-folds", "3", "--inner-folds", "2", "--bootstrap", "50", "--synthetic",
                     "--no-trust", "--no-cache", "--quiet"])
    finally:
        cli.COMMANDS = saved
    assert code == 0
    return os.path.join(out, "binary"), rows


def test_the_report_holds_both_arms_on_the_same_non_contrast_test_folds(contrast_run):
    folder, rows = contrast_run
    contrast_ids = {row["case_id"] for index, row in enumerate(rows) if index % 3 == 2}
    predictions = list(csv.DictReader(open(os.path.join(folder, "predictions.csv"), encoding="utf-8")))
    assert predictions and not contrast_ids & {row["case_id"] for row in predictions}
    by_arm = {}
    for row in predictions:
        by_arm.setdefault(row["arm"], set()).add((row["case_id"], row["fold"]))
    assert set(by_arm) == {"noncontrast", "mixed"} and by_arm["noncontrast"] == by_arm["mixed"]
    assert len(by_arm["mixed"]) == 20
    folds = list(csv.DictReader(open(os.path.join(folder, "folds.csv"), encoding="utf-8")))
    assert len(folds) == 6 and {row["arm"] for row in folds} == {"noncontrast", "mixed"}
    for row in folds:  # the mixed arm trains on the other folds' contrast cases, the non-contrast arm on none
        assert (row["training_contrast_cases"] == "0") == (row["arm"] == "noncontrast")
        assert int(row["training_contrast_cases"]) < 10 and row["test_cases"] in ("6", "7")
    report = json.load(open(os.path.join(folder, "report.json"), encoding="utf-8"))
    design = report["contrast_protocol"]
    assert design["contrast_cases"] == 10 and all(f["test_contrast_cases"] == 0 for f in design["folds"])
    assert any(t["comparison"] == "training data" for t in report["paired_tests"])
    text = open(os.path.join(folder, "report.md"), encoding="utf-8").read()
    assert "## Contrast protocol: test on non-contrast scans only" in text
    assert "Paired tests between the arms" in text and "30 case(s) from the manifest, 0 decided" in text


def test_the_model_card_states_the_contrast_of_its_training_data(contrast_run):
    folder, _rows = contrast_run
    card = json.load(open(os.path.join(folder, "model_card.json"), encoding="utf-8"))
    contrast = card["training_data"]["contrast"]
    arm = json.load(open(os.path.join(folder, "report.json"), encoding="utf-8"))["final_model"]["arm"]
    assert contrast["contrast_cases"] == (10 if arm == "mixed" else 0) and contrast["non_contrast_cases"] == 20
    assert "- Contrast: trained on" in open(os.path.join(folder, "model_card.md"), encoding="utf-8").read()


def test_compare_features_of_a_two_arm_run_keeps_each_arm_in_its_own_row(contrast_run, tmp_path):
    from CoronaryCalciumLib.cli.main import main
    from CoronaryCalciumLib.classifier.feature_comparison import comparison_grid, read_report

    folder, _rows = contrast_run
    report = read_report(folder)
    rows, models, grid = comparison_grid(report)
    assert rows == ["noncontrast: radiomics", "mixed: radiomics"] and models == ["random_forest"]
    for pipeline in report["pipelines"]:
        assert grid[("%s: radiomics" % pipeline["arm"], "random_forest")] == pipeline["metrics"]
    assert main(["compare-features", folder, "--out", str(tmp_path), "--quiet"]) == 0
    table = open(str(tmp_path / "comparison.md"), encoding="utf-8").read()
    assert "| noncontrast: radiomics |" in table and "| mixed: radiomics |" in table
