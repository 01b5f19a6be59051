"""Agreement of the whole scoring pipeline with phantom truth, for three sources of the region of interest.

Run: .venv/bin/python benchmarks/bench_agreement.py [--cases 30] [--seed 21] [--keep DIR]
A cohort of 512x512 phantoms with the cohort's protocol mix (3 mm gated scans, thin and overlapping reconstructions,
non-gated chest CTs; about 45% without coronary calcium) is generated once, then every case is assessed with `assess`
(scoring only: no classifier, no report) three times:

1. exact: the phantom's exact per-artery coronary mask, handed over as a mask (manifest column ``mask``);
2. pseudo-label: the same mask with TotalSegmentator-like errors (under- and over-segmentation, missing distal
   segments, shifts, LM labelled LAD), handed over as a mask;
3. heart shell: the automatic region exactly as a user gets it, by the command line
   ``coronary-calcium assess MANIFEST --region heart --totalseg-output COHORT --model none --no-report``: each case
   folder holds the phantom's ``heart.nii.gz`` and ``aorta.nii.gz`` standing in for TotalSegmentator's, so the shell
   (aorta and valve plane removed, arteries assigned by geometry), the heart/aorta blood pool, protocol normalisation
   and the lesion filters all run as on a real scan.

Each is compared with the truth (reference scores on the noise-free image in the lesion truth masks) by
`coronary-calcium agreement`: ICC, Bland-Altman, weighted kappa, zero vs non-zero, per-artery ICC, lesion
sensitivity and PPV. The truth's reference scores come from the same rules, so this measures what noise, partial
volume, protocol and the region do to the score, not whether the rules are right. Printed with it: the path each
scenario took, whether the lesion filters ran (``settings.lesion_filters_applied`` of every result.json), the load
average and the wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))

from CoronaryCalciumLib.scoring.agreement import write_agreement  # noqa: E402
from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch  # noqa: E402
from CoronaryCalciumLib.phantom import MaskImperfections, PhantomConfig, generate_cohort  # noqa: E402

SCENARIOS = ("exact", "pseudo-label", "heart shell")


def write_heart_shell_region(case_dir: str) -> str:
    """heart_shell.nii.gz: the heart backend's labelled region, built by the core from the phantom's heart and aorta
    masks (the case folder is laid out as TotalSegmentator's output). Scored as a plain mask it skips the lesion
    filters and the heart/aorta blood pool: bench_review.py and tools/render_reviewed_report.py use it that way; the
    heart-shell scenario here takes the user's path (``assess_scenario``)."""
    import SimpleITK as sitk

    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings, region_from_existing_output

    ct = load_ct(os.path.join(case_dir, "image.nii.gz"))
    settings = TotalSegRegionSettings(backend="heart", existing_output=case_dir)
    labels = region_from_existing_output(ct, settings).region.labels
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


USER_PATH = ("heart shell",)  # scenarios assessed by the command line with the automatic region, not a mask
HEART_SHELL_FLAGS = ("--region", "heart", "--model", "none", "--no-report", "--no-progress", "-j", "2")


def scenario_path(scenario: str) -> str:
    """How a scenario's cases reach the scoring, as printed with the results."""
    if scenario in USER_PATH:
        return "coronary-calcium assess MANIFEST --totalseg-output COHORT %s" % " ".join(HEART_SHELL_FLAGS)
    return "run_batch on a manifest with column mask (%s), no report" % (
        "coronary_exact.nii.gz" if scenario == "exact" else "the pseudo-label mask")


def automatic_manifest(cohort: str, rows, scenario: str) -> str:
    """assess-SCENARIO.csv with id and image only: the region comes from each case folder's masks."""
    path = os.path.join(cohort, "assess-%s.csv" % scenario.replace(" ", "-"))
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "image"])
        for row in rows:
            writer.writerow([row["id"], os.path.join(cohort, row["image"])])
    return path


def assess_scenario(cohort: str, rows, scenario: str, out: str) -> None:
    """Assess every case of one scenario into ``out`` (summary.csv and one folder per case)."""
    shutil.rmtree(out, ignore_errors=True)
    if scenario in USER_PATH:  # the user's command line, masks paired with cases by case folder name
        from CoronaryCalciumLib.cli.main import main as cli

        code = cli(["assess", automatic_manifest(cohort, rows, scenario), "--out", out, "--totalseg-output", cohort]
                   + list(HEART_SHELL_FLAGS))
        if code not in (0, 1):
            raise SystemExit("assess stopped with exit code %d" % code)
        return
    run_batch(discover([scenario_manifest(cohort, rows, scenario)]), out, BatchOptions(report=False), workers=2,
              progress_bar=False, log=lambda message: None)


def filter_record(out: str):
    """(failed cases, {lesion_filters_applied value: cases}, {region_source: cases}, lesions the filters excluded)
    from an assess output folder."""
    with open(os.path.join(out, "summary.csv"), newline="", encoding="utf-8") as stream:
        summary = list(csv.DictReader(stream))
    applied, sources, excluded = Counter(), Counter(), 0
    for row in summary:
        if row["status"] != "ok":
            continue
        with open(os.path.join(out, row["id"], "result.json"), encoding="utf-8") as stream:
            result = json.load(stream)
        settings = result.get("settings") or {}
        applied[str(settings.get("lesion_filters_applied", "not recorded"))] += 1
        sources[str(settings.get("region_source")).split(" (")[0]] += 1  # without the per-case details
        excluded += len(result.get("excluded_lesions") or ())
    return sum(row["status"] != "ok" for row in summary), applied, sources, excluded


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
    wall = time.perf_counter()
    print("load average at start (1/5/15 min): %s on %d cores" % (_load(), os.cpu_count() or 0), flush=True)
    folder = args.keep or tempfile.mkdtemp(prefix="cac-agreement-")
    cohort, manifest, rows = cohort_rows(folder, args.cases, args.seed,
                                         PhantomConfig(imperfections=MaskImperfections(enabled=True)), workers=2)
    summary = []
    for scenario in SCENARIOS:
        start = time.perf_counter()
        out = os.path.join(folder, "assess-" + scenario.replace(" ", "-"))
        assess_scenario(cohort, rows, scenario, out)
        agreement, _paths = write_agreement(os.path.join(out, "summary.csv"), manifest,
                                            os.path.join(folder, "agreement-" + scenario.replace(" ", "-")))
        failed, applied, sources, excluded = filter_record(out)
        seconds = time.perf_counter() - start
        summary.append((scenario, agreement, failed, seconds))
        print("%s: %s; region_source %s; lesion_filters_applied %s; %d lesions excluded by the filters; "
              "%.0f s, load %s" % (scenario, scenario_path(scenario), _counts(sources), _counts(applied), excluded,
                                   seconds, _load()), flush=True)
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
    print("wall time %.1f min (%d cases, seed %d); load average at end (1/5/15 min): %s"
          % ((time.perf_counter() - wall) / 60.0, len(rows), args.seed, _load()))
    print("reports: %s/agreement-*/agreement.md" % folder)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def _load() -> str:
    return " / ".join("%.1f" % value for value in os.getloadavg())


def _counts(counter) -> str:
    return ", ".join("%s: %d" % item for item in sorted(counter.items())) or "no case assessed"


def _f(value) -> str:
    return "n/a" if value is None else "%.3f" % value


def _ci(estimate, key) -> str:
    if not estimate:
        return "n/a"
    return "%.3f (%.3f-%.3f)" % (estimate[key], estimate["ci_low"], estimate["ci_high"])


if __name__ == "__main__":
    main()
