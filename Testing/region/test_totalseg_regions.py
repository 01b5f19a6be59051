"""Building the region of interest from TotalSegmentator's masks: the heart-surface shell, the coronary margin, the
blood-pool reference, and reading TotalSegmentator's output onto the CT grid. Analytic shapes, no TotalSegmentator."""

from __future__ import annotations

import numpy as np
import pytest

from CoronaryCalciumLib.region import totalseg_region
from CoronaryCalciumLib.io.ct import ct_from_array
from CoronaryCalciumLib.io.geometry import Geometry

SPACING = (0.8, 0.8, 2.0)  # anisotropic on purpose: distances must be in mm, not voxels
SHAPE = (60, 150, 150)  # z, y, x


def _points(shape=SHAPE, spacing=SPACING):
    k, j, i = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    centre = [(n - 1) / 2.0 for n in shape]
    return (i - centre[2]) * spacing[0], (j - centre[1]) * spacing[1], (k - centre[0]) * spacing[2]


def _geometry(shape=SHAPE, spacing=SPACING):
    return Geometry(shape=shape, spacing=spacing, origin=(0.0, 0.0, 0.0))


HEART_RADIUS = 30.0


def _sphere_and_aorta():
    x, y, z = _points()
    r = np.sqrt(x ** 2 + y ** 2 + z ** 2)
    aorta_axis_distance = np.sqrt((x - 10.0) ** 2 + (y + 5.0) ** 2)
    aorta = (aorta_axis_distance <= 12.0) & (z >= 20.0)
    heart = (r <= HEART_RADIUS) & ~aorta
    return heart, aorta, r, aorta_axis_distance, z


def test_shell_spans_the_heart_surface_in_millimetres():
    heart, _, r, _, _ = _sphere_and_aorta()
    heart = r <= HEART_RADIUS
    settings = totalseg_region.TotalSegRegionSettings(shell_inside_mm=6.0, shell_outside_mm=10.0)  # not the defaults
    shell = totalseg_region.heart_shell(heart, None, _geometry(), settings)
    tolerance = 1.0  # voxelisation of the sphere surface (0.8 mm in plane, 2 mm slices)
    assert r[shell].min() >= HEART_RADIUS - 6.0 - tolerance
    assert r[shell].max() <= HEART_RADIUS + 10.0 + tolerance
    clearly_inside = (r >= HEART_RADIUS - 6.0 + 2.0) & (r <= HEART_RADIUS + 10.0 - 2.0)
    assert np.all(shell[clearly_inside])
    assert not np.any(shell[r <= HEART_RADIUS - 6.0 - 2.5])  # the blood pool and deep myocardium are out


def test_shell_leaves_out_the_aorta_its_wall_and_the_valve_plane():
    heart, aorta, r, axis_distance, z = _sphere_and_aorta()
    settings = totalseg_region.TotalSegRegionSettings(aorta_margin_mm=1.5, valve_margin_mm=5.0, valve_depth_mm=15.0)
    shell = totalseg_region.heart_shell(heart, aorta, _geometry(), settings)
    # analytic distance to the aorta (a cylinder from z = 20 mm up); its voxelised surface lies up to half a voxel
    # diagonal (1.15 mm) away from the analytic one
    slack = 1.2
    outside_cylinder = np.maximum(axis_distance - 12.0, 0.0)
    below = np.maximum(20.0 - z, 0.0)
    to_aorta = np.sqrt(outside_cylinder ** 2 + below ** 2)
    assert to_aorta[shell].min() > 1.5 - slack
    # valve plane: on the root's axis (radius 12 + 5 mm), from the aorta's lowest slice (z = 21) 15 mm down
    valve = (axis_distance <= 17.0 - slack) & (z <= 21.0) & (z >= 21.0 - 15.0 + slack)
    assert not np.any(shell & valve)
    # beside the root, above its lowest level (where the coronary ostia are), the shell is kept beyond the margin
    assert np.any(shell & (z > 22.0) & (to_aorta > 2.0) & (to_aorta < 9.0))
    far = (np.abs(r - HEART_RADIUS) < 3.0) & (to_aorta > 20.0)
    assert np.all(shell[far])


def _non_contrast_ct(heart, aorta):
    image = np.full(heart.shape, -100, dtype=np.int16)  # epicardial and mediastinal fat
    image[heart | aorta] = 40  # unenhanced blood and myocardium
    return image


def test_bone_crossing_into_the_shell_is_removed_and_coronary_calcium_stays():
    heart, aorta, r, _, z = _sphere_and_aorta()
    x, y, _ = _points()
    settings = totalseg_region.TotalSegRegionSettings()
    image = _non_contrast_ct(heart, aorta)
    plain = totalseg_region.heart_shell(heart, aorta, _geometry(), settings)
    assert np.array_equal(totalseg_region.heart_shell(heart, aorta, _geometry(), settings, image=image), plain)
    sternum = (np.abs(x) <= 4.0) & (np.abs(z) <= 6.0) & (y >= 33.0)  # enters the shell from 13 mm outside it
    plaque = np.sqrt((x + 34.0) ** 2 + y ** 2 + z ** 2) <= 2.5  # in the epicardial fat, 4 mm off the heart
    image[sternum] = 600
    image[plaque] = 400
    notes = []
    shell = totalseg_region.heart_shell(heart, aorta, _geometry(), settings, image=image, notes=notes)
    assert np.any(plain & sternum) and not np.any(shell & sternum)
    assert np.all(shell[plaque])
    removed = plain & ~shell
    to_sternum = totalseg_region.distance_outside_mm(sternum, SPACING[::-1])
    # its rim goes too (the margin, plus up to 2 sigma where smoothing spreads 600 HU above the threshold); nothing else
    rim = totalseg_region.CROSSING_MARGIN_MM + 2.0 * totalseg_region.CROSSING_SMOOTHING_MM
    assert to_sternum[removed].max() <= rim
    assert np.all(shell[plain & (to_sternum > rim)])
    assert notes == []


def test_chest_wall_beyond_the_lung_is_left_out_and_fat_touching_the_heart_stays():
    heart, aorta, r, _, _ = _sphere_and_aorta()
    x, y, _ = _points()
    settings = totalseg_region.TotalSegRegionSettings()
    image = _non_contrast_ct(heart, aorta)
    lung = (r > HEART_RADIUS + 2.0) & (r <= HEART_RADIUS + 5.0) & (y > 10.0)  # a lung layer in front of the heart
    image[lung] = -850
    image[(r > HEART_RADIUS + 5.0) & (y > 10.0)] = 50  # chest wall muscle behind it, still inside the 10 mm band
    plain = totalseg_region.heart_shell(heart, aorta, _geometry(), settings)
    shell = totalseg_region.heart_shell(heart, aorta, _geometry(), settings, image=image)
    behind = plain & (r > HEART_RADIUS + 5.0) & (y > 14.0)
    assert behind.sum() > 1000 and not np.any(shell & behind)
    in_front = plain & (r <= HEART_RADIUS + 2.0) & (y > 10.0)  # the fat between heart and lung keeps its arteries
    assert np.all(shell[in_front])
    elsewhere = plain & (y < 0.0)
    assert np.all(shell[elsewhere])


def test_a_thin_dark_band_beside_the_heart_is_not_lung_and_keeps_the_tissue_beyond_it():
    """Motion in a non-gated scan leaves bands of -300 to -550 HU beside a beating artery (LUNG1-001's mid RCA): one
    dark voxel on the way to the heart must not cut the shell as real lung does."""
    heart, aorta, r, _, _ = _sphere_and_aorta()
    x, y, _ = _points()
    settings = totalseg_region.TotalSegRegionSettings()
    image = _non_contrast_ct(heart, aorta)
    band = (r > HEART_RADIUS + 2.0) & (r <= HEART_RADIUS + 2.8) & (y > 10.0)  # under one voxel (0.8 mm) thick
    image[band] = -545
    beyond = (r > HEART_RADIUS + 3.5) & (r <= HEART_RADIUS + 8.0) & (y > 14.0)
    image[beyond] = 40
    shell = totalseg_region.heart_shell(heart, aorta, _geometry(), settings, image=image)
    # most of it stays (one dark voxel used to remove all of it); lines that cross the rasterised band obliquely
    # meet up to two of its voxels
    assert beyond.sum() > 1000 and np.mean(shell[beyond]) > 0.8
    image[(r > HEART_RADIUS + 2.0) & (r <= HEART_RADIUS + 5.0) & (y > 10.0)] = -545  # 3 mm of it: lung
    shell = totalseg_region.heart_shell(heart, aorta, _geometry(), settings, image=image)
    deep = beyond & (r > HEART_RADIUS + 6.0)
    assert np.mean(shell[deep]) < 0.05


def test_contrast_filled_heart_keeps_the_shell_and_says_why():
    heart, aorta, r, _, z = _sphere_and_aorta()
    x, y, _ = _points()
    settings = totalseg_region.TotalSegRegionSettings()
    image = _non_contrast_ct(heart, aorta)
    pulmonary_artery = (np.sqrt(y ** 2 + z ** 2) <= 8.0) & (x <= 0.0)  # leaves the heart and the field of view
    image[(heart & (r <= HEART_RADIUS - 3.0)) | aorta | pulmonary_artery] = 350
    notes = []
    shell = totalseg_region.heart_shell(heart, aorta, _geometry(), settings, image=image, notes=notes)
    assert np.array_equal(shell, totalseg_region.heart_shell(heart, aorta, _geometry(), settings))
    assert len(notes) == 1 and "contrast-filled vessels" in notes[0] and "not removed" in notes[0]


def test_dilation_is_euclidean_in_millimetres_on_anisotropic_voxels():
    mask = np.zeros((21, 41, 41), dtype=bool)
    mask[10, 20, 20] = True
    geometry = _geometry(shape=mask.shape)
    grown = totalseg_region.dilate_mm(mask, geometry, 3.0)
    k, j, i = np.nonzero(grown)
    distance = np.sqrt(((i - 20) * 0.8) ** 2 + ((j - 20) * 0.8) ** 2 + ((k - 10) * 2.0) ** 2)
    assert distance.max() <= 3.0
    kk, jj, ii = np.meshgrid(np.arange(21), np.arange(41), np.arange(41), indexing="ij")
    expected = np.sqrt(((ii - 20) * 0.8) ** 2 + ((jj - 20) * 0.8) ** 2 + ((kk - 10) * 2.0) ** 2) <= 3.0
    assert np.array_equal(grown, expected)
    assert not totalseg_region.dilate_mm(np.zeros_like(mask), geometry, 3.0).any()


def test_blood_pool_is_the_eroded_aorta_else_the_deep_heart():
    heart, aorta, r, axis_distance, _ = _sphere_and_aorta()
    geometry = _geometry()
    pool = totalseg_region.blood_pool_reference(heart, aorta, geometry, erosion_mm=3.0)
    assert pool.dtype == np.uint8 and np.all(aorta[pool > 0])
    assert axis_distance[pool > 0].max() <= 12.0 - 3.0 + 0.8
    deep = totalseg_region.blood_pool_reference(heart, None, geometry, erosion_mm=3.0)
    assert np.all(r[deep > 0] <= HEART_RADIUS - 15.0 + 1.0)
    assert totalseg_region.blood_pool_reference(r <= 4.0, None, geometry, 3.0) is None
    assert totalseg_region.blood_pool_reference(None, None, geometry, 3.0) is None


def _ct(shape=(20, 40, 40), spacing=(0.7, 0.7, 1.5), origin=(-14.0, -14.0, -15.0)):
    array = np.full(shape, 40, dtype=np.int16)
    array[:, :3, :] = -1000
    return ct_from_array(array, spacing, origin_xyz=origin)


def test_output_on_the_ct_grid_is_read_as_is(tmp_path):
    import SimpleITK as sitk

    ct = _ct()
    labels = np.zeros(ct.array.shape, dtype=np.uint8)
    labels[5:9, 10:20, 12:30] = 51
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(ct.image)
    path = str(tmp_path / "seg.nii.gz")
    sitk.WriteImage(image, path)
    read, note = totalseg_region.read_labels_on_ct_grid(path, ct)
    assert note is None and np.array_equal(read, labels)


def test_output_on_another_grid_is_resampled_nearest_neighbour(tmp_path):
    import SimpleITK as sitk

    ct = _ct()
    coarse = np.zeros((10, 20, 20), dtype=np.uint8)  # twice the spacing, same origin corner
    coarse[2:5, 4:10, 6:15] = 52
    image = sitk.GetImageFromArray(coarse)
    image.SetSpacing((1.4, 1.4, 3.0))
    image.SetOrigin((-14.0 + 0.35, -14.0 + 0.35, -15.0 + 0.75))  # voxel centres of 2x2x2 blocks
    path = str(tmp_path / "coarse.nii.gz")
    sitk.WriteImage(image, path)
    read, note = totalseg_region.read_labels_on_ct_grid(path, ct)
    assert "resampled nearest-neighbour onto the CT grid" in note and "spacing 1.4x1.4x3" in note
    assert read.shape == ct.array.shape and set(np.unique(read)) == {0, 52}
    expected = np.repeat(np.repeat(np.repeat(coarse, 2, 0), 2, 1), 2, 2)
    assert np.array_equal(read, expected)


def test_ct_is_written_at_the_working_spacing_only_when_finer(tmp_path):
    import SimpleITK as sitk

    ct = _ct(spacing=(0.7, 0.7, 1.5))
    path = str(tmp_path / "ct.nii")
    geometry = totalseg_region.write_ct_for_totalseg(ct, path, working_spacing_mm=1.5)
    written = sitk.ReadImage(path)
    assert written.GetSpacing() == pytest.approx((1.5, 1.5, 1.5)) and geometry.spacing == pytest.approx((1.5,) * 3)
    assert written.GetSize() == (19, 19, 20)
    same = totalseg_region.write_ct_for_totalseg(ct, str(tmp_path / "ct2.nii"), working_spacing_mm=None)
    assert same.matches(ct.geometry)
    coarse = totalseg_region.write_ct_for_totalseg(ct, str(tmp_path / "ct3.nii"), working_spacing_mm=0.5)
    assert coarse.matches(ct.geometry)
