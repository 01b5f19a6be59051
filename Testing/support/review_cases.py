"""A phantom scored twice, in its exact coronary mask and in the heart-shell region, and the edits a reader would make
to turn the heart-shell result into the exact one (the derivation itself is the core's
``review.reference_edits``, which benchmarks/bench_review.py uses too)."""

from __future__ import annotations

import os
from typing import List, Tuple


def heart_shell_region(ct, case_dir: str):
    """The heart backend's region (shell, arteries by geometry, blood pool) from the phantom's heart and aorta masks,
    built by the core as from a TotalSegmentator output folder."""
    from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings, region_from_existing_output

    return region_from_existing_output(ct, TotalSegRegionSettings(backend="heart", existing_output=case_dir)).region


def truth_edits(shell_score, exact_score, reader: str = "truth") -> List:
    """Edits from the heart-shell score to the exact-mask one (``review.reference_edits.edits_to_reference``)."""
    from CoronaryCalciumLib.review.reference_edits import edits_to_reference

    return edits_to_reference(shell_score, exact_score, _ct_of(shell_score), reader=reader)


def lesion_point(calcium, lesion_id: int) -> Tuple[float, float, float]:
    """LPS mm of lesion ``lesion_id``'s brightest voxel."""
    from CoronaryCalciumLib.review.reference_edits import lesion_point as point

    return point(calcium, lesion_id, _ct_of(calcium))


_CTS = {}  # id(score) -> the CT it was scored on


def _ct_of(calcium):
    return _CTS[id(calcium)]


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
    _CTS[id(exact)] = _CTS[id(shell)] = ct
    return ct, settings, exact, shell
