"""Agreement of the whole scoring pipeline with phantom truth, for three sources of the region of interest.

Run: .venv/bin/python benchmarks/bench_agreement.py [--cases 30] [--seed 21] [--keep DIR]
A cohort of 512x512 phantoms with the cohort's protocol mix (3 mm gated scans, thin and overlapping reconstructions,
non-gated chest CTs; about 45% without coronary calcium) is generated once, then every case is assessed with `assess`
(scoring only: no classifier, no report) three times:

1. exact: the phantom's exact per-artery coronary mask;
2. pseudo-label: the same mask with TotalSegmentator-like errors (under- and over-segmentation, missing distal
   segments, shifts, LM labelled LAD);
3. heart shell: the free heart backend's region (shell around the heart surface, aorta and valve plane removed, arteries
   assigned by geometry) built from the phantom's heart and aorta masks standing in for TotalSegmentator's.

Each is compared with the truth (reference scores on the noise-free image in the lesion truth masks) by
`coronary-calcium agreement`: ICC, Bland-Altman, weighted kappa, zero vs non-zero, per-artery ICC, lesion
sensitivity and PPV. The truth's reference scores come from the same rules, so this measures what noise, partial
volume, protocol and the region do to the score, not whether the rules are right.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))

from CoronaryCalciumLib.scoring.agreement import write_agreement  # noqa: E402
from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch  # noqa: E402
from CoronaryCalciumLib.phantom import MaskImperfections, PhantomConfig, generate_cohort  # noqa: E402

SCENARIOS = ("exact", "pseudo-label", "heart shell")


def write_heart_shell_region(case_dir: str) -> str:
    """heart_shell.nii.gz: the heart backend's labelled region from the phantom's heart and aorta masks."""
    import SimpleITK as sitk

    from CoronaryCalciumLib.region import artery_attribution
    from CoronaryCalciumLib.region import totalseg_region
    from CoronaryCalciumLib.io.ct import load_ct

    ct = load_ct(os.path.join(case_dir, "image.nii.gz"))
    heart, aorta = (totalseg_region.read_labels_on_ct_grid(os.path.join(case_dir, name), ct)[0] > 0
                    for name in ("heart.nii.gz", "aorta.nii.gz"))
    shell = totalseg_region.heart_shell(heart, aorta, ct.geometry, totalseg_region.TotalSegRegionSettings(), image=ct.array)
    labels = artery_attribution.assign_arteries(shell, heart, aorta, ct.geometry, image=ct.array).labels
    region = sitk.GetImageFromArray(labels.astype("uint8"))
    region.CopyInformation(ct.image)
    path = os.path.join(case_dir, "heart_shell.nii.gz")
    sitk.WriteImage(region, path, True)
    return path


def scenario_mask(cohort: str, row, scenario: str) -> str:
    case_dir = os.path.join(cohort, os.path.dirname(row["image"]))
    if scenario == "exact":
        return os.path.join(case_dir, "coronary_exact.nii.gz")
    if scenario == "pseudo-label":
        return os.path.join(cohort, row["mask"])
    return write_heart_shell_region(case_dir)


def scenario_manifest(cohort: str, rows, scenario: str) -> str:
    path = os.path.join(cohort, "assess-%s.csv" % scenario.replace(" ", "-"))
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "image", "mask"])
        for row in rows:
            writer.writerow([row["id"], os.path.join(cohort, row["image"]), scenario_mask(cohort, row, scenario)])
    return path


def cohort_arguments(doc: str, cases: int, seed: int) -> argparse.Namespace:
    """--cases, --seed and --keep of a benchmark on a generated cohort."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--cases", type=int, default=cases)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--keep", help="folder to generate the cohort into and reuse")
    return parser.parse_args()


def cohort_rows(folder: str, cases: int, seed: int, base: PhantomConfig, workers: int):
    """(cohort folder, manifest path, manifest rows) of a cohort generated into (or reused from) ``folder/cohort``."""
    cohort = os.path.join(folder, "cohort")
    start = time.perf_counter()
    manifest = generate_cohort(cohort, cases, seed=seed, base=base, workers=workers)
    with open(manifest, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    print("cohort: %d cases (seed %d, %d px matrix), %d with coronary calcium, %.0f s to generate or reuse"
          % (len(rows), seed, base.matrix, sum(int(r["label"]) for r in rows), time.perf_counter() - start))
    return cohort, manifest, rows


def main() -> None:
    args = cohort_arguments(__doc__, cases=30, seed=21)
    folder = args.keep or tempfile.mkdtemp(prefix="cac-agreement-")
    cohort, manifest, rows = cohort_rows(folder, args.cases, args.seed,
                                         PhantomConfig(imperfections=MaskImperfections(enabled=True)), workers=2)
    summary = []
    for scenario in SCENARIOS:
        start = time.perf_counter()
        cases = discover([scenario_manifest(cohort, rows, scenario)])
        out = os.path.join(folder, "assess-" + scenario.replace(" ", "-"))
        shutil.rmtree(out, ignore_errors=True)
        report = run_batch(cases, out, BatchOptions(report=False), workers=2, progress_bar=False,
                           log=lambda message: None)
        agreement, _paths = write_agreement(os.path.join(out, "summary.csv"), manifest,
                                            os.path.join(folder, "agreement-" + scenario.replace(" ", "-")))
        summary.append((scenario, agreement, len(report.failed), time.perf_counter() - start))
    print("\n| region | ICC(A,1) (95% CI) | bias, 95% LoA | kappa classic / CAC-DRS | zero vs non-zero acc / sens "
          "/ spec | lesion sens. count / volume | lesion PPV | failed |")
    print("|---|---|---|---|---|---|---|---:|")
    for scenario, a, failed, _seconds in summary:
        lesions = a.lesions
        print("| %s | %s | %.1f (%.1f to %.1f) | %s / %s | %s / %s / %s | %s / %s | %s | %d |" % (
            scenario, _ci(a.icc, "icc"), a.bland_altman["bias"], a.bland_altman["loa_low"],
            a.bland_altman["loa_high"], _f(a.classic_kappa and a.classic_kappa["kappa"]),
            _f(a.cac_drs_kappa and a.cac_drs_kappa["kappa"]), _f(a.zero_vs_nonzero["accuracy"]),
            _f(a.zero_vs_nonzero["sensitivity"]), _f(a.zero_vs_nonzero["specificity"]),
            _f(lesions.sensitivity), _f(lesions.sensitivity_by_volume), _f(lesions.ppv), failed))
    for scenario, a, _failed, seconds in summary:
        print("%s: per-artery ICC %s; %d lesions on non-coronary calcium; %.0f s"
              % (scenario, ", ".join("%s %s" % (k, _f(v and v["icc"])) for k, v in a.per_artery_icc.items()),
                 a.lesions.measured_on_extracoronary, seconds))
    sizes = summary[0][1].lesions.sensitivity_by_size
    print("exact masks, calcifications found by size: %s" % ", ".join(
        "%s %d/%d" % (name, sizes[name]["detected"], sizes[name]["count"])
        for name in ("tiny", "small", "medium", "large") if name in sizes))
    print("reports: %s/agreement-*/agreement.md" % folder)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def _f(value) -> str:
    return "n/a" if value is None else "%.3f" % value


def _ci(estimate, key) -> str:
    if not estimate:
        return "n/a"
    return "%.3f (%.3f-%.3f)" % (estimate[key], estimate["ci_low"], estimate["ci_high"])


if __name__ == "__main__":
    main()
