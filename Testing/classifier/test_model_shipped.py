"""The models shipped in models/: registry hashes, loading, refusal when tampered, predictions on unseen phantoms."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from support.data import REPO, only_shipped_trust
from CoronaryCalciumLib.classifier.model import MODEL_SUFFIX, SHIPPED_FILES, load_shipped, predict_case
from CoronaryCalciumLib.classifier.trust import UntrustedModelError, read_registry, sha256_file

MODELS = os.path.join(REPO, "models")
REGISTRY = os.path.join(MODELS, "registry.json")


@pytest.fixture(autouse=True)
def no_user_trust(tmp_path, monkeypatch):
    only_shipped_trust(tmp_path, monkeypatch)


def test_registry_lists_every_shipped_model_with_its_hash():
    entries = {entry.file: entry for entry in read_registry(REGISTRY)}
    for task, file_name in SHIPPED_FILES.items():
        assert file_name in entries, file_name
        path = os.path.join(MODELS, file_name)
        assert entries[file_name].sha256 == sha256_file(path)
        assert entries[file_name].task == task
        assert os.path.getsize(path) < 3_000_000  # small enough to ship


@pytest.mark.parametrize("task", sorted(SHIPPED_FILES))
def test_shipped_model_loads_verified_and_says_it_is_synthetic(task):
    model = load_shipped(task)
    assert model.sha256 == sha256_file(os.path.join(MODELS, SHIPPED_FILES[task]))
    assert model.task == task and model.synthetic
    card = model.card
    assert card["synthetic_training_data"] is True and card["clinically_validated"] is False
    assert "NOT CLINICALLY VALIDATED" in card["warning"]
    assert model.global_importances and model.global_importances[0].importance > 0
    assert model.feature_set == "radiomics" and len(model.columns) == 107
    text = open(os.path.join(MODELS, SHIPPED_FILES[task].replace(MODEL_SUFFIX, ".card.md"))).read()
    assert "NOT CLINICALLY VALIDATED" in text and model.sha256 in text


def test_tampered_shipped_model_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "models"
    shutil.copytree(MODELS, str(copy), ignore=shutil.ignore_patterns("*.png", "*.training"))
    path = copy / SHIPPED_FILES["binary"]
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setenv("CORONARY_CALCIUM_MODELS", str(copy))
    with pytest.raises(UntrustedModelError, match="refusing to load"):
        load_shipped("binary")
    assert load_shipped("risk_category").task == "risk_category"  # the untouched one still loads


UNSEEN = ((990001, "zero"), (990002, "severe"), (990003, "zero"), (990004, "moderate"))


def test_shipped_models_predict_unseen_phantoms(capsys):
    """Cases generated with seeds outside the training cohort (listed in the card) get sensible predictions."""
    from CoronaryCalciumLib.phantom.case import generate_case
    from CoronaryCalciumLib.phantom.config import MaskImperfections, PhantomConfig

    binary, categories = load_shipped("binary"), load_shipped("risk_category")
    import json

    with open(os.path.join(MODELS, "cac_binary_synthetic.card.json")) as stream:
        card = json.load(stream)
    assert card["artefact"]["sha256"] == binary.sha256
    training_seeds = set(card["training_data"]["case_seeds"])
    assert len(training_seeds) == 200
    correct = 0
    for seed, burden in UNSEEN:
        assert seed not in training_seeds
        config = PhantomConfig(burden=burden, fov_mm=340.0, imperfections=MaskImperfections(enabled=True))
        case = generate_case(seed, config)
        truth = "non-zero" if case.truth.reference.agatston > 0 else "zero"
        prediction = predict_case(binary, case.ct, case.coronary_region())
        category = predict_case(categories, case.ct, case.coronary_region())
        assert prediction.label in ("zero", "non-zero") and 0.5 <= prediction.probability <= 1.0
        assert category.label in categories.class_names
        assert np.isclose(sum(category.probabilities.values()), 1.0)
        assert prediction.top_contributions and prediction.contribution_units in ("log-odds", "probability")
        correct += prediction.label == truth
        with capsys.disabled():
            print("\nunseen phantom %d: reference %.1f (%s, %s) -> %s; category %s (p %.2f)" % (
                seed, case.truth.reference.agatston, truth, case.truth.reference.classic, prediction.summary(),
                category.label, category.probability))
    with capsys.disabled():
        print("shipped binary model on %d unseen phantoms: accuracy %.2f" % (len(UNSEEN), correct / len(UNSEEN)))
    assert correct >= 3


@pytest.mark.slow
def test_shipped_binary_model_on_an_unseen_cohort(tmp_path, capsys):
    """40 unseen phantoms of the shipped cohort's kind: accuracy with a 95% CI, above the majority-class rate."""
    from CoronaryCalciumLib.classifier.metrics import summarise
    from CoronaryCalciumLib.classifier.cohort import extract_cohort, labels_for_task
    from CoronaryCalciumLib.io.manifest import read_manifest
    from CoronaryCalciumLib.phantom.cohort import generate_cohort
    from CoronaryCalciumLib.phantom.config import MaskImperfections, PhantomConfig

    model = load_shipped("binary")
    manifest = generate_cohort(str(tmp_path / "unseen"), 40, seed=777, workers=2,
                               base=PhantomConfig(fov_mm=340.0, imperfections=MaskImperfections(enabled=True)))
    cases = read_manifest(manifest)
    cohort = extract_cohort(cases, model.extractors(), jobs=2)
    y = np.array([model.class_names.index(label) for label in labels_for_task(cohort.cases, "binary")])
    rows = [dict(zip(cohort.table.columns, row)) for row in cohort.table.values]
    probabilities = model.predict_proba(model.feature_matrix(rows)[0])
    summary = summarise(y, probabilities, np.zeros(len(y), dtype=int), n_boot=500)
    with capsys.disabled():
        print("\nshipped binary model on 40 unseen phantoms: " + ", ".join(
            "%s %s" % (name, estimate.text()) for name, estimate in summary.items()))
    majority = max(np.mean(y == 0), np.mean(y == 1))
    assert summary["accuracy"].value > majority


def test_random_forest_without_shap_still_predicts_and_says_why_no_contributions(monkeypatch):
    """In Slicer's Python shap is not installed (it ships a PyPI 'slicer' package): the RandomForest risk model must
    still give its verdict, with a warning instead of per-case contributions."""
    import sys

    from CoronaryCalciumLib.phantom.case import generate_case
    from CoronaryCalciumLib.phantom.config import small_config

    categories = load_shipped("risk_category")
    assert categories.model_family.lower().startswith("random")
    case = generate_case(990005, small_config(burden="mild"))
    with_shap = predict_case(categories, case.ct, case.coronary_region())
    monkeypatch.setitem(sys.modules, "shap", None)  # import shap -> ImportError
    without = predict_case(categories, case.ct, case.coronary_region())
    assert without.label == with_shap.label and without.probability == pytest.approx(with_shap.probability)
    assert without.top_contributions == []
    assert any("need the shap package" in warning for warning in without.warnings)
