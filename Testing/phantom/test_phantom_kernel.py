"""Reconstruction kernels and scan-protocol presets of the phantom.

The sharp kernel copies the real thin chest CT LIDC-IDRI-0314 (Philips "D" kernel): the first test re-measures that
scan with the same helpers (``support/texture.py``) the phantom tests use, so the figures stated in
``phantom/kernel.py`` are checked on the real data, and the phantom tests check the phantom against the same figures.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pydicom
import pytest

from CoronaryCalciumLib.cli.main import main
from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.phantom import generate_case, small_config, write_case
from CoronaryCalciumLib.phantom.config import PROTOCOLS, protocol_config
from support.data import LIDC_THIN, data_path
from support.texture import detrended, edge_profile, noise_texture

# LIDC-IDRI-0314 figures (kernel.py): lung-border undershoot, skin rim above fat, noise SD and lag-1 in the blood pool
REAL_LUNG_UNDERSHOOT_HU = 24.4
REAL_SKIN_RIM_HU = 165.0
REAL_NOISE_SD_HU = (22.0, 27.5)
REAL_LAG1 = (0.23, 0.32)
SKIN = dict(light_below_hu=-950.0, tissue_hu=(-150.0, -50.0))  # air outside the body against subcutaneous fat


def test_the_real_thin_sharp_scan_shows_the_figures_the_sharp_kernel_copies():
    ct = load_ct(data_path(LIDC_THIN))
    assert ct.metadata.kernel == "D" and ct.metadata.manufacturer == "Philips"
    image = ct.array
    pixel = float(ct.spacing[0])
    slices = range(90, 200, 8)  # from the diaphragm to the aortic arch
    lung = edge_profile(image, pixel, slices)
    assert lung.count > 500
    assert lung.undershoot_hu == pytest.approx(REAL_LUNG_UNDERSHOOT_HU, abs=4.0)
    assert lung.overshoot_hu < 5.0  # pleura and extrapleural fat hide a tissue-side rim
    skin = edge_profile(image, pixel, slices, **SKIN)
    assert skin.overshoot_hu == pytest.approx(REAL_SKIN_RIM_HU, abs=12.0)
    # unenhanced blood in the heart at the level of the ventricles (slices 110-140, 20 x 25 pixels)
    for z0, z1, y0, y1, x0, x1 in ((120, 140, 245, 270, 235, 260), (110, 120, 240, 265, 240, 265)):
        roi = image[z0:z1, y0:y1, x0:x1]
        assert 25.0 <= float(roi.mean()) <= 55.0
        texture = noise_texture(detrended(roi))
        assert REAL_NOISE_SD_HU[0] <= texture.sd_hu <= REAL_NOISE_SD_HU[1]
        assert REAL_LAG1[0] <= texture.lag1 <= REAL_LAG1[1]


@pytest.fixture(scope="module")
def pair():
    """The same patient as a thin sharp chest CT and with the soft kernel (512 matrix: 0.74 mm pixels, like LIDC)."""
    config = protocol_config("chest-thin-sharp", n_slices=24, burden="zero", lung_vessels=False)
    return generate_case(4, config), generate_case(4, config.with_changes(kernel="soft"))


def test_soft_is_the_default_and_gives_the_same_bytes_as_before():
    """Kernel omitted and kernel="soft" run the unchanged path: identical images, truth and reference."""
    config = small_config(n_slices=12, burden="moderate")
    omitted = generate_case(8, config)
    soft = generate_case(8, small_config(n_slices=12, burden="moderate", kernel="soft"))
    assert config.kernel == "soft"
    assert omitted.image.tobytes() == soft.image.tobytes()
    assert omitted.image_noise_free.tobytes() == soft.image_noise_free.tobytes()
    assert omitted.truth.to_dict() == soft.truth.to_dict()
    assert soft.truth.reconstruction["kernel"] == "soft" and soft.metadata.kernel == "B35f"


def test_a_sharp_kernel_undershoots_at_lung_borders_as_the_real_thin_scan_does(pair):
    sharp, soft = pair
    pixel = sharp.grid.pixel_mm
    assert 0.7 <= pixel <= 0.8
    edges = [edge_profile(case.image_noise_free, pixel, range(0, 24, 3)) for case in (sharp, soft)]
    assert min(e.count for e in edges) > 500
    assert edges[0].undershoot_hu == pytest.approx(REAL_LUNG_UNDERSHOOT_HU, abs=6.0)
    assert edges[1].undershoot_hu < 3.0


def test_a_sharp_kernel_puts_a_bright_rim_at_the_skin_and_a_dark_one_in_the_air(pair):
    """Air border: the rim above the fat plateau matches the real scan's, 40+ HU above the soft kernel's (the skin's
    own density), and the air beside it dips 10+ HU below -1000 (soft: no dip)."""
    sharp, soft = pair
    pixel = sharp.grid.pixel_mm
    rim_sharp, rim_soft = (edge_profile(case.image_noise_free, pixel, range(0, 24, 3), **SKIN) for case in pair)
    assert rim_sharp.count > 500
    assert rim_sharp.overshoot_hu == pytest.approx(REAL_SKIN_RIM_HU, abs=20.0)
    assert rim_sharp.overshoot_hu > rim_soft.overshoot_hu + 40.0
    assert rim_sharp.undershoot_hu > 10.0 and rim_soft.undershoot_hu < 2.0


def test_sharp_noise_has_the_stated_sd_and_a_finer_texture(pair):
    sharp, soft = pair
    textures = [noise_texture((case.image.astype(np.float64) - case.image_noise_free)[:, 100:400, 100:400])
                for case in pair]
    assert textures[0].sd_hu == pytest.approx(PROTOCOLS["chest-thin-sharp"]["noise_sd_hu"], rel=0.08)
    assert textures[1].sd_hu == pytest.approx(textures[0].sd_hu, rel=0.05)
    assert textures[0].lag1 < textures[1].lag1 - 0.05  # NPS shifted to higher frequencies
    assert 0.12 <= textures[0].lag1 <= REAL_LAG1[1]
    assert textures[0].lag2 < textures[1].lag2


def test_a_sharp_kernel_keeps_the_patient_and_the_reference_of_the_soft_reconstruction():
    config = small_config(n_slices=16, burden="moderate")
    soft = generate_case(9, config)
    sharp = generate_case(9, config.with_changes(kernel="sharp"))
    assert soft.truth.objects == sharp.truth.objects and soft.truth.reference.agatston > 0
    assert sharp.truth.reference == soft.truth.reference  # scored on the soft reconstruction
    assert not np.array_equal(sharp.image_noise_free, soft.image_noise_free)
    # calcium peaks are brighter with the sharp kernel (overshoot on small dense objects)
    lesions = soft.lesion_labels > 0
    assert sharp.image_noise_free[lesions].max() > soft.image_noise_free[lesions].max()


def test_dicom_tag_and_truth_record_the_kernel(tmp_path):
    for kernel, tag in (("sharp", "B50f"), ("soft", "B35f")):
        case = generate_case(2, small_config(n_slices=3, burden="zero", kernel=kernel))
        out = str(tmp_path / kernel)
        write_case(case, out, dicom=True)
        first = sorted(os.listdir(os.path.join(out, "dicom")))[0]
        assert pydicom.dcmread(os.path.join(out, "dicom", first)).ConvolutionKernel == tag
        assert load_ct(os.path.join(out, "dicom")).metadata.kernel == tag
        with open(os.path.join(out, "truth.json"), encoding="utf-8") as stream:
            truth = json.load(stream)
        assert truth["reconstruction"]["kernel"] == kernel and truth["reconstruction"]["convolution_kernel"] == tag
        assert truth["config"]["kernel"] == kernel


def _run(capsys, *argv):
    code = main(["phantom", *argv])
    return code, capsys.readouterr().err


def test_cli_protocol_presets_make_the_stated_scans(tmp_path, capsys):
    out = str(tmp_path / "thin")
    code, err = _run(capsys, out, "--protocol", "chest-thin-sharp", "--small", "--slices", "6", "--burden", "zero",
                     "--quiet")
    assert code == 0, err
    with open(os.path.join(out, "truth.json"), encoding="utf-8") as stream:
        truth = json.load(stream)
    config = truth["config"]
    assert (config["variant"], config["slice_thickness_mm"], config["slice_increment_mm"], config["kernel"],
            config["noise_sd_hu"]) == ("chest", 1.0, 1.0, "sharp", 25.0)
    assert truth["reconstruction"]["ecg_gated"] is False and truth["reference"]["agatston"] == 0
    # options given with a preset override it
    out = str(tmp_path / "lowdose")
    assert _run(capsys, out, "--protocol", "chest-lowdose-3mm", "--kernel", "sharp", "--small", "--slices", "4",
                "--quiet")[0] == 0
    with open(os.path.join(out, "truth.json"), encoding="utf-8") as stream:
        config = json.load(stream)["config"]
    assert (config["slice_thickness_mm"], config["noise_sd_hu"], config["kernel"]) == (3.0, 40.0, "sharp")
    # a cohort keeps the preset for every case
    cohort = str(tmp_path / "cohort")
    assert _run(capsys, cohort, "--cohort", "2", "--protocol", "chest-thin-sharp", "--small", "--slices", "4",
                "--quiet")[0] == 0
    with open(os.path.join(cohort, "manifest.csv"), newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2
    assert {(r["variant"], r["slice_thickness_mm"], r["noise_sd_hu"], r["kernel"]) for r in rows} == {
        ("chest", "1.0", "25.0", "sharp")}


@pytest.mark.parametrize("argv, message", [
    (["--kernel", "blurry"], "reconstruction kernel must be one of soft, sharp"),
    (["--protocol", "cardiac-7mm"], "phantom protocol must be one of gated-3mm"),
    (["--qrm", "--kernel", "sharp"], "--qrm makes the QRM insert replica"),
])
def test_an_unknown_kernel_or_protocol_is_refused_with_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "x"
    code, err = _run(capsys, str(out), "--small", *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
