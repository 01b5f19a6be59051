"""Radiomics features: shipped settings, cropping, errors for unusable regions, the per-case cache, feature tables."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from support.classifier_cohort import make_case
from CoronaryCalciumLib.errors import InputError, RegionError
from CoronaryCalciumLib.features.base import CaseFeatures
from CoronaryCalciumLib.features.cache import FeatureCache
from CoronaryCalciumLib.features.registry import make_extractor
from CoronaryCalciumLib.features.table import FeatureTable, columns_for_spec, parse_feature_spec
from CoronaryCalciumLib.features.radiomics import RadiomicsExtractor, load_params
from CoronaryCalciumLib.region.mask import region_from_array

CLASSES = ("shape", "firstorder", "glcm", "glrlm", "glszm", "ngtdm", "gldm")
# pyradiomics 3.0.1, non-deprecated features per class on the original image
EXPECTED_COUNTS = {"shape": 14, "firstorder": 18, "glcm": 24, "glrlm": 16, "glszm": 16, "ngtdm": 5, "gldm": 14}


@pytest.fixture(scope="module")
def calcified_case():
    return make_case(seed=3, burden=3)


def test_shipped_parameter_file_documents_the_choices():
    params = load_params()
    assert params["setting"]["binWidth"] == 25
    assert params["setting"]["resampledPixelSpacing"] == [1.0, 1.0, 3.0]
    assert set(params["featureClass"]) == set(CLASSES)
    assert params["imageType"] == {"Original": {}}


def test_all_seven_classes_extracted(calcified_case):
    ct, region = calcified_case
    features = make_extractor("radiomics").extract(ct, region)
    counts = {}
    for name in features.values:
        assert name.startswith("original_")
        counts[name.split("_")[1]] = counts.get(name.split("_")[1], 0) + 1
    assert counts == EXPECTED_COUNTS
    assert features.from_cache is False and features.seconds > 0
    # first-order features see the calcium: the maximum is far above soft tissue, the region volume is right
    assert features.values["original_firstorder_Maximum"] > 500
    voxel_mm3 = float(np.prod(ct.spacing))
    assert features.values["original_shape_VoxelVolume"] == pytest.approx(region.voxel_count() * voxel_mm3, rel=0.1)


def test_calcium_changes_intensity_features():
    zero = make_extractor("radiomics").extract(*make_case(seed=11, burden=0)).values
    heavy = make_extractor("radiomics").extract(*make_case(seed=11, burden=3)).values
    assert zero["original_firstorder_Maximum"] < 130 < heavy["original_firstorder_Maximum"]
    assert heavy["original_firstorder_90Percentile"] >= zero["original_firstorder_90Percentile"]


def test_crop_is_the_bounding_box_plus_margin(calcified_case):
    ct, region = calcified_case
    extractor = RadiomicsExtractor()
    cropped = extractor.crop(ct, region)
    nonzero = np.argwhere(region.labels > 0)
    low, high = nonzero.min(axis=0), nonzero.max(axis=0) + 1
    margin = extractor.margin_voxels
    expected = [min(h + margin, n) - max(lo - margin, 0) for lo, h, n in zip(low, high, ct.array.shape)]
    assert list(cropped.image.GetSize()[::-1]) == expected
    # the crop sits where it was cut from: the first voxel of the crop is the same point in patient space
    start = [b.start for b in cropped.box_zyx]
    assert np.allclose(cropped.image.GetOrigin(), ct.geometry.index_to_lps(start))


def test_cropping_does_not_change_the_features(calcified_case):
    """On the native grid, pyradiomics on the whole volume and on our crop agree exactly (the crop loses nothing).

    (With resampling, pyradiomics anchors the new grid at the image corner, which for us is the crop corner: features
    then follow the region, not where the patient lay in the field of view. That is checked for shift invariance below.)
    """
    import SimpleITK as sitk
    from radiomics import featureextractor

    from CoronaryCalciumLib.io.geometry import apply_geometry

    ct, region = calcified_case
    params = load_params()
    del params["setting"]["resampledPixelSpacing"]
    ours = RadiomicsExtractor(params=params).extract(ct, region).values
    image = sitk.GetImageFromArray(ct.array)
    apply_geometry(image, ct.geometry)
    mask = sitk.GetImageFromArray((region.labels > 0).astype(np.uint8))
    apply_geometry(mask, ct.geometry)
    whole = featureextractor.RadiomicsFeatureExtractor(params).execute(image, mask, label=1)
    assert len(ours) == 107
    for name, value in ours.items():
        assert float(whole[name]) == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_shipped_settings_follow_the_region_not_the_field_of_view(calcified_case):
    """The same anatomy shifted inside a larger scan gives the same features with the shipped (resampling) settings."""
    from CoronaryCalciumLib.io.ct import ct_from_array

    ct, region = calcified_case
    shape = tuple(n + 14 for n in ct.array.shape)
    bigger = np.full(shape, -1000, dtype=ct.array.dtype)
    labels = np.zeros(shape, dtype=np.uint8)
    offset = (slice(9, 9 + ct.array.shape[0]), slice(5, 5 + ct.array.shape[1]), slice(11, 11 + ct.array.shape[2]))
    bigger[offset] = ct.array
    labels[offset] = region.labels
    shifted_ct = ct_from_array(bigger, ct.spacing, origin_xyz=(-40.0, 12.5, 300.0), metadata=ct.metadata)
    original = RadiomicsExtractor().extract(ct, region).values
    shifted = RadiomicsExtractor().extract(shifted_ct, region_from_array(labels)).values
    for name, value in original.items():
        assert shifted[name] == pytest.approx(value, rel=1e-6, abs=1e-9, nan_ok=True), name


def test_empty_region_is_a_region_error(calcified_case):
    ct, _region = calcified_case
    empty = np.zeros(ct.array.shape, dtype=np.uint8)
    from CoronaryCalciumLib.region.mask import RegionOfInterest

    with pytest.raises(RegionError, match="empty"):
        make_extractor("radiomics").extract(ct, RegionOfInterest(labels=empty, names={}))


@pytest.mark.parametrize("voxels", [1, 3])
def test_tiny_region_is_a_region_error(calcified_case, voxels):
    ct, _region = calcified_case
    labels = np.zeros(ct.array.shape, dtype=np.uint8)
    labels[8, 20, 20:20 + voxels] = 1
    with pytest.raises(RegionError, match="too small"):
        make_extractor("radiomics").extract(ct, region_from_array(labels))


def test_region_on_another_grid_is_refused(calcified_case):
    ct, region = calcified_case
    from CoronaryCalciumLib.region.mask import RegionOfInterest

    wrong = RegionOfInterest(labels=region.labels[:, :-1, :], names=region.names)
    with pytest.raises(RegionError, match="does not match"):
        make_extractor("radiomics").extract(ct, wrong)


def test_label_subset(calcified_case):
    ct, region = calcified_case
    labels = region.labels.copy()
    labels[: labels.shape[0] // 2][labels[: labels.shape[0] // 2] > 0] = 3  # upper half becomes another artery
    two_labels = region_from_array(labels)
    whole = RadiomicsExtractor().extract(ct, two_labels).values
    lower = RadiomicsExtractor(labels=[2]).extract(ct, two_labels).values
    assert lower["original_shape_VoxelVolume"] < 0.7 * whole["original_shape_VoxelVolume"]
    with pytest.raises(RegionError, match="none of the labels"):
        RadiomicsExtractor(labels=[4]).extract(ct, two_labels)


def test_cache_hits_misses_and_damage(tmp_path, calcified_case):
    ct, region = calcified_case
    cache = FeatureCache(str(tmp_path))
    extractor = make_extractor("radiomics")
    first = extractor.extract(ct, region, cache=cache)
    second = extractor.extract(ct, region, cache=cache)
    assert second.from_cache and not first.from_cache
    assert second.values.keys() == first.values.keys()
    for name, value in first.values.items():
        assert second.values[name] == pytest.approx(value, nan_ok=True)
    # other settings: another key
    params = load_params()
    params["setting"]["binWidth"] = 50
    other = RadiomicsExtractor(params=params).extract(ct, region, cache=cache)
    assert not other.from_cache
    assert other.values["original_glcm_JointEntropy"] != pytest.approx(first.values["original_glcm_JointEntropy"])
    # another image (one voxel changed inside the region): another key
    changed = ct.array.copy()
    z, y, x = np.argwhere(region.labels > 0)[0]
    changed[z, y, x] += 300
    from CoronaryCalciumLib.io.ct import ct_from_array

    ct2 = ct_from_array(changed, ct.spacing, metadata=ct.metadata)
    assert not extractor.extract(ct2, region, cache=cache).from_cache
    # a damaged entry is recomputed, never trusted
    files = [os.path.join(d, f) for d, _, fs in os.walk(str(tmp_path)) for f in fs]
    assert len(files) == 3
    for path in files:
        with open(path, "w") as stream:
            stream.write("{not json")
    again = extractor.extract(ct, region, cache=cache)
    assert not again.from_cache


def test_case_features_round_trip_keeps_nan():
    features = CaseFeatures(extractor="radiomics", values={"a": 1.5, "b": float("nan")}, settings_hash="s",
                            input_hash="i")
    back = CaseFeatures.from_dict(features.to_dict())
    assert back.values["a"] == 1.5 and np.isnan(back.values["b"])


def test_feature_table_csv_round_trip_and_selection(tmp_path):
    columns = ["original_shape_VoxelVolume", "original_firstorder_Maximum", "original_glcm_Contrast", "ctfm_emb_000"]
    table = FeatureTable(case_ids=["a", "b"], columns=columns,
                         values=np.array([[1.0, 2.0, np.nan, 4.0], [5.0, 6.0, 7.0, 8.0]]),
                         groups={"radiomics": columns[:3], "ctfm": columns[3:]})
    path = str(tmp_path / "features.csv")
    table.write_csv(path)
    back = FeatureTable.read_csv(path)
    assert back.columns == columns and back.groups == table.groups and back.case_ids == ["a", "b"]
    assert np.array_equal(np.isnan(back.values), np.isnan(table.values))
    assert np.allclose(np.nan_to_num(back.values), np.nan_to_num(table.values))
    assert table.select("radiomics").columns == columns[:3]
    assert table.select("radiomics:glcm+ctfm").columns == ["original_glcm_Contrast", "ctfm_emb_000"]
    assert table.rows(["b"]).values.tolist() == [[5.0, 6.0, 7.0, 8.0]]
    with pytest.raises(InputError, match="needs radimagenet"):
        table.select("radimagenet")
    with pytest.raises(InputError, match="groups: firstorder, glcm, shape"):
        table.select("radiomics:glszm")
    assert parse_feature_spec("radiomics:shape+ctfm") == [("radiomics", "shape"), ("ctfm", None)]
    assert columns_for_spec("radiomics:shape", table.groups) == ["original_shape_VoxelVolume"]


def test_unknown_extractor_is_an_input_error():
    with pytest.raises(InputError, match="unknown feature extractor"):
        make_extractor("no-such-extractor")


def test_settings_round_trip_rebuilds_the_same_extractor():
    extractor = RadiomicsExtractor(labels=[2, 3])
    rebuilt = make_extractor("radiomics", extractor.settings())
    assert rebuilt.settings_hash() == extractor.settings_hash()
    assert rebuilt.labels == [2, 3]


def test_pyradiomics_is_imported_lazily():
    code = ("import sys; import CoronaryCalciumLib.features.base, CoronaryCalciumLib.classifier.model, "
            "CoronaryCalciumLib.features.radiomics, CoronaryCalciumLib.classifier.nested_cv; "
            "print('radiomics' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"


# ------------------------------------------------------------------------------------- IBSI phantom (real CT data)

def _ibsi_reference(config: str):
    import csv

    from support.data import IBSI, data_path

    path = data_path(os.path.join(IBSI, "ibsi_1_reference_values", "ibsi_1_chest_config_%s.csv" % config))
    values = {}
    with open(path) as stream:
        for row in csv.reader(stream, delimiter=";"):
            try:
                values[row[2]] = (float(row[0]), float(row[1]))
            except (ValueError, IndexError):
                continue
    return values


@pytest.fixture(scope="module")
def ibsi_phantom():
    from support.data import IBSI, data_path

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.region.mask import load_region

    ct = load_ct(data_path(os.path.join(IBSI, "nifti", "image", "phantom.nii.gz")))
    region = load_region(data_path(os.path.join(IBSI, "nifti", "mask", "mask.nii.gz")), ct)
    return ct, region


IBSI_A_SHAPE_FIRST_ORDER = {
    "shape_MeshVolume": "morph_volume", "shape_SurfaceArea": "morph_area_mesh", "shape_Sphericity": "morph_sphericity",
    "firstorder_Mean": "stat_mean", "firstorder_Variance": "stat_var", "firstorder_Skewness": "stat_skew",
    "firstorder_Median": "stat_median", "firstorder_Minimum": "stat_min", "firstorder_10Percentile": "stat_p10",
    "firstorder_90Percentile": "stat_p90", "firstorder_Maximum": "stat_max",
    "firstorder_InterquartileRange": "stat_iqr", "firstorder_Range": "stat_range",
    "firstorder_MeanAbsoluteDeviation": "stat_mad", "firstorder_RobustMeanAbsoluteDeviation": "stat_rmad",
    "firstorder_Energy": "stat_energy", "firstorder_RootMeanSquared": "stat_rms",
}
IBSI_A_TEXTURE_2_5D = {
    "glcm_JointEntropy": "cm_joint_entr_2_5D_avg", "glcm_Contrast": "cm_contrast_2_5D_avg",
    "glcm_Correlation": "cm_corr_2_5D_avg", "glcm_Idn": "cm_inv_diff_norm_2_5D_avg",
    "glcm_JointEnergy": "cm_energy_2_5D_avg", "glrlm_ShortRunEmphasis": "rlm_sre_2_5D_avg",
    "glrlm_RunPercentage": "rlm_r_perc_2_5D_avg", "glrlm_GrayLevelNonUniformity": "rlm_glnu_2_5D_avg",
    "glszm_SmallAreaEmphasis": "szm_sze_2_5D", "glszm_ZonePercentage": "szm_z_perc_2_5D",
    "ngtdm_Coarseness": "ngt_coarseness_2_5D", "ngtdm_Contrast": "ngt_contrast_2_5D",
    "ngtdm_Busyness": "ngt_busyness_2_5D", "gldm_SmallDependenceEmphasis": "ngl_lde_2_5D",
    "gldm_DependenceNonUniformity": "ngl_dcnu_2_5D",
}


def test_ibsi_phantom_configuration_a(ibsi_phantom):
    """Our extraction path (crop + pyradiomics) reproduces the IBSI consensus values of configuration A.

    Config A: no interpolation, re-segmentation to [-500, 400] HU, fixed bin width 25 HU; texture matrices merged over
    slices (IBSI "2.5D", pyradiomics force2D). Kurtosis: pyradiomics reports kurtosis, IBSI excess kurtosis (-3).
    Our shipped settings resample to 1x1x3 mm, so they are not an IBSI configuration; this checks the machinery.
    """
    ct, region = ibsi_phantom
    reference = _ibsi_reference("a")
    base = {"binWidth": 25, "resegmentRange": [-500, 400], "label": 1, "voxelArrayShift": 0}
    shape_first = RadiomicsExtractor(params={"setting": base, "imageType": {"Original": {}},
                                             "featureClass": {"shape": None, "firstorder": None}}).extract(ct, region)
    texture = RadiomicsExtractor(params={"setting": dict(base, force2D=True, force2Ddimension=0),
                                         "imageType": {"Original": {}},
                                         "featureClass": {c: None for c in CLASSES[2:]}}).extract(ct, region)
    values = dict(shape_first.values)
    values.update(texture.values)
    checked = dict(IBSI_A_SHAPE_FIRST_ORDER, **IBSI_A_TEXTURE_2_5D)
    failures = []
    for ours, ibsi in checked.items():
        expected, tolerance = reference[ibsi]
        value = values["original_" + ours]
        if abs(value - expected) > tolerance:
            failures.append("%s = %g, IBSI %s = %g +- %g" % (ours, value, ibsi, expected, tolerance))
    expected, tolerance = reference["stat_kurt"]
    if abs(values["original_firstorder_Kurtosis"] - 3.0 - expected) > tolerance:
        failures.append("excess kurtosis %g vs %g" % (values["original_firstorder_Kurtosis"] - 3.0, expected))
    assert not failures, failures
