"""Train the classifiers shipped in models/ on a synthetic phantom cohort: the one reproducible command.

    .venv/bin/python tools/train_shipped_model.py [--work /tmp/cac-shipped] [--cases 200] [--holdout 60] [--workers 2]

What it runs (the same commands a user runs on a real cohort):
 1. coronary-calcium phantom WORK/cohort --cohort 200 --seed 2025 --imperfect-masks --fov 340 --workers 2
    (varied protocols: mostly gated 3 mm scans, some thin/overlapping and non-gated chest CTs; TotalSegmentator-like
    mask errors; reference Agatston from the phantom truth)
 2. coronary-calcium train WORK/cohort/manifest.csv --out WORK/train --task both --synthetic --name cac_{task}_synthetic
    (radiomics -> correlation filter -> RF / XGBoost / LightGBM, nested 5 x 5 CV, standard grid, seed 0)
 3. copies each model with its card, training report and ROC plot into models/, records the SHA-256 in
    models/registry.json (the registry the project ships: these files load without --trust)
 4. coronary-calcium phantom WORK/holdout --cohort 60 --seed 4242 --imperfect-masks --fov 340, then
    coronary-calcium evaluate of both models on it (cases never seen in training) -> models/<name>.holdout.md / .json
The generated CTs stay in WORK (about 30 MB per case); nothing from it but models, cards and reports enters the repo.
Same seeds and package versions give the same cohort and the same models; other package versions may change the
bytes (hence the hash), not the procedure.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "CoronaryCalcium"))
MODELS = os.path.join(REPO, "models")

TRAIN_SEED = 2025
HOLDOUT_SEED = 4242
TASKS = ("binary", "risk_category")
# 340 mm field of view: heart, spine and most of the chest in view (0.66 mm pixels at 512). At the generator's 250 mm
# cardiac default some anatomies put the spinous process outside the image and the generator stops with a TypeError
# (phantom/scene.py SpinePainter; reported to the phantom's owner), which would end the whole cohort.
FOV_MM = "340"
DESCRIPTION = ("Synthetic phantom cohort: %d cases from `coronary-calcium phantom OUT --cohort %d --seed %d "
               "--imperfect-masks --fov 340` (varied gated/non-gated protocols, 0.625-3 mm slices, "
               "TotalSegmentator-like coronary mask errors); labels from the phantom's reference Agatston score. "
               "Synthetic data only: NOT clinically validated.")


def run_command(argv):
    """Run one ``coronary-calcium`` subcommand in-process through its own ``register`` (as the CLI does)."""
    parser = argparse.ArgumentParser(prog="coronary-calcium")
    subparsers = parser.add_subparsers(dest="command")
    importlib.import_module("CoronaryCalciumLib.cli.%s" % argv[0]).register(subparsers)
    args = parser.parse_args(argv)
    print("\n$ coronary-calcium %s" % " ".join(argv), flush=True)
    code = args.func(args)
    if code:
        raise SystemExit("coronary-calcium %s failed with exit code %s" % (argv[0], code))


def seeds_of(manifest: str):
    with open(manifest, newline="", encoding="utf-8") as stream:
        return [int(row["seed"]) for row in csv.DictReader(stream)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=os.path.join("/tmp", "cac-shipped"), help="scratch folder for the cohorts")
    parser.add_argument("--cases", type=int, default=200, help="training cases (default 200)")
    parser.add_argument("--holdout", type=int, default=60, help="held-out evaluation cases (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="processes for generation, features, grid search")
    parser.add_argument("--grid", default="standard", choices=("standard", "quick"))
    args = parser.parse_args()

    from CoronaryCalciumLib.classifier.card import card_markdown
    from CoronaryCalciumLib.classifier.model import MODEL_FILE, MODEL_SUFFIX
    from CoronaryCalciumLib.classifier.trust import TrustEntry, read_registry, sha256_file, write_registry

    work = os.path.abspath(args.work)
    cohort, holdout, trained = (os.path.join(work, name) for name in ("cohort", "holdout", "train"))
    cache = os.path.join(work, "feature-cache")
    run_command(["phantom", cohort, "--cohort", str(args.cases), "--seed", str(TRAIN_SEED), "--imperfect-masks",
                 "--fov", FOV_MM, "--workers", str(args.workers), "--quiet"])
    run_command(["train", os.path.join(cohort, "manifest.csv"), "--out", trained, "--task", "both", "--synthetic",
                 "--name", "cac_{task}_synthetic", "--grid", args.grid, "--seed", "0", "--jobs", str(args.workers),
                 "--cache", cache, "--no-trust",
                 "--description", DESCRIPTION % (args.cases, args.cases, TRAIN_SEED)])
    training_seeds = seeds_of(os.path.join(cohort, "manifest.csv"))

    registry_path = os.path.join(MODELS, "registry.json")
    entries = [e for e in read_registry(registry_path) if not e.file.endswith(("_synthetic.joblib",
                                                                               "_synthetic" + MODEL_SUFFIX))]
    shipped = {}
    for task in TASKS:
        name = "cac_%s_synthetic" % task
        source = os.path.join(trained, task)
        model_file = name + MODEL_SUFFIX
        shutil.copyfile(os.path.join(source, MODEL_FILE), os.path.join(MODELS, model_file))
        os.chmod(os.path.join(MODELS, model_file), 0o644)
        sha256 = sha256_file(os.path.join(MODELS, model_file))
        with open(os.path.join(source, "model_card.json"), encoding="utf-8") as stream:
            card = json.load(stream)
        assert card["artefact"]["sha256"] == sha256
        card["artefact"]["file"] = model_file
        card["training_data"]["case_seeds"] = training_seeds
        card["how_made"]["reproduce"] = "python tools/train_shipped_model.py --cases %d --holdout %d" % (
            args.cases, args.holdout)
        with open(os.path.join(MODELS, name + ".card.json"), "w", encoding="utf-8") as stream:
            json.dump(card, stream, indent=2)
            stream.write("\n")
        with open(os.path.join(MODELS, name + ".card.md"), "w", encoding="utf-8") as stream:
            stream.write(card_markdown(card))
        report_dir = os.path.join(MODELS, name + ".training")
        os.makedirs(report_dir, exist_ok=True)
        for item in ("report.md", "report.json", "metrics.csv", "paired_tests.csv", "roc.png", "calibration.png"):
            shutil.copyfile(os.path.join(source, item), os.path.join(report_dir, item))
        entries.append(TrustEntry(sha256=sha256, file=model_file, name=name, task=task,
                                  note="shipped; trained on synthetic phantoms only, not clinically validated",
                                  added=card["created"]))
        shipped[task] = model_file
    write_registry(registry_path, entries)
    os.chmod(registry_path, 0o644)  # a shipped file: readable by everyone (atomic writes create it 0600)
    print("\nregistry %s: %s" % (registry_path, ", ".join("%s %s" % (e.file, e.sha256[:12]) for e in entries)))

    run_command(["phantom", holdout, "--cohort", str(args.holdout), "--seed", str(HOLDOUT_SEED), "--imperfect-masks",
                 "--fov", FOV_MM, "--workers", str(args.workers), "--quiet"])
    overlap = set(seeds_of(os.path.join(holdout, "manifest.csv"))) & set(training_seeds)
    if overlap:
        raise SystemExit("held-out cohort shares case seeds with the training cohort: %s" % sorted(overlap))
    for task, model_file in shipped.items():
        out = os.path.join(work, "holdout-evaluation", task)
        run_command(["evaluate", os.path.join(holdout, "manifest.csv"), "--model", os.path.join(MODELS, model_file),
                     "--out", out, "--cache", cache, "--jobs", str(args.workers)])
        stem = model_file[: -len(MODEL_SUFFIX)]
        with open(os.path.join(out, "report.md"), encoding="utf-8") as stream:
            text = stream.read().replace("](roc.png)", "](%s.holdout-roc.png)" % stem)
        text = text.replace(" ![calibration](calibration.png)", "")
        with open(os.path.join(MODELS, stem + ".holdout.md"), "w", encoding="utf-8") as stream:
            stream.write(text)
        shutil.copyfile(os.path.join(out, "report.json"), os.path.join(MODELS, stem + ".holdout.json"))
        shutil.copyfile(os.path.join(out, "roc.png"), os.path.join(MODELS, stem + ".holdout-roc.png"))
    print("\nshipped models written to %s" % MODELS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
