"""Masks a user already has, laid out as TotalSegmentator writes them, become the heart region without running
TotalSegmentator (`--totalseg-output DIR`), on the real LUNG1-001 chest CT and its shared heart and aorta masks."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from CoronaryCalciumLib.cli import main
from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.region.totalseg_region import (TotalSegRegionSettings, build_region, heart_shell,
                                                        read_labels_on_ct_grid)
from support.data import DATA, LUNG1, QRM, data_path

MASKS = os.path.join(DATA, "lung1-001-chest-ct", "heart-aorta-masks")


@pytest.fixture(scope="module")
def lung1():
    return load_ct(data_path(LUNG1))


def test_the_heart_shell_is_built_from_the_existing_heart_and_aorta_masks(lung1):
    built = build_region(lung1, TotalSegRegionSettings(backend="heart", existing_output=data_path(MASKS)))
    heart = read_labels_on_ct_grid(os.path.join(MASKS, "heart.nii.gz"), lung1)[0] > 0
    aorta = read_labels_on_ct_grid(os.path.join(MASKS, "aorta.nii.gz"), lung1)[0] > 0
    shell = heart_shell(heart, aorta, lung1.geometry, TotalSegRegionSettings(), image=lung1.array)
    assert ((built.region.labels > 0) == shell).all()
    assert set(built.region.names.values()) == {"LM", "LAD", "LCX", "RCA"}
    assert built.region.blood_pool is not None and built.region.blood_pool.any()
    assert "existing TotalSegmentator masks" in built.region.source
    assert built.runs == []  # TotalSegmentator did not run


def test_score_finds_the_visible_coronary_calcium_of_lung1_from_the_shared_masks(tmp_path):
    out = tmp_path / "lung1.json"
    code = main(["score", data_path(LUNG1), "--region", "heart", "--totalseg-output", data_path(MASKS),
                 "--model", "none", "--json", str(out), "--quiet"])
    assert code == 0
    result = json.loads(out.read_text())
    # the scan's coronary arteries are visibly calcified (a reader sees several thousand Agatston, mostly RCA/LCX)
    assert result["agatston"] > 1000
    assert result["per_artery"]["RCA"]["agatston"] > 500
    assert len(result["lesions"]) >= 11
    assert result["region"]["source"].startswith("heart shell from existing TotalSegmentator masks")


def test_a_folder_without_the_aorta_is_a_one_line_error(tmp_path, capsys):
    folder = tmp_path / "only-heart"
    folder.mkdir()
    shutil.copy(os.path.join(data_path(MASKS), "heart.nii.gz"), folder / "heart.nii.gz")
    code = main(["score", data_path(LUNG1), "--region", "heart", "--totalseg-output", str(folder), "--model", "none",
                 "--quiet"])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "aorta.nii.gz" in error[0] and "Traceback" not in error[0]


def test_existing_masks_need_a_totalsegmentator_region(tmp_path, capsys):
    code = main(["score", data_path(LUNG1), "--totalseg-output", str(tmp_path), "--quiet"])
    assert code == 2
    assert "--region heart or --region coronary" in capsys.readouterr().err


def test_assess_refuses_one_mask_folder_for_many_cases(tmp_path, capsys):
    code = main(["assess", data_path(LUNG1), data_path(QRM), "--out", str(tmp_path / "o"), "--region", "heart",
                 "--totalseg-output", data_path(MASKS), "--model", "none", "--no-progress"])
    assert code == 2
    assert "2 cases were found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_assess_pairs_one_mask_subfolder_per_case_by_the_image_name(tmp_path):
    """A folder with one subfolder per case (named after the image) serves several cases; a case without its
    subfolder fails alone, with a one-line reason, and the others are assessed."""
    folders = tmp_path / "masks"
    paired = folders / os.path.basename(data_path(LUNG1))  # LUNG1-001's DICOM folder is called "image"
    paired.mkdir(parents=True)
    for name in ("heart.nii.gz", "aorta.nii.gz"):
        shutil.copy(os.path.join(data_path(MASKS), name), paired / name)
    out = tmp_path / "o"
    code = main(["assess", data_path(LUNG1), data_path(QRM), "--out", str(out), "--region", "heart",
                 "--totalseg-output", str(folders), "--model", "none", "--no-progress"])
    assert code == 1  # one case failed
    rows = {row.split(",")[1]: row for row in (out / "summary.csv").read_text().splitlines()[1:]}
    assert set(rows) == {"ok", "failed"}
    assert "subfolder named 'dicom'" in rows["failed"]
    ok = [name for name in os.listdir(out) if (out / name / "result.json").exists()]
    assert len(ok) == 1
    result = json.loads((out / ok[0] / "result.json").read_text())
    assert result["agatston"] > 4000 and result["settings"]["lesion_filters_applied"]
