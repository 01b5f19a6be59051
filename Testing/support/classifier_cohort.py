"""Small fabricated cohorts for the radiomics / classifier tests: numpy CTs, a coronary-like tube, calcified blobs.

Each case is a (16, 48, 48) CT at 0.8 x 0.8 x 3 mm: soft tissue (40 HU) with noise, a fat ring, an air border, and a
tube-shaped region of interest (label 2 = LAD) that wanders with the seed. ``burden`` 0 adds no calcium; 1-3 add more
and larger calcified blobs (250-900 HU) inside the tube. The reference Agatston score (hence the labels) is computed by
the project's own scoring of the image, as a user's reference reader would provide it.
"""

from __future__ import annotations

import csv
import os
from typing import List, Optional, Sequence

import numpy as np

SHAPE = (16, 48, 48)
SPACING = (0.8, 0.8, 3.0)


def make_case(seed: int, burden: int):
    """(ct, region) of one fabricated case."""
    from CoronaryCalciumLib.io.ct import CTMetadata, ct_from_array
    from CoronaryCalciumLib.region.mask import region_from_array

    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    array = np.full(SHAPE, 40.0)
    radius_body = np.hypot(y - 24, x - 24)
    array[radius_body > 20] = -100.0  # fat ring
    array[:, :2, :] = -1000.0  # air border: the volume validates as CT in HU
    centre_y = 24 + 5 * np.sin(z / 4.0 + rng.uniform(0, 6)) + rng.uniform(-2, 2)
    centre_x = 24 + 5 * np.cos(z / 5.0 + rng.uniform(0, 6)) + rng.uniform(-2, 2)
    tube_radius = rng.uniform(3.2, 4.2)
    tube = np.hypot(y - centre_y, x - centre_x) <= tube_radius
    array[tube] = 45.0
    n_blobs = {0: 0, 1: 1, 2: 2, 3: 4}[burden]
    for _ in range(n_blobs):
        slice_index = int(rng.integers(2, SHAPE[0] - 2))
        cy, cx = centre_y[slice_index, 0, 0], centre_x[slice_index, 0, 0]
        size = {1: rng.uniform(0.9, 1.5), 2: rng.uniform(1.5, 2.4), 3: rng.uniform(2.2, 3.2)}[burden]
        peak = rng.uniform(250, 500) if burden == 1 else rng.uniform(400, 900)
        distance = np.sqrt((y - cy) ** 2 + (x - cx) ** 2 + ((z - slice_index) * SPACING[2] / SPACING[0]) ** 2)
        blob = np.clip(1.0 - distance / (size + 1.0), 0, None) ** 0.7 * (peak - 45.0)
        array = np.where(tube, array + blob, array)
    array += rng.normal(0, 12.0, SHAPE)
    ct = ct_from_array(np.round(array).astype(np.int16), SPACING,
                       metadata=CTMetadata(source="fabricated-%d" % seed, format="array", kvp=120.0,
                                           slice_thickness_mm=3.0, slice_increment_mm=3.0))
    labels = np.where(tube, 2, 0).astype(np.uint8)
    return ct, region_from_array(labels, source="tube-%d" % seed)


def reference_agatston(ct, region) -> float:
    from CoronaryCalciumLib.scoring.agatston import score

    return float(score(ct, region).agatston)


def write_case(folder: str, case_id: str, ct, region) -> tuple:
    import SimpleITK as sitk

    from CoronaryCalciumLib.io.geometry import apply_geometry

    os.makedirs(folder, exist_ok=True)
    image_path = os.path.join(folder, case_id + "_ct.nii.gz")
    mask_path = os.path.join(folder, case_id + "_roi.nii.gz")
    for array, path in ((ct.array, image_path), (region.labels, mask_path)):
        image = sitk.GetImageFromArray(array)
        apply_geometry(image, ct.geometry)
        sitk.WriteImage(image, path)
    return image_path, mask_path


def write_cohort(folder: str, n_cases: int, seed: int = 0, burdens: Optional[Sequence[int]] = None,
                 label_column: str = "agatston") -> str:
    """Write ``n_cases`` cases (NIfTI) and a manifest; returns the manifest path.

    Burdens cycle 0, 1, 2, 3 unless given. ``label_column``: "agatston" writes the reference score, "label" only 0/1.
    """
    rows: List[list] = []
    burdens = list(burdens) if burdens is not None else [i % 4 for i in range(n_cases)]
    for index in range(n_cases):
        case_id = "case%03d" % (seed * 1000 + index)
        ct, region = make_case(seed * 1000 + index, burdens[index % len(burdens)])
        agatston = reference_agatston(ct, region)
        image, mask = write_case(os.path.join(folder, "cases"), case_id, ct, region)
        value = "%.3f" % agatston if label_column == "agatston" else ("1" if agatston > 0 else "0")
        rows.append([case_id, os.path.relpath(image, folder), os.path.relpath(mask, folder), value])
    manifest = os.path.join(folder, "manifest.csv")
    with open(manifest, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["case_id", "image", "mask", label_column])
        writer.writerows(rows)
    return manifest


def train_small_model(root: str, n_cases: int, seed: int, config_dir: str, description: str,
                      extra_args: Sequence[str] = ()) -> str:
    """Train a model on ``n_cases`` fabricated cases with ``coronary-calcium train`` (quick grid, 3 inner folds,
    ``--synthetic``), the way a researcher does, recording it in the trust registry of ``config_dir`` (environment
    restored afterwards). Returns the training output folder (the model is in ``<out>/binary``)."""
    import importlib

    from CoronaryCalciumLib.cli import main

    cli = importlib.import_module("CoronaryCalciumLib.cli.main")
    manifest = write_cohort(os.path.join(root, "train"), n_cases, seed=seed)
    out = os.path.join(root, "out")
    env = {"CORONARY_CALCIUM_CONFIG_DIR": config_dir, "CORONARY_CALCIUM_CACHE": os.path.join(root, "cache")}
    saved_env = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    saved_commands = cli.COMMANDS
    cli.COMMANDS = tuple(saved_commands) + tuple(name for name in ("train", "evaluate") if name not in saved_commands)
    try:
        code = main(["train", manifest, "--out", out, "--grid", "quick", "--inner-folds", "3", "--synthetic",
                     "--description", description, "--quiet"] + list(extra_args))
    finally:
        cli.COMMANDS = saved_commands
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if code != 0:
        raise AssertionError("training the test model failed with exit code %d" % code)
    return out
