"""The contrast protocol (the source study's second experiment): no contrast case is ever tested, both arms share
their test folds, the mixed arm's training folds hold the contrast cases, and the paired tests compare matching folds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from CoronaryCalciumLib.classifier.contrast_protocol import (arm_splits, contrast_folds, final_training_cases,
                                                            run_contrast_protocol)
from CoronaryCalciumLib.classifier.metrics import compute_metrics
from CoronaryCalciumLib.classifier.nested_cv import TrainingConfig
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.features.table import FeatureTable


def mixed_cohort(n_plain=40, n_contrast=20, seed=0):
    """Feature 0 carries the label; contrast shifts features 0-2 upwards (a contrast-enhanced region is brighter)."""
    rng = np.random.default_rng(seed)
    n = n_plain + n_contrast
    y = np.array([i % 2 for i in range(n)])
    contrast = np.array([i >= n_plain for i in range(n)])
    X = rng.normal(size=(n, 6))
    X[:, 0] += 1.8 * y
    X[contrast, :3] += 1.0
    columns = ["original_firstorder_F%d" % i for i in range(6)]
    table = FeatureTable(["c%02d" % i for i in range(n)], columns, X, {"radiomics": columns},
                         contrast=list(contrast))
    return table, ["non-zero" if v else "zero" for v in y], contrast


CONFIG = dict(models=("random_forest",), grid="quick", outer_folds=4, inner_folds=3, calibration="none", n_boot=50)


@pytest.fixture(scope="module")
def both_arms():
    table, labels, contrast = mixed_cohort()
    return table, labels, contrast, run_contrast_protocol(table, labels, contrast, TrainingConfig(**CONFIG))


def test_no_contrast_case_is_ever_in_a_test_fold(both_arms):
    _table, _labels, contrast, result = both_arms
    for candidate in result.candidates:
        assert np.isnan(candidate.probabilities[contrast]).all()  # never predicted: never tested
        assert not np.isnan(candidate.probabilities[~contrast]).any()  # every non-contrast case tested once
    for arm in ("noncontrast", "mixed"):
        for _train, test in arm_splits(result.fold_of_case, contrast, arm):
            assert not (test & contrast).any()
    assert [result.test_count(f) for f in range(4)] == [10, 10, 10, 10]


def test_both_arms_share_their_test_folds_and_differ_only_by_the_contrast_training_cases(both_arms):
    _table, _labels, contrast, result = both_arms
    plain = arm_splits(result.fold_of_case, contrast, "noncontrast")
    mixed = arm_splits(result.fold_of_case, contrast, "mixed")
    for (train_a, test_a), (train_b, test_b) in zip(plain, mixed):
        assert np.array_equal(test_a, test_b)
        assert not (train_a & contrast).any() and (train_b & contrast).sum() == 15  # 3 of 4 folds' 20 contrast cases
        assert np.array_equal(train_a, train_b & ~contrast)
        assert not (train_b & test_b).any()


def test_folds_are_stratified_on_label_and_contrast():
    _table, labels, contrast = mixed_cohort()
    y = np.array([label == "non-zero" for label in labels], dtype=int)
    folds = contrast_folds(y, contrast, TrainingConfig(**CONFIG))
    for enhanced in (False, True):
        for label in (0, 1):
            group = (contrast == enhanced) & (y == label)
            counts = [int(np.sum(group & (folds == fold))) for fold in range(4)]
            assert sum(counts) == group.sum() and max(counts) - min(counts) <= 1, (enhanced, label, counts)


def test_the_paired_tests_between_arms_compare_matching_folds(both_arms):
    _table, labels, contrast, result = both_arms
    y = result.y
    plain = result.candidate("radiomics", "random_forest", arm="noncontrast")
    mixed = result.candidate("radiomics", "random_forest", arm="mixed")
    splits = arm_splits(result.fold_of_case, contrast, "noncontrast")
    for fold, (_train, test) in enumerate(splits):  # fold f of each arm scored on the cases of test fold f
        for candidate in (plain, mixed):
            expected = compute_metrics(y[test], candidate.probabilities[test])["accuracy"]
            assert candidate.folds[fold].metrics["accuracy"] == expected
    between = [t for t in result.paired_tests if t.comparison == "training data" and t.metric == "accuracy"]
    assert len(between) == 1
    test = between[0]
    assert test.a == "noncontrast: radiomics / random_forest" and test.b == "mixed: radiomics / random_forest"
    a, b = plain.fold_scores("accuracy"), mixed.fold_scores("accuracy")
    assert test.n_folds == 4 and np.isclose(test.mean_difference, np.mean(np.subtract(a, b)))
    if np.var(np.subtract(a, b)) > 0:
        assert np.isclose(test.p_value, stats.ttest_rel(a, b).pvalue)
        assert test.p_value_corrected >= test.p_value
    for estimate in plain.summary.values():  # pooled over the 40 tested cases only
        assert np.isnan(estimate.value) or 0.0 <= estimate.value <= 1.0


def test_the_final_model_is_fitted_on_the_cases_of_its_arm(both_arms):
    _table, _labels, contrast, result = both_arms
    assert result.final is not None and result.final_arm in ("noncontrast", "mixed")
    cases = final_training_cases(result)
    assert len(cases) == (60 if result.final_arm == "mixed" else 40)


def test_a_cohort_without_contrast_cases_cannot_run_the_mixed_arm():
    table, labels, contrast = mixed_cohort(n_plain=40, n_contrast=0)
    with pytest.raises(InputError, match="no contrast-enhanced case"):
        run_contrast_protocol(table, labels, contrast, TrainingConfig(**CONFIG), train_on="mixed")
    result = run_contrast_protocol(table, labels, contrast, TrainingConfig(**CONFIG), train_on="noncontrast",
                                   fit_final=False)
    assert [c.arm for c in result.candidates] == ["noncontrast"]


def test_too_few_non_contrast_cases_per_class_are_refused_before_training():
    table, labels, contrast = mixed_cohort(n_plain=6, n_contrast=30)
    with pytest.raises(InputError, match="nested CV"):
        run_contrast_protocol(table, labels, contrast, TrainingConfig(**CONFIG))


def test_a_case_without_a_contrast_column_is_settled_by_the_detection_and_says_so():
    from CoronaryCalciumLib.classifier.cohort import settle_contrast
    from CoronaryCalciumLib.io.manifest import ManifestCase
    from CoronaryCalciumLib.scoring.contrast import ContrastCheck

    enhanced = ContrastCheck(enhanced=True, evidence=["median 310 HU"], median_hu=310.0, reference="blood pool")
    plain = ContrastCheck(enhanced=False, median_hu=41.0, reference="blood pool")
    unstated = ManifestCase("a", "a.nii")
    settle_contrast(unstated, enhanced)
    assert unstated.contrast is True and unstated.contrast_source == "detected, contrast-enhanced: median 310 HU"
    other = ManifestCase("b", "b.nii")
    settle_contrast(other, plain)
    assert other.contrast is False and "no enhancement found (blood-pool median 41 HU" in other.contrast_source
    stated = ManifestCase("c", "c.nii", contrast=False, contrast_source="manifest")
    settle_contrast(stated, enhanced)  # the manifest decides; the disagreement is said
    assert stated.contrast is False and stated.contrast_source.startswith("manifest (the detection disagrees")
