"""End to end: `train` on a generated cohort, the report, the model file and its trust, `evaluate` on unseen cases."""

from __future__ import annotations

import csv
import json
import os
import shutil

import importlib

import numpy as np
import pytest

from support.classifier_cohort import make_case, train_small_model, write_cohort
from CoronaryCalciumLib.cli import main
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.classifier.model import load_trusted, predict_case
from CoronaryCalciumLib.classifier.trust import UntrustedModelError, add_trusted, read_registry, user_registry_path

cli = importlib.import_module("CoronaryCalciumLib.cli.main")  # the module (the package exports its main())


@pytest.fixture(autouse=True)
def private_config(tmp_path, monkeypatch):
    """Never touch the real user's registry or cache; make sure the commands are registered with the CLI."""
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CORONARY_CALCIUM_CACHE", str(tmp_path / "cache"))
    missing = tuple(name for name in ("train", "evaluate") if name not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", tuple(cli.COMMANDS) + missing)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training run shared by the tests below (40 generated cases, quick grid)."""
    root = tmp_path_factory.mktemp("cohort")
    config_dir = str(tmp_path_factory.mktemp("config"))
    out = train_small_model(str(root), 40, 0, config_dir, "fabricated test cohort", ["--bootstrap", "200"])
    return {"root": root, "manifest": str(root / "train" / "manifest.csv"), "out": out, "config": config_dir}


def test_train_writes_report_with_computed_metrics(trained):
    folder = os.path.join(trained["out"], "binary")
    for name in ("report.md", "report.json", "metrics.csv", "folds.csv", "paired_tests.csv", "predictions.csv",
                 "roc.png", "calibration.png", "model.zip", "model_card.json", "model_card.md"):
        assert os.path.getsize(os.path.join(folder, name)) > 0, name
    report = json.load(open(os.path.join(folder, "report.json")))
    assert report["cases"] == 40 and report["class_counts"] == {"zero": 10, "non-zero": 30}
    assert len(report["pipelines"]) == 3
    for pipeline in report["pipelines"]:
        for name in ("accuracy", "sensitivity", "specificity", "f1", "roc_auc"):
            metric = pipeline["metrics"][name]
            assert metric["value"] is not None and 0.0 <= metric["value"] <= 1.0
            assert metric["ci_low"] <= metric["value"] <= metric["ci_high"]
        assert len(pipeline["folds"]) == 5
    assert report["paired_tests"] and all(t["n_folds"] == 5 for t in report["paired_tests"])
    with open(os.path.join(folder, "predictions.csv")) as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 3 * 40
    assert all(abs(float(r["p_zero"]) + float(r["p_non-zero"]) - 1) < 1e-6 for r in rows)
    from PIL import Image  # matplotlib brings Pillow

    assert Image.open(os.path.join(folder, "roc.png")).size[0] >= 400
    # the feature table of the cohort is kept for reruns
    header = open(os.path.join(trained["out"], "features.csv")).readline()
    assert header.startswith("case_id,contrast,radiomics:original_shape_")  # contrast: scan metadata, not a feature


def test_model_card_states_origin_hash_and_versions(trained):
    folder = os.path.join(trained["out"], "binary")
    card = json.load(open(os.path.join(folder, "model_card.json")))
    from CoronaryCalciumLib.classifier.trust import sha256_file

    assert card["artefact"]["sha256"] == sha256_file(os.path.join(folder, "model.zip"))
    assert card["synthetic_training_data"] is True and card["clinically_validated"] is False
    assert "NOT CLINICALLY VALIDATED" in card["warning"]
    assert card["training_data"]["cases"] == 40
    assert card["features"]["extractors"]["radiomics"]["params"]["setting"]["binWidth"] == 25
    assert card["package_versions"]["scikit-learn"] and card["package_versions"]["pyradiomics"]
    assert card["how_made"]["command"].startswith("coronary-calcium train")
    assert card["cross_validation"]["final_pipeline_metrics"]["accuracy"]["value"] is not None
    text = open(os.path.join(folder, "model_card.md")).read()
    assert "NOT CLINICALLY VALIDATED" in text and card["artefact"]["sha256"] in text


def test_trained_model_is_trusted_and_predicts_unseen_cases(trained, monkeypatch):
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", trained["config"])
    model = load_trusted(os.path.join(trained["out"], "binary"))
    assert model.task == "binary" and model.synthetic
    correct = 0
    for seed, burden in ((9001, 0), (9002, 3), (9003, 0), (9004, 2)):
        prediction = predict_case(model, *make_case(seed, burden))
        assert prediction.label in ("zero", "non-zero")
        assert prediction.probabilities[prediction.label] == pytest.approx(prediction.probability)
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
        assert len(prediction.top_contributions) == 5
        assert all(c.feature in model.columns for c in prediction.top_contributions)
        assert "synthetic" in " ".join(prediction.warnings)
        data = prediction.to_dict()
        assert json.loads(json.dumps(data))["model_sha256"] == model.sha256
        correct += prediction.label == ("zero" if burden == 0 else "non-zero")
    assert correct >= 3  # calcium up to 900 HU vs none: the fabricated task is easy


def test_evaluate_on_unseen_cohort(trained, monkeypatch, tmp_path):
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", trained["config"])
    manifest = write_cohort(str(tmp_path / "test"), 12, seed=7, label_column="label")
    out = str(tmp_path / "evaluation")
    assert main(["evaluate", manifest, "--model", os.path.join(trained["out"], "binary"), "--out", out,
                     "--bootstrap", "200", "--quiet"]) == 0
    report = json.load(open(os.path.join(out, "report.json")))
    assert report["cases"] == 12
    for name in ("accuracy", "sensitivity", "specificity", "f1", "roc_auc"):
        assert 0.0 <= report["metrics"][name]["value"] <= 1.0
    assert os.path.getsize(os.path.join(out, "roc.png")) > 0
    assert report["model"]["synthetic_training_data"] is True


def test_tampered_model_is_refused(trained, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", trained["config"])
    original = os.path.join(trained["out"], "binary", "model.zip")
    tampered = str(tmp_path / "model.zip")
    data = bytearray(open(original, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(tampered, "wb").write(bytes(data))
    with pytest.raises(UntrustedModelError, match="refusing to load"):
        load_trusted(tampered)
    manifest = write_cohort(str(tmp_path / "test"), 2, seed=8)
    code = main(["evaluate", manifest, "--model", tampered, "--out", str(tmp_path / "e")])
    assert code == 2
    assert "refusing to load model" in capsys.readouterr().err
    # an exact copy under another name is the same bytes: trusted
    copy = str(tmp_path / "copy.model.zip")
    shutil.copyfile(original, copy)
    assert load_trusted(copy).sha256 == load_trusted(original).sha256


def test_untrusted_model_needs_explicit_trust(trained, tmp_path, monkeypatch):
    """A model from elsewhere (fresh config dir = nothing trusted) is refused until --trust records its hash."""
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", str(tmp_path / "elsewhere"))
    path = os.path.join(trained["out"], "binary", "model.zip")
    with pytest.raises(UntrustedModelError):
        load_trusted(path)
    model = load_trusted(path, trust=True)
    entries = read_registry(user_registry_path())
    assert [e.sha256 for e in entries] == [model.sha256]
    assert load_trusted(path).sha256 == model.sha256  # now without --trust


def test_damaged_registry_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", str(tmp_path))
    with open(user_registry_path(), "w") as stream:
        stream.write("{broken")
    with pytest.raises(InputError, match="unreadable"):
        add_trusted("x", "0" * 64)


def test_a_pickle_is_refused_unopened_even_with_trust(tmp_path, monkeypatch):
    """A joblib/pickle file is never unpickled by loading (its code would run): one line saying how to convert it."""
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", str(tmp_path))
    marker = tmp_path / "pickle-ran"
    path = str(tmp_path / "evil.joblib")
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.makedirs, (str(marker),))

    with open(path, "wb") as stream:
        pickle.dump({"format": "coronary-calcium-model", "payload": Evil()}, stream)
    for trust in (False, True):
        with pytest.raises(InputError, match="convert-model") as error:
            load_trusted(path, trust=trust)
        assert "\n" not in str(error.value)
    assert not marker.exists()
    assert read_registry(user_registry_path()) == []  # --trust recorded nothing either


def test_a_file_that_is_neither_zip_nor_pickle_is_not_a_model(tmp_path, monkeypatch):
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", str(tmp_path))
    path = str(tmp_path / "notes.model.zip")
    with open(path, "w") as stream:
        stream.write("hello")
    with pytest.raises(InputError, match="not a CoronaryCalcium model"):
        load_trusted(path, trust=True)


def test_train_refuses_a_manifest_without_labels(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("image,mask\na.nii.gz,b.nii.gz\n")
    assert main(["train", str(manifest), "--out", str(tmp_path / "o"), "--quiet"]) == 2


def test_train_refuses_too_few_cases_per_class(tmp_path, capsys):
    manifest = write_cohort(str(tmp_path / "small"), 8, seed=3)
    assert main(["train", manifest, "--out", str(tmp_path / "o"), "--quiet", "--grid", "quick"]) == 2
    assert "nested CV" in capsys.readouterr().err


def test_failed_cases_are_listed_not_dropped_silently(tmp_path):
    from CoronaryCalciumLib.classifier.cohort import extract_cohort
    from CoronaryCalciumLib.io.manifest import read_manifest
    from CoronaryCalciumLib.features.registry import make_extractor

    manifest = write_cohort(str(tmp_path / "c"), 3, seed=4)
    cases = read_manifest(manifest)
    import SimpleITK as sitk

    empty = sitk.ReadImage(cases[1].mask) * 0
    sitk.WriteImage(empty, cases[1].mask)
    cohort = extract_cohort(cases, [make_extractor("radiomics")])
    assert [c.case_id for c in cohort.cases] == [cases[0].case_id, cases[2].case_id]
    assert cohort.skipped[0].case_id == cases[1].case_id and "empty" in cohort.skipped[0].reason
    assert cohort.table.values.shape == (2, 107) and np.isfinite(cohort.table.values[:, :20]).all()


def test_train_that_fails_its_class_balance_check_writes_nothing(tmp_path, capsys):
    manifest = write_cohort(str(tmp_path / "small"), 8, seed=3)
    out = tmp_path / "o"
    assert main(["train", manifest, "--out", str(out), "--quiet", "--grid", "quick"]) == 2
    assert "nested CV" in capsys.readouterr().err
    assert not out.exists()  # no features.csv left behind by a failed run


def test_a_model_path_that_is_a_device_is_refused_not_read_until_memory_runs_out(tmp_path, capsys):
    from CoronaryCalciumLib.classifier.model import resolve_model_path

    with pytest.raises(InputError, match="not a regular file"):
        resolve_model_path("/dev/zero")
    code = main(["assess", str(tmp_path), "--out", str(tmp_path / "o"), "--model", "/dev/zero", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "not a regular file" in err and len(err.strip().splitlines()) == 1


def test_a_manifest_in_another_encoding_is_refused_with_one_line(tmp_path, capsys):
    manifest = tmp_path / "cohort.csv"
    manifest.write_bytes("image,mask,id\nJosé.nii.gz,José_mask.nii.gz,José\n".encode("latin-1"))
    for command in (["assess", str(manifest), "--out", str(tmp_path / "o"), "--no-progress", "--model", "none"],
                    ["train", str(manifest), "--out", str(tmp_path / "t"), "--quiet"]):
        code = main(command)
        err = capsys.readouterr().err
        assert code == 2 and "is not UTF-8 text (byte 0xe9" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists() and not (tmp_path / "t").exists()
