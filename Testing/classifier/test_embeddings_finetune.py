"""The CT-FM fine-tuning probe on a small fabricated cohort with random-weight CT-FM: metrics computed for the
fine-tuned model and the frozen linear probe, out-of-fold predictions made by models trained without those cases,
determinism, and the report files. The numbers themselves mean nothing (random weights, synthetic cases). The probe
runs are slow (about 1 min on 2 cores): only the settings check is in the default suite."""

from __future__ import annotations

import os

import numpy as np
import pytest

from CoronaryCalciumLib.errors import InputError
from support.classifier_cohort import make_case
from support.embeddings import ctfm_weights, require_embeddings


@pytest.fixture(scope="module")
def probe_inputs():
    require_embeddings()
    import torch

    from CoronaryCalciumLib.features.embeddings.ctfm import CTFMExtractor, load_encoder

    extractor = CTFMExtractor(weights=ctfm_weights(), device="cpu")
    volumes, labels = [], []
    for seed in range(12):
        burden = 0 if seed % 2 == 0 else 1 + seed % 3
        ct, region = make_case(100 + seed, burden)
        volumes.append(extractor.prepare(ct, region).data)
        labels.append("zero" if burden == 0 else "non-zero")
    model = load_encoder(extractor.weights_file(), torch.device("cpu"))
    return model, volumes, labels


@pytest.fixture(scope="module")
def probe_result(probe_inputs):
    import torch

    from CoronaryCalciumLib.classifier.finetune_probe import run_probe

    model, volumes, labels = probe_inputs
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = run_probe(model, volumes, ["c%02d" % i for i in range(12)], labels, "binary", _config(),
                       torch.device("cpu"))
    return result, before


def _config(**changes):
    from CoronaryCalciumLib.classifier.finetune_probe import ProbeConfig

    settings = dict(epochs=2, outer_folds=3, batch_size=4, n_boot=50, seed=0)
    settings.update(changes)
    return ProbeConfig(**settings)


@pytest.mark.slow
def test_probe_reports_both_methods_with_out_of_fold_predictions(probe_inputs, probe_result, tmp_path):
    import torch

    from CoronaryCalciumLib.classifier.finetune_probe import write_probe_report

    model = probe_inputs[0]
    result, before = probe_result
    assert set(result.probabilities) == {"fine-tuned", "linear probe"}
    for probabilities in result.probabilities.values():
        assert probabilities.shape == (12, 2)
        assert np.allclose(probabilities.sum(axis=1), 1.0)
    for summary in result.summary.values():
        assert 0.0 <= summary["accuracy"]["value"] <= 1.0
    assert {t.metric for t in result.paired_tests} == {"accuracy", "sensitivity", "specificity", "f1", "roc_auc"}
    assert sorted(np.bincount(result.fold_of_case)) == [4, 4, 4]
    # the shared pretrained encoder is never modified by fine-tuning (each fold trains a copy)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    paths = write_probe_report(result, str(tmp_path), note="random weights, synthetic cases")
    text = open(paths["finetune_report.md"], encoding="utf-8").read()
    assert "random weights, synthetic cases" in text and "| fine-tuned |" in text and "| linear probe |" in text
    assert len(open(paths["finetune_predictions.csv"]).read().splitlines()) == 1 + 2 * 12


@pytest.mark.slow
def test_fold_predictions_come_from_a_model_trained_without_the_fold(probe_inputs, probe_result):
    """Recompute fold 0 by hand from its training cases only: the probe's out-of-fold predictions match (which also
    shows that training is deterministic: two separate trainings gave the same model)."""
    import torch

    from CoronaryCalciumLib.classifier.finetune_probe import frozen_inputs, predict, train_fold
    from CoronaryCalciumLib.classifier.nested_cv import encode_labels

    model, volumes, labels = probe_inputs
    result = probe_result[0]
    config = _config()
    device = torch.device("cpu")
    y, _ = encode_labels(labels, "binary")
    train = np.flatnonzero(result.fold_of_case != 0)
    test = np.flatnonzero(result.fold_of_case == 0)
    train_volumes = [volumes[i] for i in train]
    cached_train, _, stages = frozen_inputs(model, train_volumes, config.unfreeze_stages, device)
    network = train_fold(stages, cached_train, y[train], 2, config, device, seed=config.seed)
    cached_test, _, _ = frozen_inputs(model, [volumes[i] for i in test], config.unfreeze_stages, device)
    assert np.allclose(predict(network, cached_test, device), result.probabilities["fine-tuned"][test], atol=1e-6)
    # fine-tuning moved the unfrozen stage away from the pretrained weights
    pretrained = stages.state_dict()
    tuned = network.stages.state_dict()
    assert any(not torch.equal(pretrained[k], tuned[k]) for k in pretrained if k.endswith("conv1.weight"))


def test_probe_settings_are_checked_before_any_work():
    """Bad settings and a cohort too small for the folds are refused before the network runs (no torch needed)."""
    from CoronaryCalciumLib.classifier.finetune_probe import run_probe

    volumes = [np.zeros((4, 4, 4), dtype=np.float32)] * 12
    labels = ["zero", "non-zero"] * 6
    with pytest.raises(InputError, match="unfreeze_stages"):
        run_probe(None, volumes, [str(i) for i in range(12)], labels, "binary", _config(unfreeze_stages=5), "cpu")
    with pytest.raises(InputError, match="needs at least"):
        run_probe(None, volumes, [str(i) for i in range(12)], labels, "binary", _config(outer_folds=7), "cpu")


@pytest.mark.slow
def test_finetune_probe_command_end_to_end(tmp_path):
    require_embeddings()
    import argparse

    from CoronaryCalciumLib.cli import finetune_probe
    from support.classifier_cohort import write_cohort

    manifest = write_cohort(str(tmp_path / "cohort"), 12, seed=3, burdens=[0, 1, 0, 2, 0, 3])
    parser = argparse.ArgumentParser()
    finetune_probe.register(parser.add_subparsers())
    args = parser.parse_args(["finetune-probe", manifest, "--out", str(tmp_path / "probe"), "--ctfm-weights",
                              ctfm_weights(), "--device", "cpu", "--epochs", "3", "--outer-folds", "3",
                              "--bootstrap", "50", "--quiet"])
    assert args.func(args) == 0
    assert os.path.exists(str(tmp_path / "probe" / "finetune_report.json"))
