"""Protocol normalisation: 3 mm slabs from thin slices, a blur for sharp kernels, calcium-scoring scans untouched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.scoring.agatston import ScoringSettings, score, scoring_settings
from CoronaryCalciumLib.scoring.protocol import ProtocolSettings, normalise
from support.synthetic import as_ct, blank_ct, full_region


def thin_ct(increment=1.0, slices=12):
    spacing = (0.5, 0.5, increment)
    array, meta = blank_ct(shape=(slices, 40, 40), spacing=spacing)
    return array, meta, spacing


def test_a_scan_made_for_calcium_scoring_is_scored_on_its_own_voxels():
    array, meta = blank_ct()
    array[2, 10:14, 10:14] = 320
    ct = as_ct(array, meta, (0.5, 0.5, 3.0))
    prepared = normalise(ct, full_region(array.shape))
    assert prepared.ct is ct and prepared.slices_per_slab == 1 and not prepared.changed
    assert prepared.steps["kernel_sharpness"] == "unknown" and prepared.warnings == []


def test_thin_slices_are_averaged_into_3_mm_slabs_and_the_lesion_map_returns_to_the_thin_slices():
    array, meta, spacing = thin_ct()
    array[3:6, 10:14, 10:14] = 400  # a 3 mm calcification exactly filling the second slab (slices 3-5)
    result = score(as_ct(array, meta, spacing), full_region(array.shape))
    assert result.settings["protocol"]["slices_per_slab"] == 3
    assert result.settings["slice_increment_mm"] == pytest.approx(3.0)
    assert result.settings["increment_factor"] == pytest.approx(1.0)
    assert result.agatston == pytest.approx(4.0 * 4)  # 4 mm2 at weight 4 in one 3 mm slab
    assert result.volume_mm3 == pytest.approx(16 * 0.25 * 3.0)
    lesion = result.lesions[0]
    assert (lesion.first_slice, lesion.last_slice) == (3, 5)
    assert lesion.centroid_lps_mm[2] == pytest.approx(4.0)  # the slab's centre, slice 4 at 1 mm
    labels = result.lesion_label_volume()
    assert labels.shape == array.shape
    assert np.array_equal(labels > 0, array >= 130)
    assert any("averaged into 3 mm slabs" in warning for warning in result.warnings)


def test_noise_that_crosses_the_threshold_in_one_thin_slice_is_averaged_away():
    array, meta, spacing = thin_ct()
    array[4, 10:14, 10:14] = 200  # one 1 mm slice above 130 HU, its neighbours soft tissue (40 HU)
    ct = as_ct(array, meta, spacing)
    as_documented = score(ct, full_region(array.shape), ScoringSettings(protocol=ProtocolSettings(thin_slices="off")))
    assert as_documented.agatston > 0
    assert score(ct, full_region(array.shape)).agatston == 0.0  # slab mean (200 + 40 + 40) / 3 = 93 HU


def test_the_slab_step_can_be_forced_on_for_thick_slices_and_off_for_thin_ones():
    array, meta, spacing = thin_ct(increment=1.0)
    ct = as_ct(array, meta, spacing)
    assert normalise(ct, full_region(array.shape), ProtocolSettings(thin_slices="off")).slices_per_slab == 1
    thick, thick_meta = blank_ct(shape=(6, 40, 40), spacing=(0.5, 0.5, 1.5))
    forced = normalise(as_ct(thick, thick_meta, (0.5, 0.5, 1.5)), full_region(thick.shape),
                       ProtocolSettings(thin_slices="on"))
    assert forced.slices_per_slab == 2
    assert normalise(as_ct(thick, thick_meta, (0.5, 0.5, 1.5)), full_region(thick.shape)).slices_per_slab == 1


def test_a_sharp_kernel_is_smoothed_and_the_noise_it_adds_above_130_hu_goes():
    rng = np.random.default_rng(3)
    array, meta = blank_ct(shape=(4, 80, 80), spacing=(0.5, 0.5, 3.0))
    array[:, 2:, :] = (40 + rng.normal(0, 60, size=(4, 78, 80))).astype(np.int16)  # fine, white, sharp-kernel noise
    sharp = as_ct(array, replace(meta, kernel="B70f", manufacturer="SIEMENS"), (0.5, 0.5, 3.0))
    region = full_region(array.shape)
    prepared = normalise(sharp, region)
    assert prepared.steps["kernel_sharpness"] == "very sharp"
    assert prepared.steps["kernel_smoothing_sigma_mm"] == pytest.approx(1.0)
    assert prepared.ct.array[:, 10:, :].std() < 0.3 * array[:, 10:, :].std()
    assert score(sharp, region, scoring_settings(sharp_kernel="off")).agatston > 0
    smoothed = score(sharp, region)
    assert smoothed.agatston == 0.0
    assert any("smoothed in plane" in warning for warning in smoothed.warnings)


def test_a_sharp_kernel_left_unsmoothed_makes_the_category_unreliable():
    array, meta = blank_ct()
    ct = as_ct(array, replace(meta, kernel="D", manufacturer="Philips"), (0.5, 0.5, 3.0))
    result = score(ct, full_region(array.shape), scoring_settings(sharp_kernel="off"))
    assert result.to_dict()["category"]["reliable"] is False
    assert any(warning.startswith("CATEGORY UNRELIABLE") and "sharp" in warning for warning in result.warnings)


@pytest.mark.parametrize("option, value", [("thin_slices", "sometimes"), ("sharp_kernel", "maybe"),
                                           ("lesion_filters", "all")])
def test_unknown_protocol_choices_are_refused_in_one_line(option, value):
    with pytest.raises(InputError) as error:
        scoring_settings(**{option: value})
    assert "\n" not in str(error.value) and value in str(error.value)


def test_slabs_replace_the_thin_and_overlapping_slice_warnings_with_their_own():
    array, meta, spacing = thin_ct(increment=0.5)
    meta.slice_thickness_mm = 1.0
    ct = as_ct(array, meta, spacing)
    assert any(w.startswith("thin slices (") for w in ct.warnings)
    warnings = score(ct, full_region(array.shape)).warnings
    assert not any(w.startswith(("thin slices (", "overlapping reconstruction (")) for w in warnings)
    assert any("averaged into 3 mm slabs (6 slices each)" in w for w in warnings)


def test_a_thin_sharp_phantom_written_as_dicom_is_recognised_sharp_and_scored_on_smoothed_3_mm_slabs(tmp_path):
    import os

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.phantom import generate_case, protocol_config, small_config
    from CoronaryCalciumLib.phantom.writer import write_case
    from CoronaryCalciumLib.region.mask import load_region

    config = protocol_config("chest-thin-sharp", small_config(n_slices=24, burden="mild"))
    write_case(generate_case(4, config), str(tmp_path), dicom=True)
    ct = load_ct(os.path.join(str(tmp_path), "dicom"))
    result = score(ct, load_region(os.path.join(str(tmp_path), "coronary_exact.nii.gz"), ct))
    protocol = result.settings["protocol"]
    assert protocol["kernel_sharpness"] == "sharp" and protocol["kernel_smoothing_sigma_mm"] == pytest.approx(0.7)
    assert protocol["slices_per_slab"] == 3
    assert any("kernel" in warning.lower() and "B50f" in warning for warning in result.warnings), result.warnings
