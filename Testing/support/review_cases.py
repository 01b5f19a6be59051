"""A phantom scored twice, in its exact coronary mask and in the heart-shell region, and the edits a reader would make
to turn the heart-shell result into the exact one (what tests and benchmarks/bench_review.py use)."""

from __future__ import annotations

import os
from typing import List, Tuple

import numpy as np


def heart_shell_region(ct, case_dir: str):
    """The heart backend's region (shell, arteries by geometry) from the phantom's heart and aorta masks."""
    from CoronaryCalciumLib.region import artery_attribution, totalseg_region
    from CoronaryCalciumLib.region.mask import RegionOfInterest

    heart, aorta = (totalseg_region.read_labels_on_ct_grid(os.path.join(case_dir, name), ct)[0] > 0
                    for name in ("heart.nii.gz", "aorta.nii.gz"))
    shell = totalseg_region.heart_shell(heart, aorta, ct.geometry, totalseg_region.TotalSegRegionSettings(),
                                        image=ct.array)
    attribution = artery_attribution.assign_arteries(shell, heart, aorta, ct.geometry)
    return RegionOfInterest(labels=attribution.labels.astype(np.uint8),
                            names={1: "LM", 2: "LAD", 3: "LCX", 4: "RCA"}, source="heart shell")


def truth_edits(shell_score, exact_score, reader: str = "truth") -> List:
    """Edits from the heart-shell score to the exact-mask one: a heart-shell lesion with the voxels of an exact lesion
    gets that lesion's artery, one overlapping no exact lesion is excluded, one cut by the region is excluded and its
    whole lesion added, an exact lesion the shell missed is added at one of its voxels."""
    from CoronaryCalciumLib.review.edits import Edit

    shell_map, exact_map = shell_score.lesion_label_volume(), exact_score.lesion_label_volume()
    counted_exact = {l.id: l for l in exact_score.lesions}
    edits, added = [], set()
    for lesion in shell_score.lesions:
        voxels = shell_map == lesion.id
        exact_ids = {int(i) for i in np.unique(exact_map[voxels]) if int(i) in counted_exact}
        if not exact_ids:
            edits.append(Edit("exclude", lesion=lesion.id, reason="other", reader=reader, note="not coronary"))
            continue
        exact_id = exact_ids.pop()
        if not exact_ids and np.array_equal(voxels, exact_map == exact_id):
            if counted_exact[exact_id].artery != lesion.artery:
                edits.append(Edit("artery", lesion=lesion.id, artery=counted_exact[exact_id].artery, reader=reader))
            added.add(exact_id)
        else:
            edits.append(Edit("exclude", lesion=lesion.id, reason="other", reader=reader, note="cut by the region"))
    for exact_id, lesion in counted_exact.items():
        if exact_id not in added:
            edits.append(Edit("add", point_lps_mm=lesion_point(exact_score, exact_id), artery=lesion.artery,
                              reader=reader))
    return edits


def lesion_point(calcium, lesion_id: int, ct=None) -> Tuple[float, float, float]:
    """LPS mm of a voxel of lesion ``lesion_id`` (its first voxel in z-y-x order)."""
    index = np.argwhere(calcium.lesion_label_volume() == lesion_id)[0]
    return _geometry_of(calcium).index_to_lps(tuple(float(v) for v in index))


_GEOMETRIES = {}


def _geometry_of(calcium):
    return _GEOMETRIES[id(calcium)]


def scored_phantom(folder: str, seed: int = 9, burden: str = "severe", **changes):
    """(ct, settings, exact score, heart-shell score) of a small phantom written into ``folder``."""
    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.phantom import generate_case, small_config
    from CoronaryCalciumLib.phantom.writer import write_case
    from CoronaryCalciumLib.region.mask import load_region
    from CoronaryCalciumLib.scoring.agatston import score, scoring_settings

    write_case(generate_case(seed, small_config(burden=burden, noise_sd_hu=20.0, **changes)), folder)
    ct = load_ct(os.path.join(folder, "image.nii.gz"))
    settings = scoring_settings(calibration_factor=0.00075)
    exact = score(ct, load_region(os.path.join(folder, "coronary_exact.nii.gz"), ct), settings)
    shell = score(ct, heart_shell_region(ct, folder), settings)
    _GEOMETRIES[id(exact)] = _GEOMETRIES[id(shell)] = ct.geometry
    return ct, settings, exact, shell
