"""Cohorts: N cases with varied patients, protocols and calcium burden, and a manifest CSV.

Each case's seed and protocol are drawn from the cohort seed and the case number, so a cohort is reproducible and case i
is the same whatever N is. Protocols: mostly gated 3 mm calcium-scoring scans, some thin or overlapping reconstructions
and some non-gated chest CTs; noise grows for thinner slices. Burden follows ``plaques.BURDEN_FREQUENCIES`` (about 45%
zero scores, then many low scores and fewer high ones).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace
from typing import Dict, List, Optional

import numpy as np

from ..errors import InputError
from .case import generate_case
from .config import SLICE_PROTOCOLS, PhantomConfig
from .writer import FILES, write_case
from ..progress import Progress
from ..region.arteries import ARTERIES

MANIFEST = "manifest.csv"
COLUMNS = ["id", "image", "mask", "label", "agatston", "volume_mm3", "mass_mg", "category", "cac_drs",
           "agatston_LM", "agatston_LAD", "agatston_LCX", "agatston_RCA", "physical_volume_mm3", "physical_mass_mg",
           "n_plaques", "n_extracoronary", "burden", "variant", "slice_thickness_mm", "slice_increment_mm",
           "noise_sd_hu", "psf_fwhm_mm", "kernel", "kvp", "matrix", "seed", "truth", "heart", "aorta", "lesions", "dicom", "contrast"]
THICKNESS_MIX = {3.0: 0.62, 2.5: 0.1, 1.5: 0.1, 1.0: 0.1, 0.625: 0.08}


def case_seed(cohort_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(cohort_seed), 7919, int(index)]).generate_state(1)[0] % 2_000_000_000)


def case_config(base: PhantomConfig, cohort_seed: int, index: int, vary: bool = True) -> PhantomConfig:
    """The configuration of case ``index``: ``base`` with protocol drawn per case when ``vary``."""
    if not vary:
        return base
    rng = np.random.default_rng(np.random.SeedSequence([int(cohort_seed), 104729, int(index)]))
    variant = "chest" if rng.random() < 0.2 else "cardiac"
    thicknesses = list(THICKNESS_MIX)
    thickness = float(rng.choice(thicknesses, p=np.array([THICKNESS_MIX[t] for t in thicknesses])))
    if variant == "chest" and thickness < 1.0:
        thickness = 1.0
    increment = SLICE_PROTOCOLS[thickness]
    noise = float(rng.uniform(12.0, 26.0) * (3.0 / thickness) ** 0.35) * (1.2 if variant == "chest" else 1.0)
    coverage = base.coverage_mm or (270.0 if variant == "chest" else float(rng.uniform(140.0, 180.0)))
    return replace(base, variant=variant, slice_thickness_mm=thickness, slice_increment_mm=increment,
                   noise_sd_hu=round(noise, 1), psf_fwhm_mm=round(float(rng.uniform(0.8, 1.3)), 2),
                   n_slices=None, coverage_mm=coverage, fov_mm=base.fov_mm)


def contrast_case(cohort_seed: int, index: int, fraction: float) -> bool:
    """Whether case ``index`` is contrast-enhanced, drawn with probability ``fraction`` (its own random stream, so the
    other cases' draws do not change)."""
    if fraction <= 0:
        return False
    rng = np.random.default_rng(np.random.SeedSequence([int(cohort_seed), 15485863, int(index)]))
    return bool(rng.random() < fraction)


def _row(case_dir: str, out_dir: str, truth: Dict[str, object], dicom: bool) -> Dict[str, object]:
    reference = truth["reference"]
    config = truth["config"]
    physical = truth["physical"]

    def rel(name: str) -> str:
        return os.path.relpath(os.path.join(case_dir, FILES[name]), out_dir)

    return {
        "id": truth["case_id"], "image": rel("image"), "mask": rel("coronary"), "label": truth["label"],
        "agatston": round(reference["agatston"], 3), "volume_mm3": round(reference["volume_mm3"], 3),
        "mass_mg": round(reference["mass_mg"] or 0.0, 3), "category": reference["classic"],
        "cac_drs": reference["cac_drs"],
        **{"agatston_%s" % a: round(reference["per_artery"][a]["agatston"], 3) for a in ARTERIES},
        "physical_volume_mm3": round(physical["coronary_volume_mm3"], 3),
        "physical_mass_mg": round(physical["coronary_mass_mg"], 4), "n_plaques": physical["coronary_count"],
        "n_extracoronary": physical["extracoronary_count"], "burden": truth["burden"], "variant": truth["variant"],
        "slice_thickness_mm": config["slice_thickness_mm"], "slice_increment_mm": config["slice_increment_mm"],
        "noise_sd_hu": config["noise_sd_hu"], "psf_fwhm_mm": config["psf_fwhm_mm"],
        "kernel": config.get("kernel", "soft"), "kvp": config["kvp"],
        "matrix": config["matrix"], "seed": truth["seed"], "truth": rel("truth"), "heart": rel("heart"),
        "aorta": rel("aorta"), "lesions": rel("lesions"), "dicom": rel("dicom") if dicom else "",
        "contrast": "yes" if config.get("contrast") else "no",
    }


def _make_one(job) -> Dict[str, object]:
    index, seed, config, case_dir, out_dir, dicom, noise_free, resume = job
    truth_path = os.path.join(case_dir, FILES["truth"])
    if resume and os.path.exists(truth_path):
        with open(truth_path, encoding="utf-8") as stream:
            truth = json.load(stream)
        same = truth.get("seed") == seed and bool(truth["config"].get("contrast")) == config.contrast
        if same and (not dicom or os.path.isdir(os.path.join(case_dir, FILES["dicom"]))):
            return _row(case_dir, out_dir, truth, dicom)
    case = generate_case(seed, config, case_id=os.path.basename(case_dir))
    write_case(case, case_dir, dicom=dicom, noise_free=noise_free)
    with open(truth_path, encoding="utf-8") as stream:
        truth = json.load(stream)
    return _row(case_dir, out_dir, truth, dicom)


def generate_cohort(out_dir: str, n_cases: int, seed: int = 0, base: Optional[PhantomConfig] = None,
                    dicom: bool = False, noise_free: bool = False, vary: bool = True, workers: int = 1,
                    resume: bool = True, progress: Optional[Progress] = None, contrast_fraction: float = 0.0) -> str:
    """Write ``n_cases`` cases into ``out_dir/case-XXXX/`` and ``out_dir/manifest.csv``; returns the manifest path.

    With ``resume``, cases whose truth.json already exists with the same seed are not generated again.
    ``contrast_fraction``: the share of contrast-enhanced cases (each drawn per case; the manifest's contrast column).
    """
    if n_cases < 1:
        raise InputError("a cohort needs at least one case, not %s" % n_cases)
    if not 0.0 <= contrast_fraction <= 1.0:
        raise InputError("the contrast fraction must be between 0 and 1, not %s" % contrast_fraction)
    base = (base or PhantomConfig()).validate()
    os.makedirs(out_dir, exist_ok=True)
    jobs = []
    for index in range(n_cases):
        config = case_config(base, seed, index, vary)
        if contrast_case(seed, index, contrast_fraction):
            config = replace(config, contrast=True)
        config = config.validate()
        case_dir = os.path.join(out_dir, "case-%04d" % index)
        jobs.append((index, case_seed(seed, index), config, case_dir, out_dir, dicom, noise_free, resume))
    report = progress or (lambda fraction, message: None)
    rows: List[Dict[str, object]] = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, row in enumerate(pool.map(_make_one, jobs), start=1):
                rows.append(row)
                report(done / n_cases, "case %d of %d" % (done, n_cases))
    else:
        for done, job in enumerate(jobs, start=1):
            report((done - 1) / n_cases, "case %d of %d" % (done, n_cases))
            rows.append(_make_one(job))
        report(1.0, "cohort written")
    manifest = os.path.join(out_dir, MANIFEST)
    from ..io.atomic import atomic_path

    with atomic_path(manifest) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
    return manifest
