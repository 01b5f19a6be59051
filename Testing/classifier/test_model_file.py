"""Model files without pickle: the shipped models give the same predictions as the joblib files they were converted
from, every model family and calibration round-trips exactly, tampered or foreign content is refused, and
``convert-model`` converts an old file (only a trusted one, after a warning)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from support.data import REPO, only_shipped_trust
from CoronaryCalciumLib.cli import main
from CoronaryCalciumLib.classifier.convert import load_joblib_artefact, probe_rows
from CoronaryCalciumLib.classifier.model import (SHIPPED_FILES, TrainedModel, build_artefact, load_shipped,
                                                 load_trusted, predict_case, save_artefact)
from CoronaryCalciumLib.classifier.model_file import ALLOWED_TYPES, from_bytes, to_bytes
from CoronaryCalciumLib.classifier.trust import UntrustedModelError, read_registry, sha256_bytes, user_registry_path
from CoronaryCalciumLib.errors import InputError

MODELS = os.path.join(REPO, "models")


@pytest.fixture(autouse=True)
def private_config(tmp_path, monkeypatch):
    only_shipped_trust(tmp_path, monkeypatch)


def _old_shipped_bytes(task: str):
    """The joblib file the shipped model was converted from, out of git history, checked against the SHA-256 its card
    records; None when this checkout has no history (a tarball, a shallow clone)."""
    with open(os.path.join(MODELS, SHIPPED_FILES[task].replace(".model.zip", ".card.json")), encoding="utf-8") as f:
        origin = json.load(f)["artefact"]["converted_from"]
    path = "models/" + origin["file"]
    try:
        commits = subprocess.run(["git", "-C", REPO, "log", "--format=%H", "--", path], capture_output=True,
                                 check=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None, origin
    for commit in commits:
        shown = subprocess.run(["git", "-C", REPO, "show", "%s:%s" % (commit, path)], capture_output=True)
        if shown.returncode == 0 and sha256_bytes(shown.stdout) == origin["sha256"]:
            return shown.stdout, origin
    return None, origin


@pytest.mark.parametrize("task", sorted(SHIPPED_FILES))
def test_shipped_models_predict_exactly_as_the_joblib_files_they_were_converted_from(task, capsys):
    old_bytes, origin = _old_shipped_bytes(task)
    if old_bytes is None:
        pytest.skip("%s is not in this checkout's git history (shallow clone or tarball)" % origin["file"])
    old = TrainedModel(load_joblib_artefact(origin["file"], old_bytes))
    new = load_shipped(task)
    assert new.columns == old.columns and new.class_names == old.class_names
    assert new.artefact["extractors"] == old.artefact["extractors"]  # the features are extracted the same way
    assert new.global_importances == old.global_importances
    rows = probe_rows(old.artefact)
    rng = np.random.default_rng(7)  # and rows spread over each feature's training range, with undefined values
    medians = rows[2]
    spread = medians * rng.uniform(-2.0, 4.0, size=(200, len(medians)))
    spread[rng.random(spread.shape) < 0.05] = np.nan
    matrix = np.vstack([rows, spread])
    assert np.array_equal(old.predict_proba(matrix), new.predict_proba(matrix))
    from CoronaryCalciumLib.phantom.case import generate_case
    from CoronaryCalciumLib.phantom.config import small_config

    case = generate_case(990011, small_config(burden="moderate"))
    before = predict_case(old, case.ct, case.coronary_region()).to_dict()
    after = predict_case(new, case.ct, case.coronary_region()).to_dict()
    assert before.pop("model_sha256") == "" and after.pop("model_sha256") == new.sha256
    assert before == after  # label, probabilities, TreeSHAP contributions, warnings


LOAD_SCRIPT = """
import sys, time, json
start = time.perf_counter()
from CoronaryCalciumLib.classifier.model import TrainedModel
if sys.argv[1] == "joblib":
    from CoronaryCalciumLib.classifier.convert import load_joblib_artefact
    model = TrainedModel(load_joblib_artefact("old", open(sys.argv[2], "rb").read()))
else:
    from CoronaryCalciumLib.classifier.model import load_shipped
    model = load_shipped(sys.argv[2])
seconds = time.perf_counter() - start
from CoronaryCalciumLib.classifier.convert import probe_rows
print(json.dumps({"seconds": seconds, "p": model.predict_proba(probe_rows(model.artefact)).tolist()}))
"""


@pytest.mark.parametrize("task", sorted(SHIPPED_FILES))
def test_load_time_of_a_shipped_model_before_and_after_conversion_is_printed(task, tmp_path, capsys):
    """Each load in a fresh Python (imports included, as a CLI run or the Slicer module pays them); printed, not
    asserted: this machine is shared."""
    old_bytes, origin = _old_shipped_bytes(task)
    if old_bytes is None:
        pytest.skip("%s is not in this checkout's git history (shallow clone or tarball)" % origin["file"])
    old_path = tmp_path / origin["file"]
    old_path.write_bytes(old_bytes)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "CoronaryCalcium"))
    results = {}
    for kind, argument in (("joblib", str(old_path)), ("model.zip", task)):
        done = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, kind.split(".")[0], argument], env=env,
                              capture_output=True, text=True, check=True)
        results[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["joblib"]["p"] == results["model.zip"]["p"]
    with capsys.disabled():
        print("\nload of %s in a fresh Python, imports included (shared machine, under load): joblib %.2f s, "
              "model.zip %.2f s" % (SHIPPED_FILES[task], results["joblib"]["seconds"], results["model.zip"]["seconds"]))


def _fitted(family: str, calibration: str, n_classes: int = 2):
    """A pipeline of ``family`` fitted on a small random table, calibrated like nested_cv does; as an artefact."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    from CoronaryCalciumLib.classifier.pipelines import make_pipeline

    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 6))
    X[:, 5] = X[:, 0] * 2 + 0.01 * rng.normal(size=90)  # a column the correlation filter drops
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1.0).astype(int) * (n_classes - 2)
    X[rng.random(X.shape) < 0.05] = np.nan
    pipeline = make_pipeline(family, n_classes)
    if calibration == "none":
        estimator = pipeline.fit(X, y)
    else:
        estimator = CalibratedClassifierCV(pipeline, method=calibration, ensemble=False,
                                           cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X, y)
        pipeline = estimator.calibrated_classifiers_[0].estimator
    names = ["zero", "non-zero"] if n_classes == 2 else ["none", "mild", "severe"]
    artefact = build_artefact(name="test_%s" % family, task="binary" if n_classes == 2 else "risk_category",
                              class_names=names, feature_set="radiomics", columns=["f%d" % i for i in range(6)],
                              extractors={}, estimator=estimator, pipeline=pipeline, model_family=family,
                              global_importances=[], importance_units="", synthetic=True, card={})
    return artefact, X


@pytest.mark.parametrize("family,calibration,n_classes", [
    ("xgboost", "sigmoid", 2), ("lightgbm", "sigmoid", 2), ("random_forest", "isotonic", 2),
    ("lightgbm", "none", 3), ("xgboost", "isotonic", 3)])
def test_every_model_family_round_trips_with_identical_probabilities(family, calibration, n_classes, tmp_path):
    artefact, X = _fitted(family, calibration, n_classes)
    path = str(tmp_path / "model.zip")
    save_artefact(artefact, path)
    with zipfile.ZipFile(path) as archive:
        members = archive.namelist()
    booster = {"xgboost": ["booster-0.json"], "lightgbm": ["booster-0.txt"], "random_forest": []}[family]
    assert members == ["artefact.json", "estimator.skops"] + booster
    loaded = load_trusted(path, trust=True)
    assert np.array_equal(loaded.predict_proba(X), artefact["estimator"].predict_proba(X))
    assert loaded.artefact["pipeline"] is loaded.artefact["estimator"] or calibration != "none"
    first = dict(zip(loaded.columns, X[0]))
    assert loaded.predict(first).to_dict()["probabilities"] == TrainedModel(artefact).predict(first).to_dict()[
        "probabilities"]


def test_a_tampered_model_file_is_refused(tmp_path):
    artefact, _X = _fitted("xgboost", "sigmoid")
    path = str(tmp_path / "model.zip")
    save_artefact(artefact, path)
    load_trusted(path, trust=True)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    tampered = str(tmp_path / "tampered.model.zip")
    open(tampered, "wb").write(bytes(data))
    with pytest.raises(UntrustedModelError, match="refusing to load"):
        load_trusted(tampered)


def _with_member(path: str, name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename == name else source.read(info.filename))
    return buffer.getvalue()


def test_a_trusted_file_holding_a_type_outside_the_allowed_list_is_refused_unloaded(tmp_path):
    """Even a file whose hash someone trusted is not loaded when its skops part names another type (here a function
    that would make a folder)."""
    import skops.io

    artefact, _X = _fitted("random_forest", "sigmoid")
    path = str(tmp_path / "model.zip")
    save_artefact(artefact, path)
    evil = skops.io.dumps({"estimator": os.makedirs, "pipeline": None})
    forged = str(tmp_path / "forged.model.zip")
    open(forged, "wb").write(_with_member(path, "estimator.skops", evil))
    with pytest.raises(InputError, match="outside the allowed list.*makedirs"):
        load_trusted(forged, trust=True)
    assert "posix.makedirs" not in ALLOWED_TYPES and "xgboost.core.Booster" not in ALLOWED_TYPES


def test_a_booster_that_does_not_match_its_estimator_is_refused(tmp_path):
    artefact, _X = _fitted("xgboost", "sigmoid")
    data = to_bytes(artefact)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename != "booster-0.json":
                target.writestr(info, source.read(info.filename))
    with pytest.raises(InputError, match="not a readable CoronaryCalcium model"):
        from_bytes(buffer.getvalue(), "no-booster.model.zip")


def _old_joblib(artefact, path: str) -> None:
    """A model file the way CoronaryCalcium wrote them before (format 1: a joblib pickle of the artefact dict)."""
    import joblib

    joblib.dump(dict(artefact, format_version=1), path, compress=3)


def test_convert_model_refuses_an_untrusted_pickle_then_converts_it_with_trust(tmp_path, capsys):
    artefact, X = _fitted("lightgbm", "sigmoid")
    old = str(tmp_path / "old.joblib")
    _old_joblib(artefact, old)
    out = str(tmp_path / "new.model.zip")
    assert main(["convert-model", old, out]) == 2
    assert "refusing to convert" in capsys.readouterr().err and not os.path.exists(out)
    with pytest.raises(InputError, match="coronary-calcium convert-model %s" % old):
        load_trusted(old, trust=True)
    assert main(["convert-model", old, out, "--trust"]) == 0
    captured = capsys.readouterr()
    assert "a pickle can run any code" in captured.err and "probabilities identical" in captured.out
    model = load_trusted(out)  # trusted by the conversion: the user's registry has its hash
    assert [entry.sha256 for entry in read_registry(user_registry_path())] == [model.sha256]
    assert np.array_equal(model.predict_proba(X), artefact["estimator"].predict_proba(X))
    assert main(["convert-model", out, str(tmp_path / "again.model.zip")]) == 2
    assert "nothing to convert" in capsys.readouterr().err


def _fresh_process(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)


def test_loading_a_model_does_not_import_every_scikit_learn_module_and_trusts_only_the_estimators_models_use(tmp_path):
    """skops' default trust is limited to the estimators CoronaryCalcium models are built from: a model still loads
    and predicts, scikit-learn's unrelated packages stay unimported, and a support-vector machine (an estimator skops
    would otherwise trust by default) is refused."""
    import skops.io
    from sklearn.svm import SVC

    foreign = str(tmp_path / "svc.skops")
    open(foreign, "wb").write(skops.io.dumps({"estimator": SVC(), "pipeline": None}))
    code = ("import sys\n"
            "from CoronaryCalciumLib.classifier.model import load_shipped\n"
            "from CoronaryCalciumLib.classifier.model_file import _load_sklearn\n"
            "from CoronaryCalciumLib.errors import InputError\n"
            "model = load_shipped('binary')\n"
            "print('loaded', len(model.columns))\n"
            "print('unrelated', sorted(m for m in ('sklearn.gaussian_process', 'sklearn.naive_bayes', 'sklearn.neural_network') "
            "if m in sys.modules))\n"
            "try:\n"
            "    _load_sklearn(open(%r, 'rb').read(), 'svc')\n"
            "    print('svc loaded')\n"
            "except InputError as error:\n"
            "    print('svc refused:', error)\n" % foreign)
    result = _fresh_process(code)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("loaded ") and int(lines[0].split()[1]) > 0
    assert lines[1] == "unrelated []"
    assert lines[2].startswith("svc refused:") and "sklearn.svm._classes.SVC" in lines[2]
