"""The bad-input catalogue through the command line: one-line message, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import glob
import json
import os
import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from CoronaryCalciumLib.cli.main import main
from support.data import LUNG1, QRM, TS_EXAMPLES, data_path


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def expect_error(args, capsys, message, out_json):
    code, out, err = run_cli(args + ["--json", str(out_json)], capsys)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not os.path.exists(out_json)
    assert not [name for name in os.listdir(os.path.dirname(out_json)) if name.startswith(".")]  # no temp leftovers


def write_image(path, array, spacing=(0.7, 0.7, 3.0), origin=(0, 0, 0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing[: array.ndim])
    image.SetOrigin(origin[: array.ndim])
    sitk.WriteImage(image, str(path))
    return str(path)


@pytest.fixture()
def small_ct(tmp_path):
    """A valid 20x40x40 CT with a mask, as NIfTI."""
    array = np.full((20, 40, 40), 40, dtype=np.int16)
    array[:, :3, :] = -1000
    array[8:10, 20:24, 20:24] = 400
    mask = np.zeros(array.shape, dtype=np.uint8)
    mask[5:15, 15:30, 15:30] = 1
    return write_image(tmp_path / "ct.nii.gz", array), write_image(tmp_path / "mask.nii.gz", mask)


def test_valid_input_writes_json_with_the_required_keys(small_ct, tmp_path, capsys):
    image, mask = small_ct
    out = tmp_path / "out" / "result.json"
    code, stdout, err = run_cli(["score", image, "--mask", mask, "--json", str(out)], capsys)
    assert code == 0, err
    data = json.loads(out.read_text())
    for key in ("agatston", "volume_mm3", "mass_mg", "category", "per_artery", "lesions", "settings", "warnings"):
        assert key in data
    assert data["mass_mg"] is None
    assert set(data["category"]) >= {"classic", "cac_drs"}
    assert data["agatston"] == pytest.approx(2 * 16 * 0.49 * 4)
    assert "Agatston score" in stdout


def test_not_ct_modality(tmp_path, capsys):
    folder = tmp_path / "mr"
    folder.mkdir()
    for path in sorted(glob.glob(os.path.join(data_path(QRM), "*")))[:5]:
        ds = pydicom.dcmread(path)
        ds.Modality = "MR"
        ds.save_as(str(folder / os.path.basename(path)))
    mask = write_image(tmp_path / "m.nii.gz", np.ones((5, 4, 4), dtype=np.uint8))
    expect_error(["score", str(folder), "--mask", mask], capsys, "no CT series", tmp_path / "o.json")


def test_stored_values_not_in_hu(tmp_path, capsys):
    array = np.full((10, 30, 30), 1064, dtype=np.uint16)
    array[:, :3, :] = 24  # air stored as 24: no rescale applied
    image = write_image(tmp_path / "raw.nii.gz", array)
    mask = write_image(tmp_path / "m.nii.gz", np.ones(array.shape, dtype=np.uint8))
    expect_error(["score", image, "--mask", mask], capsys, "does not look like CT in HU", tmp_path / "o.json")


def test_two_dimensional_image(tmp_path, capsys):
    image = write_image(tmp_path / "slice.nrrd", np.full((30, 30), -500, dtype=np.int16))
    expect_error(["score", image, "--mask", image], capsys, "2D image", tmp_path / "o.json")


def test_empty_file(tmp_path, capsys):
    empty = tmp_path / "scan.nii.gz"
    empty.write_bytes(b"")
    expect_error(["score", str(empty), "--mask", str(empty)], capsys, "is empty", tmp_path / "o.json")


def test_unreadable_file(tmp_path, capsys):
    garbage = tmp_path / "scan.nrrd"
    garbage.write_bytes(os.urandom(2000))
    expect_error(["score", str(garbage), "--mask", str(garbage)], capsys, "cannot read", tmp_path / "o.json")


def test_folder_without_dicom(tmp_path, capsys):
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    expect_error(["score", str(folder), "--mask", str(folder)], capsys, "no DICOM image files", tmp_path / "o.json")


def test_missing_input(tmp_path, capsys):
    expect_error(["score", str(tmp_path / "nope"), "--mask", "x"], capsys, "input not found", tmp_path / "o.json")


def test_empty_region_of_interest_is_an_error_not_a_zero(small_ct, tmp_path, capsys):
    image, _mask = small_ct
    empty = write_image(tmp_path / "empty.nii.gz", np.zeros((20, 40, 40), dtype=np.uint8))
    expect_error(["score", image, "--mask", empty], capsys, "is empty", tmp_path / "o.json")


def test_probability_map_mask_is_refused(small_ct, tmp_path, capsys):
    image, _mask = small_ct
    probabilities = np.random.default_rng(0).random((20, 40, 40)).astype(np.float32)
    mask = write_image(tmp_path / "p.nii.gz", probabilities)
    expect_error(["score", image, "--mask", mask], capsys, "non-integer", tmp_path / "o.json")


def test_mask_on_another_grid_is_resampled_and_reported(tmp_path, capsys):
    image = os.path.join(data_path(TS_EXAMPLES), "pulmonary_report__ct_cropped.nii.gz")
    mask = os.path.join(TS_EXAMPLES, "pulmonary_report__heart.nii.gz")
    out = tmp_path / "r.json"
    code, _out, err = run_cli(["score", image, "--mask", mask, "--allow-contrast", "--json", str(out)], capsys)
    assert code == 0, err
    warnings = json.loads(out.read_text())["warnings"]
    assert any("another grid" in w and "resampled nearest-neighbour" in w for w in warnings)


def test_contrast_enhanced_ct_is_refused_with_the_reason(tmp_path, capsys):
    image = os.path.join(data_path(TS_EXAMPLES), "pulmonary_report__ct_cropped.nii.gz")
    mask = os.path.join(TS_EXAMPLES, "pulmonary_report__heart.nii.gz")
    expect_error(["score", image, "--mask", mask], capsys, "contrast-enhanced", tmp_path / "o.json")


def test_contrast_tag_in_dicom_is_refused(tmp_path, capsys):
    from support.data import JPEG2000_SERIES

    from CoronaryCalciumLib.io.ct import load_ct

    ct = load_ct(data_path(JPEG2000_SERIES))
    mask = write_image(tmp_path / "m.nii.gz", np.ones(ct.array.shape, dtype=np.uint8), spacing=ct.geometry.spacing,
                       origin=ct.geometry.origin)
    expect_error(["score", JPEG2000_SERIES, "--mask", mask], capsys, "contrast agent 'APPLIED'", tmp_path / "o.json")


def test_mask_of_another_scan_is_refused(small_ct, tmp_path, capsys):
    image, _mask = small_ct
    far = write_image(tmp_path / "far.nii.gz", np.ones((5, 5, 5), dtype=np.uint8), origin=(500, 500, 500))
    expect_error(["score", image, "--mask", far], capsys, "does not overlap the CT", tmp_path / "o.json")


def _qrm_copy(tmp_path, drop=None, shift=None):
    folder = tmp_path / "series"
    folder.mkdir()
    files = sorted(glob.glob(os.path.join(data_path(QRM), "*")), key=lambda f: float(
        pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))
    for index, path in enumerate(files):
        if index == drop:
            continue
        if index == shift:
            ds = pydicom.dcmread(path)
            ds.ImagePositionPatient[2] = float(ds.ImagePositionPatient[2]) + 1.0
            ds.save_as(str(folder / os.path.basename(path)))
        else:
            shutil.copy(path, folder)
    return str(folder)


def _qrm_mask(tmp_path, slices):
    mask = np.zeros((slices, 512, 512), dtype=np.uint8)
    mask[:, 200:240, 160:200] = 1
    return mask


def test_missing_slice_is_reported_and_scored(tmp_path, capsys):
    series = _qrm_copy(tmp_path, drop=30)
    from CoronaryCalciumLib.io.ct import load_ct

    ct = load_ct(series)
    assert ct.array.shape[0] == 46
    assert any("1 missing slice" in w for w in ct.warnings)
    assert ct.metadata.slice_increment_mm == pytest.approx(3.0)


def test_non_uniform_spacing_is_reported(tmp_path):
    from CoronaryCalciumLib.io.ct import load_ct

    ct = load_ct(_qrm_copy(tmp_path, shift=20))
    assert any("non-uniform slice spacing" in w for w in ct.warnings)
    assert ct.metadata.slice_increment_mm == pytest.approx(3.0)


def test_duplicate_slice_positions_are_refused(tmp_path, capsys):
    folder = tmp_path / "dup"
    folder.mkdir()
    files = sorted(glob.glob(os.path.join(data_path(LUNG1), "*")))[:6]
    for index, path in enumerate(files):
        ds = pydicom.dcmread(path)
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        shutil.copy(path, folder / ("a%d" % index))
        ds.save_as(str(folder / ("b%d" % index)))
    mask = write_image(tmp_path / "m.nii.gz", np.ones((6, 8, 8), dtype=np.uint8))
    expect_error(["score", str(folder), "--mask", mask], capsys, "duplicate positions", tmp_path / "o.json")


def test_mask_and_totalsegmentator_region_together_are_refused(small_ct, tmp_path, capsys):
    image, mask = small_ct
    expect_error(["score", image, "--mask", mask, "--region", "heart"], capsys, "either --mask or --region",
                 tmp_path / "o.json")


def test_no_region_at_all_is_refused(small_ct, tmp_path, capsys):
    image, _mask = small_ct
    expect_error(["score", image], capsys, "no region of interest", tmp_path / "o.json")


# --- issue 13: masks and voxels that used to give a silent wrong score or an internal error ---

def _ct_with_calcium_outside_the_mask(tmp_path):
    """The small CT plus a second calcification outside the mask: a region grown by mistake would score it."""
    array = np.full((20, 40, 40), 40, dtype=np.int16)
    array[:, :3, :] = -1000
    array[8:10, 20:24, 20:24] = 400
    array[16:18, 33:37, 33:37] = 600
    mask = np.zeros(array.shape, dtype=np.uint8)
    mask[5:15, 15:30, 15:30] = 1
    return array, mask


def test_a_mask_with_background_minus_one_is_refused_not_grown_to_the_whole_volume(tmp_path, capsys):
    array, mask = _ct_with_calcium_outside_the_mask(tmp_path)
    image = write_image(tmp_path / "ct.nii.gz", array)
    signed = np.where(mask > 0, 1, -1).astype(np.int16)
    expect_error(["score", image, "--mask", write_image(tmp_path / "m.nii.gz", signed)], capsys,
                 "holds negative values (-1)", tmp_path / "o.json")


def test_the_ct_given_as_its_own_mask_is_refused(tmp_path, capsys):
    image = write_image(tmp_path / "ct.nii.gz", _ct_with_calcium_outside_the_mask(tmp_path)[0])
    expect_error(["score", image, "--mask", image], capsys, "negative values", tmp_path / "o.json")
    stored = write_image(tmp_path / "stored.nrrd", (np.arange(20 * 40 * 40) % 4000).reshape(20, 40, 40)
                         .astype(np.uint16))
    expect_error(["score", image, "--mask", stored], capsys, "distinct values", tmp_path / "o.json")


def test_a_four_dimensional_mask_is_refused_with_one_line(small_ct, tmp_path, capsys):
    image, _mask = small_ct
    mask = np.zeros((3, 20, 40, 40), dtype=np.uint8)
    mask[:, 5:15, 15:30, 15:30] = 1
    four_d = sitk.JoinSeries([sitk.GetImageFromArray(volume) for volume in mask])
    four_d.SetSpacing((0.7, 0.7, 3.0, 1.0))
    sitk.WriteImage(four_d, str(tmp_path / "m4.nii.gz"))
    expect_error(["score", image, "--mask", str(tmp_path / "m4.nii.gz")], capsys, "4 dimensions", tmp_path / "o.json")
    vector = write_image(tmp_path / "mv.nii.gz", np.moveaxis(mask, 0, -1))  # a 3-D image of 3-vectors
    expect_error(["score", image, "--mask", vector], capsys, "3 values per voxel", tmp_path / "o.json")


def test_a_truncated_gzip_mask_is_refused_as_truncated(small_ct, tmp_path, capsys):
    image, mask = small_ct
    data = open(mask, "rb").read()
    (tmp_path / "cut.nii.gz").write_bytes(data[: len(data) // 2])
    expect_error(["score", image, "--mask", str(tmp_path / "cut.nii.gz")], capsys, "mask", tmp_path / "o.json")
    code, _out, err = run_cli(["score", image, "--mask", str(tmp_path / "cut.nii.gz")], capsys)
    assert "is truncated" in err


def test_nan_voxels_inside_the_region_are_refused(tmp_path, capsys):
    array, mask = _ct_with_calcium_outside_the_mask(tmp_path)
    array = array.astype(np.float32)
    array[9, 21, 21] = np.nan
    image = write_image(tmp_path / "nan.nii.gz", array)
    expect_error(["score", image, "--mask", write_image(tmp_path / "m.nii.gz", mask)], capsys,
                 "1 voxel(s) inside the region of interest", tmp_path / "o.json")


def test_infinite_voxels_outside_the_region_score_as_the_clean_ct_with_a_warning(tmp_path, capsys):
    array, mask = _ct_with_calcium_outside_the_mask(tmp_path)
    mask_path = write_image(tmp_path / "m.nii.gz", mask)
    clean_json, dirty_json = tmp_path / "clean.json", tmp_path / "dirty.json"
    code, _out, err = run_cli(["score", write_image(tmp_path / "clean.nii.gz", array), "--mask", mask_path,
                               "--model", "none", "--json", str(clean_json)], capsys)
    assert code == 0, err
    dirty = array.astype(np.float32)
    dirty[0, 35, 35], dirty[1, 36, 36] = np.inf, -np.inf
    code, _out, err = run_cli(["score", write_image(tmp_path / "dirty.nii.gz", dirty), "--mask", mask_path,
                               "--model", "none", "--json", str(dirty_json)], capsys)
    assert code == 0, err
    clean, result = json.loads(clean_json.read_text()), json.loads(dirty_json.read_text())
    assert result["agatston"] == clean["agatston"] > 0
    assert any("2 voxel(s) are NaN or infinite" in w for w in result["warnings"])


# --- issue 13: crashes where a one-line error is owed, output locations checked before the work ---

def _cli_subprocess(args, cwd):
    """The CLI in its own process, so a native abort (SIGABRT in SimpleITK) shows as a signal, not a dead test run."""
    import subprocess
    import sys

    import CoronaryCalciumLib

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(CoronaryCalciumLib.__file__)))
    return subprocess.run([sys.executable, "-W", "ignore::RuntimeWarning", "-m", "CoronaryCalciumLib.cli.main"] + [os.fsencode(a) for a in args],
                          cwd=cwd, env=env,
                          capture_output=True, timeout=300)


def test_a_nifti_under_a_non_utf8_path_is_scored_not_aborted(small_ct, tmp_path):
    image, mask = small_ct
    folder = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")
    os.makedirs(folder)
    shutil.copy(image, os.path.join(folder, os.fsdecode(b"p\xe9.nii.gz")))
    shutil.copy(mask, os.path.join(folder, os.fsdecode(b"p\xe9_mask.nii.gz")))
    done = _cli_subprocess(["score", os.path.join(folder, os.fsdecode(b"p\xe9.nii.gz")),
                            "--mask", os.path.join(folder, os.fsdecode(b"p\xe9_mask.nii.gz")), "--model", "none",
                            "--json", os.path.join(folder, "r.json")], str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(open(os.path.join(folder, "r.json")).read())["agatston"] == pytest.approx(2 * 16 * 0.49 * 4)
    done = _cli_subprocess(["assess", folder, "--out", os.path.join(folder, "out"), "--model", "none",
                            "--no-progress"], str(tmp_path))
    assert done.returncode == 0, done.stderr
    summary = open(os.path.join(folder, "out", "summary.csv"), encoding="utf-8").read()
    assert ",ok," in summary


def test_assess_with_a_label_that_is_no_artery_is_a_user_error_before_any_case(small_ct, tmp_path, capsys):
    image, mask = small_ct
    out = tmp_path / "out"
    code, _out, err = run_cli(["assess", image, "--mask", mask, "--labels", "1=FOO", "--out", str(out),
                               "--model", "none", "--no-progress"], capsys)
    assert code == 2 and err.startswith("error: 'FOO' is not an artery") and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_assess_on_a_folder_without_cases_is_an_error_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("no scans here")
    out = tmp_path / "out"
    code, _out, err = run_cli(["assess", str(folder), "--out", str(out), "--model", "none", "--no-progress"], capsys)
    assert code == 2 and "no cases found" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_folder_given_for_the_json_file_is_refused_before_scoring(small_ct, tmp_path, capsys):
    image, mask = small_ct
    folder = tmp_path / "results"
    folder.mkdir()
    code, out, err = run_cli(["score", image, "--mask", mask, "--json", str(folder)], capsys)
    assert code == 2 and "is a folder; give the name of a file" in err and len(err.strip().splitlines()) == 1
    assert out == "" and os.listdir(folder) == []  # refused before the work: no summary printed


def test_a_json_path_inside_a_file_is_refused_before_scoring(small_ct, tmp_path, capsys):
    image, mask = small_ct
    code, out, err = run_cli(["score", image, "--mask", mask, "--json", str(tmp_path / "ct.nii.gz" / "r.json")],
                             capsys)
    assert code == 2 and "is a file, not a folder" in err and out == ""


def test_a_file_given_for_the_output_folder_is_refused_before_any_case(small_ct, tmp_path, capsys):
    image, mask = small_ct
    target = tmp_path / "out.txt"
    target.write_text("keep me")
    code, _out, err = run_cli(["assess", image, "--mask", mask, "--out", str(target), "--no-progress"], capsys)
    assert code == 2 and "is a file, not a folder" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "keep me"
    code, _out, err = run_cli(["phantom", str(target), "--small"], capsys)
    assert code == 2 and "is a file, not a folder" in err


def test_a_read_only_output_location_is_refused_before_the_work(small_ct, tmp_path, capsys):
    import tempfile

    image, mask = small_ct
    read_only = "/sys/kernel"  # not writable, even by root
    try:
        os.close(tempfile.mkstemp(dir=read_only)[0])
        pytest.skip("%s is writable here" % read_only)
    except OSError:
        pass
    code, out, err = run_cli(["score", image, "--mask", mask, "--json", read_only + "/r.json"], capsys)
    assert code == 2 and "cannot be written" in err and out == ""
    code, _out, err = run_cli(["assess", image, "--mask", mask, "--out", read_only + "/out", "--no-progress"], capsys)
    assert code == 2 and "cannot be written" in err and "case(s) found" not in err


def test_file_names_that_name_the_patient_stay_out_of_the_outputs_but_key_csv(small_ct, tmp_path, capsys):
    image, mask = small_ct
    cases = tmp_path / "DOE_JANE_1970"
    cases.mkdir()
    shutil.copy(image, cases / "DOE_JANE.nii.gz")
    shutil.copy(mask, cases / "DOE_JANE_mask.nii.gz")
    result = tmp_path / "r.json"
    code, _out, err = run_cli(["score", str(cases / "DOE_JANE.nii.gz"), "--mask", str(cases / "DOE_JANE_mask.nii.gz"),
                               "--model", "none", "--json", str(result)], capsys)
    assert code == 0, err
    data = json.loads(result.read_text())
    assert "DOE_JANE" not in result.read_text()
    assert data["case_id"] == "case" and data["region"]["source"] == "<mask>"
    out = tmp_path / "out"
    code, _out, err = run_cli(["assess", str(cases), "--out", str(out), "--model", "none", "--no-progress"], capsys)
    assert code == 0, err
    written = {os.path.relpath(os.path.join(root, name), out): open(os.path.join(root, name), "rb").read()
               for root, _dirs, names in os.walk(out) for name in names}
    assert [name for name, content in written.items() if b"DOE_JANE" in content] == ["key.csv"]
    code, _out, err = run_cli(["score", str(cases / "DOE_JANE.nii.gz"), "--mask", str(cases / "DOE_JANE_mask.nii.gz"),
                               "--model", "none", "--include-phi", "--json", str(result)], capsys)
    assert json.loads(result.read_text())["region"]["source"] == "DOE_JANE_mask.nii.gz"


def test_itk_diagnostics_of_a_damaged_file_stay_off_the_terminal_unless_debug(small_ct, tmp_path):
    image, mask = small_ct
    whole = tmp_path / "ct.mha"
    sitk.WriteImage(sitk.ReadImage(image), str(whole))
    data = whole.read_bytes()
    (tmp_path / "cut.mha").write_bytes(data[: len(data) - 5000])
    args = ["score", str(tmp_path / "cut.mha"), "--mask", mask, "--model", "none"]
    done = _cli_subprocess(args, str(tmp_path))
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: cannot read"), done.stderr
    debug = _cli_subprocess(["--debug"] + args, str(tmp_path))
    assert debug.returncode == 2 and b"MetaImage" in debug.stderr  # kept for --debug


def test_a_phantom_written_into_a_non_utf8_folder_is_written_not_aborted(tmp_path):
    folder = os.fsdecode(bytes(tmp_path) + b"/phantom-\xe9")
    done = _cli_subprocess(["phantom", folder, "--small"], str(tmp_path))
    assert done.returncode == 0, done.stderr
    image = os.path.join(folder, "image.nii.gz")
    assert os.path.getsize(image) > 0
    from CoronaryCalciumLib.io.ct import load_ct

    assert load_ct(image).array.shape[0] == 40


def test_integrated_mass_settings_from_the_command_line_reach_the_json(small_ct, tmp_path, capsys):
    image, mask = small_ct
    runs = {}
    for name, extra in (("default", []), ("wide", ["--mass-grow", "2.5", "--mass-ring", "4", "--mass-background",
                                                   "trimmed_mean_per_slice", "--mass-local-sigma", "2"])):
        out = tmp_path / name / "result.json"
        code, _out, err = run_cli(["score", image, "--mask", mask, "--calibration", "0.00087", "--json", str(out)]
                                  + extra, capsys)
        assert code == 0, err
        runs[name] = json.loads(out.read_text())
    settings = runs["wide"]["settings"]["integrated_mass"]
    assert (settings["grow_mm"], settings["ring_mm"], settings["background_estimator"], settings["local_sigma_mm"]) == (
        2.5, 4.0, "trimmed_mean_per_slice", 2.0)
    assert runs["default"]["settings"]["integrated_mass"]["grow_mm"] == 1.5
    # a sharp-edged block in uniform tissue: its excess is inside either region, so both give about the same mass
    block_mg = 0.00087 * (400 - 40) * 2 * 4 * 4 * 0.7 * 0.7 * 3.0
    for run in runs.values():
        assert run["integrated_mass_mg"] == pytest.approx(block_mg, rel=0.01)


@pytest.mark.parametrize("option,value,message", [
    ("--mass-grow", "0", "grow and ring widths must be in (0, 20] mm"),
    ("--mass-ring", "25", "grow and ring widths must be in (0, 20] mm"),
    ("--mass-local-sigma", "-1", "local background's sigma must be in (0, 10] mm"),
])
def test_impossible_integrated_mass_settings_are_refused_with_one_line(small_ct, tmp_path, capsys, option, value,
                                                                       message):
    image, mask = small_ct
    expect_error(["score", image, "--mask", mask, "--calibration", "0.00087", option, value], capsys, message,
                 tmp_path / "result.json")
