"""Cohorts and the ``coronary-calcium phantom`` command: manifest, protocol mix, burden mix, CLI errors."""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections import Counter

import numpy as np
import pytest

from CoronaryCalciumLib.cli import phantom as phantom_command
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.phantom import PhantomConfig, generate_cohort, small_config
from CoronaryCalciumLib.phantom.cohort import COLUMNS, case_config
from CoronaryCalciumLib.phantom.plaques import BURDEN_FREQUENCIES, draw_burden


def _cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    phantom_command.register(parser.add_subparsers())
    args = parser.parse_args(["phantom", *argv])
    return args.func(args)


def test_cohort_manifest_lists_every_case(tmp_path):
    manifest = generate_cohort(str(tmp_path), 3, seed=4, base=small_config(n_slices=20), vary=False)
    with open(manifest, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 3 and list(rows[0]) == COLUMNS
    for row in rows:
        for column in ("image", "mask", "truth", "heart", "aorta", "lesions"):
            assert os.path.exists(os.path.join(str(tmp_path), row[column])), row[column]
        with open(os.path.join(str(tmp_path), row["truth"]), encoding="utf-8") as stream:
            truth = json.load(stream)
        assert int(row["label"]) == int(truth["reference"]["agatston"] > 0)
        assert float(row["agatston"]) == pytest.approx(truth["reference"]["agatston"], abs=1e-3)
    # resuming regenerates nothing and gives the same manifest
    before = open(manifest, encoding="utf-8").read()
    mtime = os.path.getmtime(os.path.join(str(tmp_path), rows[0]["image"]))
    generate_cohort(str(tmp_path), 3, seed=4, base=small_config(n_slices=20), vary=False)
    assert open(manifest, encoding="utf-8").read() == before
    assert os.path.getmtime(os.path.join(str(tmp_path), rows[0]["image"])) == mtime


def test_cohort_protocols_and_burdens_are_varied():
    base = PhantomConfig()
    configs = [case_config(base, 0, i) for i in range(400)]
    thickness = Counter(c.slice_thickness_mm for c in configs)
    assert thickness[3.0] > 200 and all(thickness[t] > 10 for t in (2.5, 1.5, 1.0))
    assert 40 < sum(c.variant == "chest" for c in configs) < 120
    thin = [c.noise_sd_hu for c in configs if c.slice_thickness_mm <= 1.0]
    thick = [c.noise_sd_hu for c in configs if c.slice_thickness_mm == 3.0]
    assert np.mean(thin) > np.mean(thick)
    rng = np.random.default_rng(0)
    drawn = Counter(draw_burden(rng) for _ in range(4000))
    for burden, frequency in BURDEN_FREQUENCIES.items():
        assert drawn[burden] / 4000 == pytest.approx(frequency, abs=0.03)
    assert drawn["zero"] > drawn["severe"] and drawn["mild"] > drawn["severe"]


def test_cli_writes_a_case_and_the_qrm_replica(tmp_path, capsys):
    out = str(tmp_path / "case")
    assert _cli(out, "--seed", "3", "--small", "--slices", "16", "--burden", "mild", "--quiet") == 0
    assert {"image.nii.gz", "coronary.nii.gz", "heart.nii.gz", "aorta.nii.gz", "truth.json"} <= set(os.listdir(out))
    qrm = str(tmp_path / "qrm")
    assert _cli(qrm, "--qrm", "--matrix", "128", "--quiet") == 0
    assert {"image.nii.gz", "inserts.nii.gz", "calibration.nii.gz", "truth.json"} <= set(os.listdir(qrm))


@pytest.mark.parametrize("argv, message", [
    (["--thickness", "20"], "slice thickness"),
    (["--matrix", "8"], "matrix"),
    (["--noise", "-1"], "noise"),
    (["--seed", "-2"], "seed"),
])
def test_cli_rejects_bad_settings_with_one_line(tmp_path, argv, message):
    with pytest.raises(InputError, match=message):
        _cli(str(tmp_path / "x"), "--small", *argv)


@pytest.mark.slow
def test_cohort_category_mix_at_full_size(tmp_path):
    """A realistic mix: zero and non-zero cases, more low than high scores (20 full-size cases of varied protocols, about 5 minutes on 2 busy cores)."""
    manifest = generate_cohort(str(tmp_path), 20, seed=1, base=PhantomConfig(coverage_mm=150.0))
    with open(manifest, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    labels = Counter(int(r["label"]) for r in rows)
    assert labels[0] >= 4 and labels[1] >= 4
    scores = np.array([float(r["agatston"]) for r in rows])
    assert ((scores > 0) & (scores <= 100)).sum() >= (scores > 400).sum()


def test_case_with_spine_partly_outside_the_field_of_view_renders():
    # cohort seed 2025, case 18 at the default 250 mm field of view: the spinous process lies outside the image;
    # shapes outside the plane must simply not be painted (this case once stopped a whole cohort)
    from CoronaryCalciumLib.phantom import PhantomConfig, generate_case
    from CoronaryCalciumLib.phantom.cohort import case_config, case_seed

    config = case_config(PhantomConfig().validate(), 2025, 18, True).validate()
    case = generate_case(case_seed(2025, 18), config)
    assert case.ct.array.shape[1:] == (config.matrix, config.matrix)
    assert case.ct.array.max() > 130  # bone is there
