"""Property-based fuzzing of `score` with Hypothesis: random headers, spacings, orientations, value ranges, NaN/inf,
truncations, label values, label specs and file names.

The invariant, for every generated input: exit 2 with one line on stderr; or exit 0 with the Agatston score the same
arrays give through the in-memory API (``pipeline.assess`` on ``ct_from_array``/``region_from_array``), with a warning
naming any problem the input had. Never exit 70, a traceback, or a truncated / zero-spacing / NaN-in-region input
scored. CI runs a fixed budget with a fixed seed (``derandomize``); the ``slow`` test runs a larger budget.
"""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.errors import CoronaryCalciumError

CI_EXAMPLES = 150
SLOW_EXAMPLES = 1500
FORMATS = (".nii.gz", ".nii", ".nrrd", ".mha")
NAMES = ("ct", "DOE_JANE", os.fsdecode(b"p\xe9"), "scan with spaces", "x.y")
LABEL_SPECS = (None, "1=LAD", "1=RCA,2=LAD", "1=FOO", "nonsense", "1=LAD,2", "a=LAD")


# Each example carries no fault, one, or two of these (so clean scores are checked as often as refusals).
FAULTS = ("spacing", "nonfinite", "no_air", "not_hu", "mask_label", "mask_background", "truncate", "label_spec",
          "tilt", "name")
BAD_SPACINGS = (0.0, -1.0, 1e-6, 1e6, float("nan"))


@st.composite
def bad_inputs(draw):
    faults = draw(st.one_of(st.just([]), st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2, unique=True)))
    shape = (draw(st.integers(2, 6)), draw(st.integers(8, 20)), draw(st.integers(8, 20)))
    floating = draw(st.booleans()) or "nonfinite" in faults
    array = np.full(shape, 40, dtype=np.float32 if floating else np.int16)
    array[:, :2, :] = 100 if "no_air" in faults else draw(st.sampled_from([-1000, -1024]))
    z, y, x = draw(st.integers(0, shape[0] - 1)), draw(st.integers(3, shape[1] - 3)), draw(st.integers(3, shape[2] - 3))
    array[z, y - 1:y + 2, x - 1:x + 2] = 20000 if "not_hu" in faults else draw(st.sampled_from([130, 250, 450, 1200]))
    if "nonfinite" in faults:
        for _ in range(draw(st.integers(1, 3))):
            spot = tuple(draw(st.integers(0, n - 1)) for n in shape)
            array[spot] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
    spacing = [draw(st.floats(0.3, 4.0)) for _ in range(3)]
    if "spacing" in faults:
        spacing[draw(st.integers(0, 2))] = draw(st.sampled_from(BAD_SPACINGS))
    mask = np.zeros(shape, dtype=np.float32)
    labels = (-1, 1.5, 300) if "mask_label" in faults else (1, 2, 3, 4, 255)
    mask[:, 3:-2, 3:-2] = draw(st.sampled_from(labels))
    if draw(st.booleans()):
        mask[:, 3:-2, 3: 3 + (shape[2] - 5) // 2] = draw(st.sampled_from(labels))
    if "mask_background" in faults:
        mask[mask == 0] = -1
    return {
        "array": array,
        "mask": mask,
        "spacing": tuple(spacing),
        "tilt": draw(st.sampled_from([1.0, 10.0, 25.0])) if "tilt" in faults else 0.0,
        "format": draw(st.sampled_from(FORMATS)),
        "name": draw(st.sampled_from(NAMES[2:] if "name" in faults else NAMES[:2])),
        "truncate": draw(st.floats(0.05, 0.98)) if "truncate" in faults else None,
        "labels": draw(st.sampled_from(LABEL_SPECS[3:] if "label_spec" in faults else LABEL_SPECS[:3])),
    }


def _direction(tilt_degrees):
    a = math.radians(tilt_degrees)
    return (1, 0, 0, 0, math.cos(a), -math.sin(a), 0, math.sin(a), math.cos(a))


def _written_spacing(case):
    """The spacing the file holds: NIfTI headers get the raw value (patched in), other formats a valid stand-in
    (ITK cannot write a zero spacing there)."""
    if case["format"].startswith(".nii"):
        return case["spacing"]
    return tuple(s if math.isfinite(s) and s > 0 else 1.0 for s in case["spacing"])


def _write(path, array, spacing, direction):
    """Write through a UTF-8 temporary name (SimpleITK aborts on others), then rename to ``path``."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing([s if math.isfinite(s) and s > 0 else 1.0 for s in spacing])
    image.SetDirection(direction)
    suffix = ".nii.gz" if path.endswith(".nii.gz") else os.path.splitext(path)[1]
    temporary = os.path.join(os.path.dirname(path), "tmp" + suffix)
    sitk.WriteImage(image, temporary)
    if not _spacing_is_positive(spacing):
        _set_nifti_spacing(temporary, spacing)
    os.rename(temporary, path)


def _spacing_is_positive(spacing):
    return all(math.isfinite(s) and s > 0 for s in spacing)


def _set_nifti_spacing(path, spacing):
    """Write the raw spacing (zero, negative, NaN) into a NIfTI header, as a broken converter would."""
    import gzip
    import struct

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = bytearray(stream.read())
    data[80:92] = struct.pack("<3f", *spacing)
    with opener(path, "wb") as stream:
        stream.write(bytes(data))


def _spacing_is_sane(spacing):
    return all(math.isfinite(s) and 0.05 <= s <= 30 for s in spacing)


def _reference_agatston(case):
    """The score of the same arrays through the in-memory API (non-finite voxels outside the region made air)."""
    from CoronaryCalciumLib.io.ct import ct_from_array
    from CoronaryCalciumLib.pipeline import assess
    from CoronaryCalciumLib.region.mask import region_from_array

    labels = case["mask"].astype(np.int32)
    array = case["array"]
    if not np.all(np.isfinite(array)):
        array = np.where(np.isfinite(array), array, -1024).astype(np.float32)
    ct = ct_from_array(array, [np.float32(s) for s in _written_spacing(case)], direction=_direction(case["tilt"]))
    return assess(ct, region_from_array(labels, case["labels"])).score.agatston


def check_invariant(case, capsys):
    with tempfile.TemporaryDirectory() as folder:
        image = os.path.join(folder, case["name"] + case["format"])
        mask = os.path.join(folder, case["name"] + "_mask.nii.gz")
        out = os.path.join(folder, "result.json")
        direction = _direction(case["tilt"])
        spacing = _written_spacing(case)
        _write(image, case["array"], spacing, direction)
        _write(mask, case["mask"], spacing, direction)
        if case["truncate"] is not None:
            data = open(image, "rb").read()
            with open(image, "wb") as stream:
                stream.write(data[: int(len(data) * case["truncate"])])
        args = ["score", image, "--mask", mask, "--model", "none", "--json", out]
        if case["labels"] is not None:
            args += ["--labels", case["labels"]]
        capsys.readouterr()
        code = main(args)
        captured = capsys.readouterr()
        event("exit %d" % code)
        assert code in (0, 2), captured.err
        assert "Traceback" not in captured.err
        if code == 2:
            lines = captured.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
            assert not os.path.exists(out)
            return
        import json

        result = json.loads(open(out).read())
        assert case["truncate"] is None, "a truncated file was scored"
        assert _spacing_is_sane(_written_spacing(case)), "a broken spacing was scored"
        if not np.all(np.isfinite(case["array"])):
            assert any("NaN or infinite" in w for w in result["warnings"])
        if case["tilt"] > 2:
            assert any("off axial" in w for w in result["warnings"])
        try:
            reference = _reference_agatston(case)
        except CoronaryCalciumError as error:  # the CLI scored what the API refuses
            raise AssertionError("CLI exit 0 but the in-memory API refuses: %s" % error)
        assert result["agatston"] == pytest.approx(reference, rel=1e-4, abs=1e-6)


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            derandomize=True, print_blob=True)


@settings(max_examples=CI_EXAMPLES, **FUZZ)
@given(case=bad_inputs())
def test_random_bad_input_gets_a_correct_score_a_named_warning_or_one_line(case, capsys):
    check_invariant(case, capsys)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **FUZZ)
@given(case=bad_inputs())
def test_random_bad_input_on_a_larger_budget(case, capsys):
    check_invariant(case, capsys)


def mostly(good, bad):
    """``good`` about four times in five, else ``bad``."""
    return st.one_of(good, good, good, good, bad)


ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "shift_jis")
CELLS = st.one_of(st.sampled_from(["ct.nii.gz", "ct_mask.nii.gz", "missing.nii.gz", "../../etc/passwd", "", "José",
                                   "=HYPERLINK(\"x\")", "<script>", "a,b", "\"quoted\"", "ct.nii.gz\n"]),
                  st.text(max_size=12))


@st.composite
def manifests(draw):
    header = draw(mostly(st.just("image,mask,id"), st.sampled_from(["image,mask", "image", "mask,id", "Image,ID", ""])))
    row = st.tuples(mostly(st.just("ct.nii.gz"), CELLS), mostly(st.just("ct_mask.nii.gz"), CELLS),
                    mostly(st.from_regex(r"[a-z]{1,6}", fullmatch=True), CELLS))
    rows = draw(st.lists(row, min_size=1, max_size=3))
    text = header + "\n" + "".join(",".join(cells) + "\n" for cells in rows)
    return text.encode(draw(mostly(st.just("utf-8"), st.sampled_from(ENCODINGS))), errors="replace")


def check_manifest_invariant(content, small_ct_files, capsys):
    with tempfile.TemporaryDirectory() as folder:
        for source, name in zip(small_ct_files, ("ct.nii.gz", "ct_mask.nii.gz")):
            with open(source, "rb") as stream, open(os.path.join(folder, name), "wb") as target:
                target.write(stream.read())
        manifest = os.path.join(folder, "cohort.csv")
        with open(manifest, "wb") as stream:
            stream.write(content)
        out = os.path.join(folder, "out")
        capsys.readouterr()
        code = main(["assess", manifest, "--out", out, "--model", "none", "--no-progress", "--no-report"])
        captured = capsys.readouterr()
        event("exit %d" % code)
        assert code in (0, 1, 2), captured.err
        assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
        if code == 2:
            assert len(captured.err.strip().splitlines()) == 1, captured.err
            assert not os.path.exists(out)
        else:
            with open(os.path.join(out, "summary.csv"), encoding="utf-8") as stream:
                assert "internal error" not in stream.read()


@pytest.fixture(scope="module")
def small_ct_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest-fuzz")
    array = np.full((6, 20, 20), 40, dtype=np.int16)
    array[:, :2, :] = -1000
    array[2:4, 8:11, 8:11] = 400
    mask = np.zeros(array.shape, dtype=np.uint8)
    mask[:, 4:16, 4:16] = 1
    paths = []
    for data, name in ((array, "ct.nii.gz"), (mask, "mask.nii.gz")):
        image = sitk.GetImageFromArray(data)
        image.SetSpacing((0.7, 0.7, 3.0))
        sitk.WriteImage(image, str(folder / name))
        paths.append(str(folder / name))
    return paths


@settings(max_examples=60, **FUZZ)
@given(content=manifests())
def test_random_manifests_in_any_encoding_never_give_an_internal_error(content, small_ct_files, capsys):
    check_manifest_invariant(content, small_ct_files, capsys)


@pytest.mark.slow
@settings(max_examples=600, **FUZZ)
@given(content=manifests())
def test_random_manifests_on_a_larger_budget(content, small_ct_files, capsys):
    check_manifest_invariant(content, small_ct_files, capsys)
