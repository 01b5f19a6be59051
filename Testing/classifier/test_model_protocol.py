"""Training protocol: correlation filter, leak-free nested CV, metrics, paired tests, explanations, multi-class."""

from __future__ import annotations

import math

import numpy as np
import pytest

from CoronaryCalciumLib.classifier.metrics import compute_metrics, paired_t_test, summarise
from CoronaryCalciumLib.classifier.pipelines import make_pipeline
from CoronaryCalciumLib.classifier.correlation_filter import CorrelationFilter
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.classifier.explanations import explain_rows, global_importances, tree_shap
from CoronaryCalciumLib.features.table import FeatureTable
from CoronaryCalciumLib.classifier.nested_cv import TrainingConfig, check_class_counts, encode_labels, run_protocol

QUICK = dict(grid="quick", n_boot=200)


def numeric_cohort(n=60, seed=0, informative=1.5):
    """A feature table where feature 0 carries the label, feature 1 nearly copies feature 0, the rest is noise."""
    rng = np.random.default_rng(seed)
    y = np.array([i % 2 for i in range(n)])
    X = rng.normal(size=(n, 10))
    X[:, 0] += informative * y
    X[:, 1] = X[:, 0] * 0.99 + rng.normal(scale=0.02, size=n)
    X[:, 9] = 3.0  # constant
    columns = ["original_firstorder_F%d" % i for i in range(5)] + ["original_glcm_G%d" % i for i in range(5, 10)]
    table = FeatureTable(["c%02d" % i for i in range(n)], columns, X, {"radiomics": columns})
    return table, ["non-zero" if v else "zero" for v in y]


# ----------------------------------------------------------------------------------------------- correlation filter

def test_correlation_filter_keeps_the_first_of_a_correlated_pair_and_drops_constants():
    table, _labels = numeric_cohort()
    kept = CorrelationFilter(threshold=0.9).fit(table.values).get_support()
    assert kept[0] and not kept[1]  # the near-copy goes
    assert not kept[9]  # the constant goes
    assert kept[2:9].all()  # independent noise stays
    assert CorrelationFilter(threshold=0.9).fit_transform(table.values).shape == (60, 8)
    # the threshold is honoured: at 1.0 only exact copies go, so the near-copy stays
    assert CorrelationFilter(threshold=1.0).fit(table.values).get_support()[1]


def test_correlation_filter_threshold_is_configurable_in_training():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(40, 1))
    X = np.hstack([base + rng.normal(scale=s, size=(40, 1)) for s in (0.0, 0.3, 0.6, 1.0, 2.0)])
    strict = CorrelationFilter(threshold=0.5).fit(X).get_support().sum()
    loose = CorrelationFilter(threshold=0.99).fit(X).get_support().sum()
    assert strict < loose
    pipeline = make_pipeline("random_forest", 2, correlation_threshold=0.5)
    assert pipeline.named_steps["correlation_filter"].threshold == 0.5


def test_correlation_filter_spearman_and_nan():
    X = np.array([[1, 1, 5], [2, 4, 1], [3, 9, np.nan], [4, 16, 4], [5, 25, 2]], dtype=float)
    assert CorrelationFilter(threshold=0.95, method="spearman").fit(X).get_support().tolist() == [True, False, True]
    assert CorrelationFilter(threshold=0.95, method="pearson").fit(X).get_support()[1] == False  # noqa: E712 (r=0.98)
    with pytest.raises(ValueError):
        CorrelationFilter(threshold=0).fit(X)


# ---------------------------------------------------------------------------------------------------- no leakage

def test_correlation_filter_is_fitted_inside_training_folds_only(monkeypatch):
    """Every fit of the filter sees only the training cases of one outer fold: never a case that fold is tested on."""
    table, labels = numeric_cohort(n=40)
    seen = []
    original_fit = CorrelationFilter.fit

    def spy(self, X, y=None):
        seen.append(frozenset(row.tobytes() for row in np.asarray(X, dtype=float)))
        return original_fit(self, X, y)

    monkeypatch.setattr(CorrelationFilter, "fit", spy)
    config = TrainingConfig(models=("random_forest",), outer_folds=4, inner_folds=3, calibration_folds=3, **QUICK)
    result = run_protocol(table, labels, config, fit_final=False)
    row_of = {row.tobytes(): i for i, row in enumerate(table.values)}
    folds = result.fold_of_case
    grid = 2
    # per outer fold: grid x inner folds, one refit of the best, calibration folds + the final calibrated refit
    assert len(seen) == 4 * (grid * 3 + 1 + 3 + 1)
    outer_refits = 0
    for rows in seen:
        cases = {row_of[r] for r in rows}
        homes = [f for f in range(4) if not cases & set(np.flatnonzero(folds == f))]
        assert homes, "a filter fit saw cases of every outer test fold"
        if any(cases == set(np.flatnonzero(folds != f)) for f in homes):
            outer_refits += 1
        assert len(cases) <= int(np.sum(folds != homes[0]))
    assert outer_refits >= 4  # each outer fold's pipeline was refitted on exactly its training cases
    # and what the filter kept differs between folds only through their training data: recorded per fold
    assert all(len(f.selected_features) >= 1 for f in result.candidates[0].folds)


def test_nested_cv_on_noise_is_near_chance():
    """Pure noise features: with tuning inside the folds the outer estimate stays near chance (no optimistic bias)."""
    rng = np.random.default_rng(1)
    n = 60
    columns = ["original_firstorder_N%d" % i for i in range(30)]
    table = FeatureTable(["c%d" % i for i in range(n)], columns, rng.normal(size=(n, 30)), {"radiomics": columns})
    labels = ["non-zero" if i % 2 else "zero" for i in range(n)]
    config = TrainingConfig(models=("xgboost",), outer_folds=5, inner_folds=3, calibration_folds=3, **QUICK)
    result = run_protocol(table, labels, config, fit_final=False)
    auc = result.candidates[0].summary["roc_auc"]
    assert 0.3 < auc.value < 0.75
    assert auc.ci_low < 0.5 < auc.ci_high


# ---------------------------------------------------------------------------------------------- protocol outputs

@pytest.fixture(scope="module")
def protocol_result():
    table, labels = numeric_cohort(n=60, seed=2)
    config = TrainingConfig(outer_folds=5, inner_folds=3, calibration_folds=3, **QUICK)
    return table, run_protocol(table, labels, config, feature_sets=["radiomics", "radiomics:glcm"])


def test_protocol_reports_every_metric_for_every_pipeline(protocol_result):
    _table, result = protocol_result
    assert len(result.candidates) == 6
    for candidate in result.candidates:
        assert set(candidate.summary) == {"accuracy", "sensitivity", "specificity", "f1", "roc_auc"}
        for estimate in candidate.summary.values():
            assert 0.0 <= estimate.ci_low <= estimate.value <= estimate.ci_high <= 1.0
            assert np.isfinite(estimate.fold_mean) and estimate.fold_sd >= 0
        assert not np.isnan(candidate.probabilities).any()
        assert np.allclose(candidate.probabilities.sum(axis=1), 1.0)
    # the informative feature lives in the firstorder group: the full set beats the glcm-only set
    full = result.candidate("radiomics", "random_forest").summary["roc_auc"].value
    glcm = result.candidate("radiomics:glcm", "random_forest").summary["roc_auc"].value
    assert full > glcm + 0.1


def test_paired_tests_cover_models_and_feature_sets(protocol_result):
    _table, result = protocol_result
    kinds = {(t.comparison, t.metric) for t in result.paired_tests}
    assert ("models", "accuracy") in kinds and ("feature sets", "roc_auc") in kinds
    # 3 model pairs per feature set x 2 sets + 3 models across the 2 sets = 9 comparisons, 5 metrics each
    assert len(result.paired_tests) == 9 * 5
    between_sets = [t for t in result.paired_tests if t.comparison == "feature sets" and t.metric == "roc_auc"]
    assert all(t.mean_difference > 0 for t in between_sets)
    for test in result.paired_tests:
        assert test.n_folds == 5
        if np.isfinite(test.p_value) and 0 < test.p_value < 1:
            assert test.p_value_corrected >= test.p_value  # the correction only widens


def test_final_model_is_the_best_pipeline_and_is_calibrated(protocol_result):
    _table, result = protocol_result
    best = result.best_candidate()
    assert (result.final.feature_set, result.final.model) == (best.feature_set, best.model)
    from sklearn.calibration import CalibratedClassifierCV

    assert isinstance(result.final.estimator, CalibratedClassifierCV)
    assert result.final.estimator.calibrated_classifiers_[0].estimator is result.final.pipeline
    assert "original_firstorder_F0" in result.final.selected_features
    assert "original_firstorder_F1" not in result.final.selected_features


# ---------------------------------------------------------------------------------------------------- metrics

def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1, 1])
    p1 = np.array([0.2, 0.6, 0.7, 0.4, 0.9])
    metrics = compute_metrics(y, np.column_stack([1 - p1, p1]))
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["sensitivity"] == pytest.approx(2 / 3)
    assert metrics["specificity"] == pytest.approx(1 / 2)
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert metrics["roc_auc"] == pytest.approx(5 / 6)


def test_bootstrap_interval_narrows_with_more_cases():
    rng = np.random.default_rng(0)

    def width(n):
        y = rng.integers(0, 2, n)
        p = np.clip(y * 0.3 + rng.uniform(0, 0.7, n), 0, 1)
        estimate = summarise(y, np.column_stack([1 - p, p]), np.arange(n) % 5, n_boot=300)["accuracy"]
        return estimate.ci_high - estimate.ci_low

    assert width(400) < width(40)


def test_paired_t_test_behaviour():
    same = paired_t_test("models", "a", "b", "accuracy", [0.8, 0.7, 0.9], [0.8, 0.7, 0.9], 0.2)
    assert same.p_value == 1.0 and same.mean_difference == 0
    better = paired_t_test("models", "a", "b", "accuracy", [0.90, 0.85, 0.92, 0.88, 0.91],
                           [0.70, 0.68, 0.74, 0.69, 0.72], 0.2)
    assert better.p_value < 0.001 and better.p_value_corrected > better.p_value
    from scipy import stats

    assert better.p_value == pytest.approx(stats.ttest_rel([0.90, 0.85, 0.92, 0.88, 0.91],
                                                           [0.70, 0.68, 0.74, 0.69, 0.72]).pvalue)
    # the same non-zero difference in every fold: zero variance, the t-test is undefined (not p = 0)
    constant = paired_t_test("models", "a", "b", "accuracy", [0.75, 0.70, 0.80], [0.70, 0.65, 0.75], 0.33)
    assert constant.mean_difference == pytest.approx(0.05)
    assert math.isnan(constant.p_value) and math.isnan(constant.p_value_corrected)


def test_small_cohort_is_refused_with_numbers():
    y, names = encode_labels(["zero"] * 4 + ["non-zero"] * 20, "binary")
    assert names == ["zero", "non-zero"]
    with pytest.raises(InputError, match="class 'zero' has 4 case"):
        check_class_counts(y, names, TrainingConfig())
    with pytest.raises(InputError, match="at least two classes"):
        encode_labels(["zero"] * 5, "binary")
    with pytest.raises(InputError, match="not classes of task"):
        encode_labels(["zero", "moderate"], "binary")


# --------------------------------------------------------------------------------------------------- explanations

@pytest.mark.parametrize("model", ["xgboost", "lightgbm", "random_forest"])
def test_treeshap_contributions_add_up_to_the_model_score(model):
    table, labels = numeric_cohort(n=50, seed=4)
    y = np.array([1 if label == "non-zero" else 0 for label in labels])
    pipeline = make_pipeline(model, 2)
    pipeline.set_params(classifier__n_estimators=30)
    pipeline.fit(table.values, y)
    values, base, units, _transformed = tree_shap(pipeline, table.values[:10])
    probability = pipeline.predict_proba(table.values[:10])[:, 1]
    total = values[:, 1, :].sum(axis=1) + base[:, 1]
    if units == "log-odds":
        assert np.allclose(1 / (1 + np.exp(-total)), probability, atol=1e-5)
    else:
        assert units == "probability" and np.allclose(total, probability, atol=1e-6)
    assert np.allclose(values[:, 0, :], -values[:, 1, :]) or units == "probability"
    importances, _units = global_importances(pipeline, table.values, table.columns)
    assert importances[0].feature == "original_firstorder_F0"  # the informative feature leads
    explanation = explain_rows(pipeline, table.values[:1], table.columns, ["zero", "non-zero"], [1])[0]
    assert explanation.class_name == "non-zero"
    magnitudes = [abs(c.contribution) for c in explanation.contributions]
    assert magnitudes == sorted(magnitudes, reverse=True)


# ---------------------------------------------------------------------------------------------------- multi-class

def test_risk_category_model_from_radiomics_of_fabricated_cases():
    """Classic categories from pyradiomics features of fabricated CTs, labels from the project's own scoring."""
    from support.classifier_cohort import make_case, reference_agatston
    from CoronaryCalciumLib.scoring.categories import classic_category
    from CoronaryCalciumLib.features.registry import make_extractor

    extractor = make_extractor("radiomics")
    parts, labels, ids = [], [], []
    for seed in range(60):
        ct, region = make_case(seed + 500, seed % 4)
        category = classic_category(reference_agatston(ct, region))[0]
        if category not in ("none", "mild", "moderate"):
            continue
        parts.append([extractor.extract(ct, region)])
        labels.append(category)
        ids.append("r%d" % seed)
    table = FeatureTable.from_cases(ids, parts)
    config = TrainingConfig(task="risk_category", models=("lightgbm", "random_forest"), outer_folds=3, inner_folds=3,
                            calibration_folds=3, **QUICK)
    result = run_protocol(table, labels, config)
    assert result.class_names == ["none", "mild", "moderate"]
    for candidate in result.candidates:
        assert set(candidate.summary) == {"accuracy", "balanced_accuracy", "f1_macro", "weighted_kappa",
                                          "roc_auc_ovr"}
        assert np.allclose(candidate.probabilities.sum(axis=1), 1.0)
        assert all(np.isfinite(e.value) for e in candidate.summary.values())
    # calibrated probabilities of the final model sum to one; explanation is for the predicted class
    probabilities = result.final.estimator.predict_proba(table.select(result.final.feature_set).values)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    explanation = explain_rows(result.final.pipeline, table.values[:1], table.columns, result.class_names,
                               [int(probabilities[0].argmax())])[0]
    assert explanation.class_name == result.class_names[int(probabilities[0].argmax())]
    assert explanation.units in ("softmax logit", "probability")
