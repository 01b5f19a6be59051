"""Contrast-enhanced phantoms: enhanced blood pool and coronary lumen, mildly enhanced myocardium, DICOM contrast tags,
the same truth as the unenhanced twin; scoring refuses them; the classifier warns when its model never saw contrast."""

from __future__ import annotations

import csv
import glob
import os

import numpy as np
import pytest

from CoronaryCalciumLib.errors import ContrastError
from CoronaryCalciumLib.phantom import generate_case, small_config, write_case
from CoronaryCalciumLib.phantom.cohort import contrast_case, generate_cohort


@pytest.fixture(scope="module")
def twins():
    config = small_config(n_slices=24, burden="mild")
    return generate_case(21, config.with_changes(contrast=True)), generate_case(21, config)


def test_blood_lumen_and_myocardium_are_enhanced_and_the_truth_is_the_unenhanced_twins(twins):
    enhanced, plain = twins
    level = enhanced.truth.reconstruction["contrast"]["blood_hu"]
    assert 250.0 <= level <= 450.0 and "contrast" not in plain.truth.reconstruction
    aorta = enhanced.aorta_mask > 0
    assert abs(np.median(enhanced.image_noise_free[aorta]) - level) < 40
    assert np.median(plain.image_noise_free[aorta]) < 60
    vessels = (enhanced.coronary_labels_exact > 0) & (enhanced.lesion_labels == 0)  # lumen is a core of the mask
    assert np.percentile(enhanced.image_noise_free[vessels], 90) > np.percentile(plain.image_noise_free[vessels], 90) + 40
    myocardium = enhanced.truth.reconstruction["contrast"]["myocardium_hu"]
    assert 48.0 < myocardium < 0.5 * level  # mildly
    assert enhanced.truth.reference.agatston == plain.truth.reference.agatston > 0
    assert enhanced.truth.label == plain.truth.label == 1
    assert enhanced.metadata.contrast_agent and plain.metadata.contrast_agent is None


def test_dicom_series_records_the_contrast_agent_and_scoring_refuses_it(twins, tmp_path):
    import pydicom

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.region.mask import load_region
    from CoronaryCalciumLib.scoring.agatston import ScoringSettings, score

    enhanced, _plain = twins
    write_case(enhanced, str(tmp_path), dicom=True)
    first = pydicom.dcmread(sorted(glob.glob(str(tmp_path / "dicom" / "*.dcm")))[0])
    assert first.ContrastBolusAgent == enhanced.metadata.contrast_agent and first.ContrastBolusRoute == "IV"
    for image in (str(tmp_path / "dicom"), str(tmp_path / "image.nii.gz")):  # header and image evidence
        ct = load_ct(image)
        region = load_region(str(tmp_path / "coronary.nii.gz"), ct)
        with pytest.raises(ContrastError, match="contrast-enhanced"):
            score(ct, region)
    allowed = score(ct, region, ScoringSettings(allow_contrast=True))
    assert any(w.startswith("CONTRAST-ENHANCED CT scored on user override") for w in allowed.warnings)


def test_a_model_without_contrast_training_warns_on_a_contrast_ct(twins):
    from CoronaryCalciumLib.classifier.contrast_protocol import contrast_warning

    enhanced, plain = twins
    untrained = {"name": "m", "training_data": {"contrast": {"contrast_cases": 0}}}
    message = contrast_warning(untrained, enhanced.ct, enhanced.coronary_region())
    assert message and "not trained with contrast-enhanced scans" in message
    assert contrast_warning({"name": "old card"}, enhanced.ct, enhanced.coronary_region())
    trained = {"name": "m", "training_data": {"contrast": {"contrast_cases": 12}}}
    assert contrast_warning(trained, enhanced.ct, enhanced.coronary_region()) is None
    assert contrast_warning(untrained, plain.ct, plain.coronary_region()) is None


def test_the_contrast_fraction_is_drawn_per_case_and_written_to_the_manifest(tmp_path):
    draws = [contrast_case(4, index, 0.4) for index in range(300)]
    assert 0.3 < np.mean(draws) < 0.5 and draws == [contrast_case(4, index, 0.4) for index in range(300)]
    assert not any(contrast_case(4, index, 0.0) for index in range(50))
    manifest = generate_cohort(str(tmp_path / "cohort"), 2, seed=4, base=small_config(n_slices=12),
                               vary=False, contrast_fraction=1.0)
    rows = list(csv.DictReader(open(manifest, encoding="utf-8")))
    assert [row["contrast"] for row in rows] == ["yes", "yes"]
    from CoronaryCalciumLib.io.manifest import read_manifest

    assert [case.contrast for case in read_manifest(manifest)] == [True, True]
    assert os.path.isfile(os.path.join(str(tmp_path / "cohort"), rows[0]["truth"]))
