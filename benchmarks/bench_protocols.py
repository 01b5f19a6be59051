"""The free heart region per scan protocol: calcium-free specificity, lesion PPV and Agatston against phantom truth.

Run: .venv/bin/python benchmarks/bench_protocols.py [--cases 4] [--seed 31] [--coverage 120] [--keep DIR]
(``make bench-protocols``). For each protocol preset of ``coronary-calcium phantom --protocol`` (gated-3mm: ECG-gated
3 mm calcium-scoring CT; chest-3mm: non-gated chest CT; chest-thin-sharp: non-gated, 1 mm at 1 mm, sharp kernel, like
LIDC-IDRI-0314; chest-lowdose-3mm: non-gated, 3 mm, 40 HU noise) two cohorts of 512x512 phantoms are generated, one
calcium-free (``--burden zero``: aortic, valve and mitral calcium still drawn, as in patients) and one with mild
coronary calcium, and every case is assessed the way ``assess --region heart --totalseg-output COHORT`` does it: the
automatic heart shell built from the phantom's exact heart and aorta masks standing in for TotalSegmentator's (each
case folder holds ``heart.nii.gz`` and ``aorta.nii.gz``), so protocol normalisation, the image-quality gate and the
lesion filters all apply as on a real scan. Printed side by side: the share of calcium-free cases scored
exactly 0 (specificity) and their false Agatston, lesion PPV by count over both cohorts (a lesion is true when it lies
on a coronary calcification of the truth), and the calcified cohort's total Agatston against the truth (reference
scores on the noise-free soft reconstruction in the lesion truth masks).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))
sys.path.insert(0, HERE)

from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch  # noqa: E402
from CoronaryCalciumLib.phantom import generate_cohort  # noqa: E402
from CoronaryCalciumLib.phantom.config import PROTOCOLS, protocol_config  # noqa: E402
from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings  # noqa: E402
from CoronaryCalciumLib.scoring.agreement import lesion_agreement, pair_tables  # noqa: E402

BURDENS = ("zero", "mild")


def assess_cohort(folder: str, protocol: str, burden: str, cases: int, seed: int, coverage: float):
    """(pairing, lesion agreement) of one cohort assessed in its automatic heart-shell region."""
    cohort = os.path.join(folder, protocol, burden)
    config = protocol_config(protocol, burden=burden, coverage_mm=coverage)
    manifest = generate_cohort(cohort, cases, seed=seed, base=config, vary=False, workers=2)
    out = os.path.join(cohort, "assess-heart-shell")
    shutil.rmtree(out, ignore_errors=True)
    cases_found = discover([manifest])
    for case in cases_found:
        case.mask = None  # the region comes from the case folder's heart and aorta masks, as --totalseg-output does
    options = BatchOptions(report=False, totalseg=TotalSegRegionSettings(existing_output=cohort))
    run_batch(cases_found, out, options, workers=2, progress_bar=False, log=lambda message: None)
    pairing = pair_tables(os.path.join(out, "summary.csv"), manifest)
    return pairing, lesion_agreement(pairing, out, cohort)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4, help="cases per protocol and burden (default 4)")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--coverage", type=float, default=120.0, help="scan length in mm (default 120)")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    parser.add_argument("--keep", help="folder to generate the cohorts into and reuse")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="cac-protocols-")
    lines = []
    for protocol in args.protocols:
        start = time.perf_counter()
        results = {burden: assess_cohort(folder, protocol, burden, args.cases, args.seed, args.coverage)
                   for burden in BURDENS}
        zero, zero_lesions = results["zero"]
        calcified, calcified_lesions = results["mild"]
        false = np.array([c.measured for c in zero.cases])
        measured = np.array([c.measured for c in calcified.cases])
        truth = np.array([c.reference for c in calcified.cases])
        lesions = [x for x in (zero_lesions, calcified_lesions) if x is not None]
        found = sum(x.measured_lesions for x in lesions)
        true = sum(x.measured_true for x in lesions)
        failed = len(zero.not_assessed) + len(calcified.not_assessed)
        lines.append("| %s | %d/%d = %.2f | %.1f / %.1f | %d/%d = %s | %.1f | %.1f | %+.1f | %s | %d | %.0f |" % (
            protocol, int((false == 0).sum()), false.size, float((false == 0).mean()), float(np.median(false)),
            float(false.max()), true, found, _f(true / found if found else None), float(truth.mean()),
            float(measured.mean()), float((measured - truth).mean()),
            _f(calcified_lesions and calcified_lesions.sensitivity_by_volume), failed,
            time.perf_counter() - start))
        print("%s done (%.0f s)" % (protocol, time.perf_counter() - start), flush=True)
    print("\n%d calcium-free and %d mildly calcified 512x512 phantoms per protocol (seed %d, %.0f mm scanned), automatic "
          "heart shell from the phantoms' heart and aorta masks (as --totalseg-output)"
          % (args.cases, args.cases, args.seed, args.coverage))
    print("\n| protocol | calcium-free scored 0 | their Agatston median / max | lesion PPV (true/found) | "
          "calcified: truth mean | measured mean | bias | lesion sens. by volume | failed | seconds |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for line in lines:
        print(line)
    print("cohorts and assessments: %s" % folder if args.keep else "")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def _f(value) -> str:
    return "n/a" if value is None else "%.2f" % value


if __name__ == "__main__":
    main()
