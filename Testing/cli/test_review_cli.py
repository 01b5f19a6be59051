"""`coronary-calcium review CASE_DIR`: a reader's edits rewrite an assessed case, keep the automatic result, and bad
edits change nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil

import pytest

from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.reporting.case_files import REVIEWED_FILES


def _digests(folder):
    return {name: hashlib.sha256(open(os.path.join(folder, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(folder)) if os.path.isfile(os.path.join(folder, name))}


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    """A phantom assessed with its pseudo-label mask (patient data kept, so the result knows its CT's path)."""
    from CoronaryCalciumLib.phantom import generate_case, small_config
    from CoronaryCalciumLib.phantom.writer import write_case

    root = tmp_path_factory.mktemp("review-cli")
    phantom = str(root / "phantom")
    write_case(generate_case(17, small_config(burden="severe", noise_sd_hu=20.0)), phantom)
    manifest = root / "cases.csv"
    manifest.write_text("id,image,mask\np17,%s,%s\n" % (os.path.join(phantom, "image.nii.gz"),
                                                       os.path.join(phantom, "coronary.nii.gz")))
    out = str(root / "out")
    assert main(["assess", str(manifest), "--out", out, "--include-phi", "--no-report"]) == 0
    return phantom, out


@pytest.fixture
def case(assessed, tmp_path):
    phantom, out = assessed
    copy = str(tmp_path / "out")
    shutil.copytree(out, copy)
    return phantom, copy, os.path.join(copy, "p17")


def _result(case_dir):
    with open(os.path.join(case_dir, "result.json"), encoding="utf-8") as stream:
        return json.load(stream)


def test_review_rewrites_the_case_keeps_the_automatic_result_and_updates_the_summary(case, capsys):
    _, out, case_dir = case
    before = _result(case_dir)
    lesion = max(before["lesions"], key=lambda l: l["agatston"])
    other = min(before["lesions"], key=lambda l: l["agatston"])
    target = next(a for a in ("LM", "LAD", "LCX", "RCA") if a != other["artery"])
    code = main(["review", case_dir, "--exclude", "%d:bone" % lesion["id"], "--artery", "%d=%s" % (other["id"], target),
                 "--reader", "Dr Smith"])
    assert code == 0
    assert "reviewed by Dr Smith" in capsys.readouterr().out
    after = _result(case_dir)
    assert after["reviewed"] is True and after["schema_version"] == 3
    assert after["agatston"] == pytest.approx(before["agatston"] - lesion["agatston"], rel=1e-6)
    assert after["review"]["automatic"]["agatston"] == pytest.approx(before["agatston"])
    assert [e["action"] for e in after["review"]["edits"]] == ["artery", "exclude"]  # the documented order
    assert _result(os.path.join(case_dir, "automatic")) == before
    assert set(REVIEWED_FILES) - {"report.html"} <= set(os.listdir(os.path.join(case_dir, "automatic")))
    with open(os.path.join(case_dir, "lesions.csv"), newline="") as stream:
        rows = {int(r["id"]): r for r in csv.DictReader(stream)}
    assert lesion["id"] not in rows and rows[other["id"]]["artery"] == target
    with open(os.path.join(out, "summary.csv"), newline="") as stream:
        row = next(csv.DictReader(stream))
    assert row["reviewed"] == "yes" and row["review_edits"] == "2"
    assert float(row["agatston"]) == pytest.approx(after["agatston"], abs=0.01)
    assert float(row["automatic_agatston"]) == pytest.approx(before["agatston"], abs=0.01)
    assert "reviewed: 2 edit(s)" in open(os.path.join(out, "overview.html")).read()


def test_undo_drops_the_last_edit_and_a_second_review_adds_to_the_first(case):
    _, _, case_dir = case
    lesions = _result(case_dir)["lesions"]
    assert main(["review", case_dir, "--exclude", "%d" % lesions[0]["id"], "--reader", "A", "--quiet"]) == 0
    assert main(["review", case_dir, "--exclude", "%d:noise" % lesions[1]["id"], "--reader", "B", "--quiet"]) == 0
    both = _result(case_dir)
    assert both["review"]["readers"] == ["A", "B"] and len(both["review"]["edits"]) == 2
    assert main(["review", case_dir, "--undo", "1", "--quiet"]) == 0
    one = _result(case_dir)
    assert len(one["review"]["edits"]) == 1
    assert one["agatston"] == pytest.approx(both["review"]["automatic"]["agatston"] - lesions[0]["agatston"], rel=1e-6)


def test_an_edits_file_and_an_added_lesion_are_applied(case, tmp_path):
    import numpy as np

    from CoronaryCalciumLib.io.ct import load_ct

    phantom, _, case_dir = case
    ct = load_ct(os.path.join(phantom, "image.nii.gz"))
    before = _result(case_dir)
    lesion = before["lesions"][0]
    import SimpleITK as sitk

    ids = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(case_dir, "lesion_ids.nrrd")))
    voxel = tuple(int(v) for v in np.argwhere(ids == lesion["id"])[0])
    point = ct.geometry.index_to_lps(voxel)
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps([{"action": "exclude", "lesion": lesion["id"], "reason": "other",
                                  "note": "to add it back"},
                                 {"action": "add", "point_lps_mm": list(point), "artery": "LCX"}]))
    assert main(["review", case_dir, "--edits", str(edits), "--reader", "R", "--quiet"]) == 0
    after = _result(case_dir)
    added = after["lesions"][-1]
    assert added["id"] == len(before["lesions"]) + len(before["excluded_lesions"]) + 1
    assert added["artery"] == "LCX" and added["agatston"] >= lesion["agatston"] - 1e-6
    assert after["review"]["edits"][1]["lesion"] == added["id"]


@pytest.mark.parametrize("arguments, message", [
    (["--artery", "999=LAD"], "no lesion 999"),
    (["--artery", "1=LXX"], "does not exist"),
    (["--exclude", "1:boredom"], "not one of"),
    (["--add", "9999,0,0"], "outside the CT"),
    (["--add", "1,2"], "three coordinates"),
    (["--undo", "5"], "cannot undo"),
])
def test_a_bad_edit_is_one_line_exit_2_and_changes_no_file(case, capsys, arguments, message):
    _, _, case_dir = case
    before = _digests(case_dir)
    assert main(["review", case_dir] + arguments) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert _digests(case_dir) == before and not os.path.exists(os.path.join(case_dir, "automatic"))


def test_a_case_whose_ct_changed_or_is_gone_is_refused(case, capsys, tmp_path):
    import SimpleITK as sitk

    phantom, _, case_dir = case
    changed = str(tmp_path / "changed.nii.gz")
    image = sitk.ReadImage(os.path.join(phantom, "image.nii.gz"))
    image[0, 0, 0] = image[0, 0, 0] + 1
    sitk.WriteImage(image, changed)
    before = _digests(case_dir)
    assert main(["review", case_dir, "--exclude", "1", "--image", changed]) == 2
    assert "SHA-256 differs" in capsys.readouterr().err
    assert main(["review", case_dir, "--exclude", "1", "--image", str(tmp_path / "gone.nii.gz")]) == 2
    assert "is gone" in capsys.readouterr().err
    assert _digests(case_dir) == before


def test_assess_keeps_a_reviewed_case_unless_forced(case, capsys):
    phantom, out, case_dir = case
    assert main(["review", case_dir, "--exclude", "1", "--quiet"]) == 0
    manifest = os.path.join(os.path.dirname(out), "again.csv")
    with open(manifest, "w") as stream:
        stream.write("id,image,mask\np17,%s,%s\n" % (os.path.join(phantom, "image.nii.gz"),
                                                    os.path.join(phantom, "coronary.nii.gz")))
    capsys.readouterr()
    assert main(["assess", manifest, "--out", out, "--include-phi", "--no-report"]) == 0
    assert "reviewed by a reader: kept" in capsys.readouterr().err
    assert _result(case_dir)["reviewed"] is True
    assert main(["assess", manifest, "--out", out, "--include-phi", "--no-report", "--force"]) == 0
    assert _result(case_dir)["reviewed"] is False
