"""Embedding features through the study's protocol: no leakage between folds with high-dimensional embeddings,
feature sets combining radiomics and embeddings, the feature-set comparison report, and (torch) a cohort extracted with
random-weight CT-FM through extract_cohort and the nested CV. The slow test runs the train CLI end to end on
radiomics, ctfm, radimagenet and radiomics+ctfm, then evaluate on a saved CT-FM model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from CoronaryCalciumLib.classifier.pipelines import make_pipeline
from CoronaryCalciumLib.classifier.feature_comparison import comparison_grid, read_report, write_feature_comparison
from CoronaryCalciumLib.features.table import FeatureTable
from CoronaryCalciumLib.classifier.nested_cv import TrainingConfig, evaluate_candidate, outer_splits, run_protocol
from CoronaryCalciumLib.reporting.training_report import training_report_data, write_training_report
from support.embeddings import ctfm_weights, radimagenet_weights, require_embeddings


def embedding_table(n=45, seed=0):
    """Cases with 20 radiomics-like columns and a 512-d 'ctfm' embedding; the label shifts a few columns of each."""
    rng = np.random.default_rng(seed)
    y = np.array([i % 3 == 0 for i in range(n)], dtype=int)
    radiomics = rng.normal(size=(n, 20))
    radiomics[:, :3] += 1.2 * y[:, None]
    latent = rng.normal(size=(n, 16))
    embedding = latent @ rng.normal(size=(16, 512)) + 0.3 * rng.normal(size=(n, 512))  # correlated, like embeddings
    embedding[:, :8] += 0.8 * y[:, None]
    radiomics_names = ["original_firstorder_R%02d" % i for i in range(20)]
    ctfm_names = ["ctfm_%03d" % i for i in range(512)]
    table = FeatureTable(["c%02d" % i for i in range(n)], radiomics_names + ctfm_names,
                         np.hstack([radiomics, embedding]), {"radiomics": radiomics_names, "ctfm": ctfm_names})
    return table, ["non-zero" if v else "zero" for v in y]


QUICK = dict(grid="quick", outer_folds=3, inner_folds=3, calibration="none", n_boot=100)


def test_feature_sets_select_embedding_columns():
    table, _ = embedding_table()
    assert table.select("ctfm").columns == ["ctfm_%03d" % i for i in range(512)]
    combined = table.select("radiomics+ctfm")
    assert len(combined.columns) == 532 and set(combined.groups) == {"radiomics", "ctfm"}


def test_changing_test_fold_features_does_not_change_what_the_training_folds_learn():
    """Fold 0's tuning, correlation filter and fitted pipeline depend only on the other folds' rows."""
    table, labels = embedding_table()
    y = np.array([1 if label == "non-zero" else 0 for label in labels])
    config = TrainingConfig(models=("random_forest",), **QUICK)
    folds = outer_splits(y, config)
    ctfm = table.select("ctfm")
    scrambled = FeatureTable(list(ctfm.case_ids), list(ctfm.columns), ctfm.values.copy(), dict(ctfm.groups))
    test = folds == 0
    scrambled.values[test] = np.random.default_rng(99).normal(scale=50.0, size=scrambled.values[test].shape)
    a = evaluate_candidate(ctfm, y, folds, "ctfm", "random_forest", 2, config)
    b = evaluate_candidate(scrambled, y, folds, "ctfm", "random_forest", 2, config)
    assert a.folds[0].best_params == b.folds[0].best_params
    assert a.folds[0].inner_score == b.folds[0].inner_score
    assert a.folds[0].selected_features == b.folds[0].selected_features
    # the scrambled rows are training rows of the other folds: what those folds learn does change
    assert any(a.folds[k].selected_features != b.folds[k].selected_features for k in (1, 2))
    # the pipeline fitted on fold 0's training rows is the same object state whatever the test rows hold
    fitted = [make_pipeline("random_forest", 2, random_state=0).fit(t.values[~test], y[~test]) for t in (ctfm,
                                                                                                       scrambled)]
    assert np.array_equal(fitted[0].named_steps["impute"].statistics_, fitted[1].named_steps["impute"].statistics_)
    assert np.array_equal(fitted[0].named_steps["correlation_filter"].support_,
                          fitted[1].named_steps["correlation_filter"].support_)
    assert np.array_equal(fitted[0].predict_proba(ctfm.values[~test]), fitted[1].predict_proba(ctfm.values[~test]))


def test_comparison_report_of_radiomics_embeddings_and_their_combination(tmp_path):
    table, labels = embedding_table()
    config = TrainingConfig(models=("random_forest", "lightgbm"), **QUICK)
    result = run_protocol(table, labels, config, feature_sets=("radiomics", "ctfm", "radiomics+ctfm"),
                          fit_final=False)
    report = training_report_data(result)
    feature_sets, models, grid = comparison_grid(report)
    assert feature_sets == ["radiomics", "ctfm", "radiomics+ctfm"] and models == ["random_forest", "lightgbm"]
    assert all(0.0 <= grid[(f, m)]["accuracy"]["value"] <= 1.0 for f in feature_sets for m in models)
    paths = write_feature_comparison(report, str(tmp_path), synthetic_note="synthetic test data")
    text = open(paths["comparison.md"], encoding="utf-8").read()
    assert "synthetic test data" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| radiomics") or line.startswith("| ctfm")]
    assert len(table_rows) == 3  # one row per feature set, classifiers as columns
    # 3 feature-set pairs x 2 classifiers x 2 headline metrics
    test_rows = [line for line in text.splitlines() if line.startswith("| RandomForest") or
                 line.startswith("| LightGBM")]
    assert len(test_rows) == 12
    with open(paths["comparison.png"], "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    rows = open(paths["comparison.csv"], encoding="utf-8").read().splitlines()
    assert len(rows) == 1 + 3 * 2 * 5  # feature sets x models x binary metrics
    # the same comparison from the report.json a training run writes
    write_training_report(result, str(tmp_path / "run"))
    assert comparison_grid(read_report(str(tmp_path / "run")))[0] == feature_sets


def test_ctfm_cohort_through_extraction_and_nested_cv(tmp_path):
    require_embeddings()
    from CoronaryCalciumLib.classifier.cohort import extract_cohort, labels_for_task
    from CoronaryCalciumLib.io.manifest import read_manifest
    from CoronaryCalciumLib.features.registry import make_extractor
    from support.classifier_cohort import write_cohort

    manifest = write_cohort(str(tmp_path / "cohort"), 12, seed=7, burdens=[0, 0, 1, 2, 3, 0])
    cases = read_manifest(manifest)
    extractor = make_extractor("ctfm", {"weights": ctfm_weights()})
    cohort = extract_cohort(cases, [extractor], cache_dir=str(tmp_path / "cache"))
    assert cohort.table.values.shape == (12, 512) and list(cohort.table.groups) == ["ctfm"]
    labels = labels_for_task(cohort.cases, "binary")
    config = TrainingConfig(models=("random_forest",), grid="quick", outer_folds=2, inner_folds=2,
                            calibration="none", n_boot=50)
    result = run_protocol(cohort.table, labels, config, feature_sets=("ctfm",), fit_final=False)
    accuracy = result.candidates[0].summary["accuracy"].value
    assert 0.0 <= accuracy <= 1.0
    again = extract_cohort(cases, [extractor], cache_dir=str(tmp_path / "cache"))
    assert again.cached == 12 and np.array_equal(again.table.values, cohort.table.values)


@pytest.mark.slow
def test_train_cli_compares_radiomics_and_embeddings_and_evaluate_runs_a_ctfm_model(tmp_path, monkeypatch):
    require_embeddings()
    from CoronaryCalciumLib.cli.main import main
    from support.classifier_cohort import write_cohort

    monkeypatch.setenv("CORONARY_CALCIUM_CTFM_WEIGHTS", ctfm_weights())
    monkeypatch.setenv("CORONARY_CALCIUM_RADIMAGENET_WEIGHTS", radimagenet_weights())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    manifest = write_cohort(str(tmp_path / "cohort"), 18, seed=11, burdens=[0, 1, 0, 2, 0, 3])
    out = str(tmp_path / "run")
    code = main(["train", manifest, "--out", out, "--features", "radiomics", "ctfm", "radimagenet",
                 "radiomics+ctfm", "--models", "rf", "lgbm", "--grid", "quick", "--outer-folds", "3",
                 "--inner-folds", "3", "--calibration", "none", "--bootstrap", "50", "--final-features", "ctfm",
                 "--synthetic", "--cache", str(tmp_path / "cache"), "--quiet"])
    assert code == 0
    report = read_report(os.path.join(out, "binary"))
    assert [p["feature_set"] for p in report["pipelines"]][::2] == ["radiomics", "ctfm", "radimagenet",
                                                                     "radiomics+ctfm"]
    assert report["final_model"]["feature_set"] == "ctfm"
    assert any(t["comparison"] == "feature sets" for t in report["paired_tests"])
    paths = write_feature_comparison(report, os.path.join(out, "binary"))
    assert os.path.getsize(paths["comparison.png"]) > 1000
    model_file = [name for name in os.listdir(os.path.join(out, "binary")) if name.endswith(".zip")][0]
    code = main(["evaluate", manifest, "--model", os.path.join(out, "binary", model_file), "--out",
                 str(tmp_path / "evaluation"), "--bootstrap", "50", "--cache", str(tmp_path / "cache"),
                 "--quiet"])
    assert code == 0
    with open(str(tmp_path / "evaluation" / "report.json"), encoding="utf-8") as stream:
        evaluation = json.load(stream)
    assert evaluation["model"]["feature_set"] == "ctfm" and evaluation["cases"] == 18
