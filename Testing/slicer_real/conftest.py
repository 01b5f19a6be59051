"""Tests of the Slicer module on Slicer's real libraries (``make test-slicer``, venv ``.venv-slicer``).

They need the ``slicer-core`` wheel, which cannot live beside ``shap`` (its PyPI dependency ``slicer`` overwrites
slicer-core's package): in the default ``make test`` venv this folder is not collected. Under ``make test-slicer``
(``CORONARY_CALCIUM_REQUIRE_SLICER=1``) a missing slicer-core is an error, not a skip.
"""

from __future__ import annotations

import os

import pytest

from support import slicer_real

collect_ignore_glob = slicer_real.tests_to_ignore(slicer_real.slicer_core_version() is not None,
                                                  "CORONARY_CALCIUM_REQUIRE_SLICER", "slicer-core", "test-slicer",
                                                  ".venv-slicer")


@pytest.fixture(scope="session")
def module():
    """CoronaryCalcium.py imported on the real slicer package (real scene, module logics)."""
    return slicer_real.load_module()


@pytest.fixture
def scene(module):
    """The real ``slicer.mrmlScene``, cleared before each test (singletons too)."""
    import slicer

    slicer.mrmlScene.Clear(1)
    return slicer.mrmlScene


@pytest.fixture(scope="session")
def phantoms(tmp_path_factory):
    """Severe and zero-calcium phantoms written as NIfTI (image.nii.gz, coronary_exact.nii.gz, ...), by burden."""
    from CoronaryCalciumLib.phantom import generate_case, small_config
    from CoronaryCalciumLib.phantom.writer import write_case

    folders = {}
    for burden, seed in (("severe", 21), ("zero", 5)):
        folder = str(tmp_path_factory.mktemp("phantom-" + burden))
        write_case(generate_case(seed, small_config(burden=burden, noise_sd_hu=20.0)), folder)
        folders[burden] = folder
    return folders


@pytest.fixture
def severe(scene, phantoms):
    """The severe phantom's CT read by Slicer's volume reader and its exact coronary mask imported as segments
    named by artery (1=LM, 2=LAD, 3=LCX, 4=RCA, as the CLI reads the file)."""
    folder = phantoms["severe"]
    return _case(folder)


@pytest.fixture
def zero(scene, phantoms):
    return _case(phantoms["zero"])


def _case(folder):
    import types

    ct = slicer_real.read_volume(os.path.join(folder, "image.nii.gz"))
    mask = os.path.join(folder, "coronary_exact.nii.gz")
    segmentation = slicer_real.segmentation_from_labelmap_file(mask, "arteries")
    segments = segmentation.GetSegmentation()
    for index, artery in enumerate(("LM", "LAD", "LCX", "RCA"), start=1):
        segment = segments.GetSegment(segments.GetSegmentIdBySegmentName("Label_%d" % index))
        if segment is not None:
            segment.SetName(artery)
    return types.SimpleNamespace(folder=folder, image=os.path.join(folder, "image.nii.gz"), mask=mask, ct=ct,
                                 segmentation=segmentation)
