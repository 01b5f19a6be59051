"""What review costs: the edits a reader makes to turn the heart-shell result into the truth, and what they buy.

Run: .venv/bin/python benchmarks/bench_review.py [--cases 12] [--seed 41] [--keep DIR]
A small generated cohort (256x256 phantoms, the cohort's protocol and calcium mix) is assessed twice with `assess`
(scoring only): in the heart-shell region (the free heart backend's region built from the phantom's heart and aorta
masks, as in bench_agreement.py) and in the phantom's exact coronary mask. Each heart-shell case folder is read back as
`review` reads it (`review.read_case`: result, lesion map, CT checked by SHA-256), and the edits a reader would make to
reach the exact-mask result are derived from the phantom (`review.edits_to_reference`: reassign misattributed
lesions, exclude what is not coronary or was cut by the region, add the missed or cut lesions from a seed point) and
applied with `Assessment.apply_review`. Printed: edits per case by kind, agreement with the phantom truth (reference
scores on the noise-free image in the lesion truth masks, `coronary-calcium agreement`'s figures) before and after
review and for the exact mask, and the recompute time per edit (apply_review time / edits, median over cases).
"""

from __future__ import annotations

import csv
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))
sys.path.insert(0, HERE)

from bench_agreement import cohort_arguments, cohort_rows, scenario_manifest  # noqa: E402
from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch  # noqa: E402
from CoronaryCalciumLib.phantom import small_config  # noqa: E402
from CoronaryCalciumLib.region.arteries import ARTERIES  # noqa: E402
from CoronaryCalciumLib.review import edits_to_reference, read_case  # noqa: E402
from CoronaryCalciumLib.review.case_dir import settings_of  # noqa: E402
from CoronaryCalciumLib.scoring.agreement import measure_agreement, pair_tables  # noqa: E402

KINDS = ("artery", "exclude", "add")


def assess_all(cohort: str, rows, scenario: str, folder: str) -> str:
    """`assess` (no report) of every case in ``scenario``'s region; returns the output folder."""
    out = os.path.join(folder, "assess-" + scenario.replace(" ", "-"))
    shutil.rmtree(out, ignore_errors=True)
    report = run_batch(discover([scenario_manifest(cohort, rows, scenario)]), out, BatchOptions(report=False),
                       workers=1, progress_bar=False, log=lambda message: None)
    if report.failed:
        raise SystemExit("%s: %d case(s) failed" % (scenario, len(report.failed)))
    return out


def review_case_to_truth(shell_dir: str, exact_dir: str, image: str):
    """(edits, reviewed heart-shell Assessment, exact-mask Assessment, seconds of apply_review) for one case."""
    shell, exact = read_case(shell_dir, image), read_case(exact_dir, image)
    edits = edits_to_reference(shell.score, exact.score, shell.ct_volume, reader="phantom truth")
    settings = settings_of(shell)
    start = time.perf_counter()
    shell.apply_review(edits, settings)
    seconds = time.perf_counter() - start
    return edits, shell, exact, seconds


def write_scores(path: str, scores) -> str:
    """A summary-like CSV (id, agatston, agatston_<artery>) that `pair_tables` reads."""
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "agatston"] + ["agatston_%s" % a for a in ARTERIES])
        for case_id, calcium in scores:
            writer.writerow([case_id, calcium.agatston] + [calcium.per_artery[a].agatston for a in ARTERIES])
    return path


def main() -> None:
    args = cohort_arguments(__doc__, cases=12, seed=41)
    folder = args.keep or tempfile.mkdtemp(prefix="cac-review-")
    cohort, manifest, rows = cohort_rows(folder, args.cases, args.seed, small_config(), workers=1)
    start = time.perf_counter()
    shell_out = assess_all(cohort, rows, "heart shell", folder)
    exact_out = assess_all(cohort, rows, "exact", folder)
    print("assess, heart shell and exact mask: %.0f s" % (time.perf_counter() - start))

    print("\n| case | automatic lesions | artery | exclude | add | Agatston automatic | reviewed | exact mask | "
          "truth | apply_review ms | ms per edit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    per_edit, reviewed_scores, all_edits = [], [], []
    for row in rows:
        edits, case, exact, seconds = review_case_to_truth(os.path.join(shell_out, row["id"]),
                                                           os.path.join(exact_out, row["id"]),
                                                           os.path.join(cohort, row["image"]))
        counts = {kind: sum(1 for e in edits if e.action == kind) for kind in KINDS}
        all_edits.extend(edits)
        reviewed_scores.append((row["id"], case.score))
        if edits:
            per_edit.append(seconds / len(edits))
        print("| %s | %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %s |" % (
            row["id"], len(case.automatic_score.lesions), counts["artery"], counts["exclude"], counts["add"],
            case.automatic_score.agatston, case.score.agatston, exact.score.agatston, float(row["agatston"]),
            1000 * seconds, "%.2f" % (1000 * seconds / len(edits)) if edits else "-"))
    print("edits: %d in %d cases (%s); %d cases needed none"
          % (len(all_edits), len(rows), ", ".join("%s %d" % (k, sum(1 for e in all_edits if e.action == k))
                                                  for k in KINDS), sum(1 for _ in rows) - len(per_edit)))
    if per_edit:
        print("recompute time per edit (apply_review / edits): median %.1f ms, max %.1f ms over %d cases"
              % (1000 * statistics.median(per_edit), 1000 * max(per_edit), len(per_edit)))

    reviewed_csv = write_scores(os.path.join(folder, "reviewed.csv"), reviewed_scores)
    print("\nagreement with the phantom truth (%d cases)" % len(rows))
    print("| result | ICC(A,1) (95% CI) | kappa classic / CAC-DRS | " + " | ".join("ICC %s" % a for a in ARTERIES) + " |")
    print("|---|---|---|" + "---|" * len(ARTERIES))
    for name, measured in (("heart shell, automatic", os.path.join(shell_out, "summary.csv")),
                           ("heart shell, reviewed", reviewed_csv),
                           ("exact mask", os.path.join(exact_out, "summary.csv"))):
        a = measure_agreement(pair_tables(measured, manifest))
        print("| %s | %s | %s / %s | %s |" % (
            name, _ci(a.icc), _f(a.classic_kappa and a.classic_kappa["kappa"]),
            _f(a.cac_drs_kappa and a.cac_drs_kappa["kappa"]),
            " | ".join(_f(a.per_artery_icc.get(artery) and a.per_artery_icc[artery]["icc"]) for artery in ARTERIES)))
    pairs = pair_tables(reviewed_csv, os.path.join(exact_out, "summary.csv")).cases
    differ = [c for c in pairs if abs(c.measured - c.reference) > 0.01]  # summary.csv keeps 2 decimals
    print("reviewed vs exact mask: %d of %d cases differ%s" % (len(differ), len(pairs), "".join(
        "; %s %.1f vs %.1f" % (c.id, c.measured, c.reference) for c in differ)))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def _f(value) -> str:
    return "n/a" if value is None else "%.3f" % value


def _ci(estimate) -> str:
    if not estimate:
        return "n/a"
    return "%.3f (%.3f-%.3f)" % (estimate["icc"], estimate["ci_low"], estimate["ci_high"])


if __name__ == "__main__":
    main()
