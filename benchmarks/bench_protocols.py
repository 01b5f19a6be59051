"""The free heart region per scan protocol: calcium-free specificity, lesion PPV and Agatston against phantom truth.

Run: .venv/bin/python benchmarks/bench_protocols.py [--cases 4] [--seed 31] [--coverage 120] [--noise HU] [--jobs 2]
[--dicom] [--keep DIR [--reuse-assessments]] (``make bench-protocols``). For each protocol preset of ``coronary-calcium phantom --protocol``
(gated-3mm: ECG-gated 3 mm calcium-scoring CT; chest-3mm: non-gated chest CT; chest-thin-sharp: non-gated, 1 mm at
1 mm, sharp kernel, like LIDC-IDRI-0314; chest-lowdose-3mm: non-gated, 3 mm, 40 HU noise) two cohorts of 512x512
phantoms are generated, one calcium-free (``--burden zero``: aortic, valve and mitral calcium still drawn, as in
patients) and one with mild coronary calcium, and every case is assessed the way ``assess --region heart
--totalseg-output COHORT`` does it: the automatic heart shell built from the phantom's exact heart and aorta masks
standing in for TotalSegmentator's (each case folder holds ``heart.nii.gz`` and ``aorta.nii.gz``), so protocol
normalisation, the image-quality gate and the lesion filters all apply as on a real scan. Case ``i`` has the same seed
in every protocol and both cohorts (the same anatomy drawn with each protocol's settings).

The phantoms are read as NIfTI, which carries no ConvolutionKernel: the kernel is "unknown" and is not smoothed (the
path of a scan exported without its DICOM header); ``--dicom`` writes and reads them as DICOM series instead, with the
kernel in the header, the path of a scan read from the scanner (the last column of the first table says what
normalisation did with it). ``--noise HU`` replaces every protocol's noise level, e.g. a low-dose thin sharp scan.

Printed per protocol: the share of calcium-free cases scored exactly 0 (specificity; a failed case counts as not 0)
and their false Agatston, lesion PPV by count over both cohorts (a lesion is true when it lies on a coronary
calcification of the truth), the lesions the filters left out by rule, the blood-pool noise the image-quality gate
measured and how many categories it flagged unreliable, what protocol normalisation did, and the calcified cohort's
total Agatston against the truth (reference scores on the noise-free soft reconstruction in the lesion truth masks);
then every lesion still counted in a calcium-free case, the seed, case count, machine load and timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))
sys.path.insert(0, HERE)

from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch  # noqa: E402
from CoronaryCalciumLib.phantom import generate_cohort  # noqa: E402
from CoronaryCalciumLib.phantom.config import PROTOCOLS, protocol_config  # noqa: E402
from CoronaryCalciumLib.phantom.writer import FILES  # noqa: E402
from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings  # noqa: E402
from CoronaryCalciumLib.scoring.agreement import lesion_agreement, match_lesions, pair_tables  # noqa: E402

BURDENS = ("zero", "mild")


@dataclass
class Cohort:
    """One assessed cohort: the pairing with its truth, lesion agreement, per-case results and timings (s)."""

    pairing: object
    lesions: object
    requested: int
    results: Dict[str, dict] = field(default_factory=dict)  # case id -> result.json
    false_lesions: List[str] = field(default_factory=list)  # one line per counted lesion not on coronary truth
    generate_s: float = 0.0
    assess_s: Optional[float] = None  # None: an assessment read back, not timed


def assess_cohort(folder: str, protocol: str, burden: str, cases: int, seed: int, coverage: float, jobs: int,
                  dicom: bool, reuse: bool = False, noise_hu: Optional[float] = None) -> Cohort:
    """Generate (or reuse) one cohort and assess it in its automatic heart-shell region (``reuse``: read the
    assessment already in the folder instead; ``noise_hu``: the image noise SD instead of the protocol's)."""
    changes = {} if noise_hu is None else {"noise_sd_hu": noise_hu}
    cohort = os.path.join(folder, protocol if noise_hu is None else "%s-noise%g" % (protocol, noise_hu), burden)
    config = protocol_config(protocol, burden=burden, coverage_mm=coverage, **changes)
    start = time.perf_counter()
    manifest = generate_cohort(cohort, cases, seed=seed, base=config, vary=False, workers=jobs, dicom=dicom)
    generated = time.perf_counter()
    out = os.path.join(cohort, "assess-heart-shell-dicom" if dicom else "assess-heart-shell")
    reused = reuse and os.path.isfile(os.path.join(out, "summary.csv"))
    if not reused:
        shutil.rmtree(out, ignore_errors=True)
        cases_found = discover([manifest])
        for case in cases_found:
            case.mask = None  # the region comes from the case folder's heart and aorta masks, as --totalseg-output does
            if dicom:
                case.image = os.path.join(cohort, case.case_id, FILES["dicom"])
        options = BatchOptions(report=False, totalseg=TotalSegRegionSettings(existing_output=cohort))
        run_batch(cases_found, out, options, workers=jobs, progress_bar=False, log=lambda message: None)
    pairing = pair_tables(os.path.join(out, "summary.csv"), manifest)
    result = Cohort(pairing, lesion_agreement(pairing, out, cohort), cases, generate_s=generated - start,
                    assess_s=None if reused else time.perf_counter() - generated)
    for case in pairing.cases:
        with open(os.path.join(out, case.id, "result.json"), encoding="utf-8") as stream:
            result.results[case.id] = json.load(stream)
        result.false_lesions.extend(_false_lesions(protocol, burden, case.id, result.results[case.id],
                                                   pairing.reference_rows[case.id], cohort))
    return result


def _false_lesions(protocol: str, burden: str, case_id: str, data: dict, row: Dict[str, str], cohort: str) -> List[str]:
    """A line for each counted lesion of a case that lies on no coronary calcification of its truth."""
    with open(os.path.join(cohort, row["truth"]), encoding="utf-8") as stream:
        objects = json.load(stream)["objects"]
    _found, kinds = match_lesions(objects, data["lesions"])
    return ["%s %s %s: lesion %d, %.1f Agatston, peak %.0f HU, %.1f mm3, slices %d-%d, LPS (%.0f, %.0f, %.0f), on %s"
            % (protocol, burden, case_id, lesion["id"], lesion["agatston"], lesion["peak_hu"], lesion["volume_mm3"],
               lesion["first_slice"], lesion["last_slice"], *lesion["centroid_lps_mm"],
               "extracoronary calcium" if kind == "extracoronary" else "no calcium")
            for lesion, kind in zip(data["lesions"], kinds) if kind != "coronary"]


def protocol_row(protocol: str, zero: Cohort, calcified: Cohort) -> List[str]:
    """The two table rows of one protocol: calcium-free cases and lesions; the calcified cohort and timings."""
    false = np.array([c.measured for c in zero.pairing.cases])
    zeros = int((false == 0).sum())
    measured = np.array([c.measured for c in calcified.pairing.cases])
    truth = np.array([c.reference for c in calcified.pairing.cases])
    lesions = [x.lesions for x in (zero, calcified) if x.lesions is not None]
    found = sum(x.measured_lesions for x in lesions)
    true = sum(x.measured_true for x in lesions)
    results = list(zero.results.values()) + list(calcified.results.values())
    noise = [r["image_quality"]["noise_hu"] for r in results if (r.get("image_quality") or {}).get("noise_hu")]
    unreliable = sum(1 for r in results if not r["category"].get("reliable", True))
    left_out = Counter(lesion["excluded"].split(":")[0] for r in results for lesion in r.get("excluded_lesions", []))
    failed = sum(len(c.pairing.not_assessed) for c in (zero, calcified))
    first = ("| %s | %d/%d = %.2f | %s / %s | %d/%d = %s | %s | %s (%s-%s) | %d/%d | %s |" % (
        protocol, zeros, zero.requested, zeros / zero.requested, _n(np.median(false) if false.size else None),
        _n(false.max() if false.size else None), true, found, _f(true / found if found else None),
        ", ".join("%s %d" % item for item in sorted(left_out.items())) or "none",
        _n(np.median(noise) if noise else None), _n(min(noise) if noise else None),
        _n(max(noise) if noise else None), unreliable, len(results), _normalisation(results)))
    second = "| %s | %s | %s | %s | %s | %d | %.0f + %s | %.0f + %s |" % (
        protocol, _n(truth.mean() if truth.size else None), _n(measured.mean() if measured.size else None),
        _n((measured - truth).mean() if truth.size else None, "%+.1f"),
        _f(calcified.lesions and calcified.lesions.sensitivity_by_volume), failed, zero.generate_s,
        _seconds(zero.assess_s), calcified.generate_s, _seconds(calcified.assess_s))
    return [first, second]


def _normalisation(results: List[dict]) -> str:
    """What protocol normalisation did on these cases, e.g. 'kernel unknown, not smoothed; 3 mm slabs of 3'."""
    seen = Counter()
    for r in results:
        protocol = r["settings"].get("protocol") or {}
        sigma = protocol.get("kernel_smoothing_sigma_mm")
        slabs = protocol.get("slices_per_slab") or 1
        seen["kernel %s, %s; %s" % (protocol.get("kernel_sharpness", "?"),
                                    "blur %.1f mm" % sigma if sigma else "not smoothed",
                                    "slabs of %d slices" % slabs if slabs > 1 else "slices as they are")] += 1
    return "; ".join(text if len(seen) == 1 else "%s (%d)" % (text, n) for text, n in seen.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4, help="cases per protocol and burden (default 4)")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--coverage", type=float, default=120.0, help="scan length in mm (default 120)")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    parser.add_argument("--noise", type=float, metavar="HU",
                        help="image noise SD (HU) for every protocol instead of its own (e.g. 40: a low-dose thin scan)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for generating and assessing (default 2)")
    parser.add_argument("--dicom", action="store_true",
                        help="write and read the phantoms as DICOM series (ConvolutionKernel in the header)")
    parser.add_argument("--keep", help="folder to generate the cohorts into and reuse")
    parser.add_argument("--reuse-assessments", action="store_true",
                        help="with --keep: read the assessments a run left there instead of assessing again (to "
                             "re-read a run, not after a code change; its timings are then not measured)")
    args = parser.parse_args()
    if args.reuse_assessments and not args.keep:
        parser.error("--reuse-assessments needs --keep DIR")
    folder = args.keep or tempfile.mkdtemp(prefix="cac-protocols-")
    begin = time.perf_counter()
    print("%d calcium-free and %d mildly calcified 512x512 phantoms per protocol (seed %d, %.0f mm scanned, %s%s), "
          "automatic heart shell from the phantoms' heart and aorta masks (as --totalseg-output); %d jobs on %d CPUs, "
          "load average at start %s" % (args.cases, args.cases, args.seed, args.coverage,
                                        "DICOM" if args.dicom else "NIfTI",
                                        "" if args.noise is None else ", noise %g HU in every protocol" % args.noise,
                                        args.jobs, os.cpu_count() or 0, _load()),
          flush=True)
    rows, false_lesions = [], []
    for protocol in args.protocols:
        cohorts = {burden: assess_cohort(folder, protocol, burden, args.cases, args.seed, args.coverage, args.jobs,
                                         args.dicom, args.reuse_assessments, args.noise) for burden in BURDENS}
        rows.append(protocol_row(protocol, cohorts["zero"], cohorts["mild"]))
        false_lesions.extend(cohorts["zero"].false_lesions)
        print("%s done (%.0f s so far; load average %s)" % (protocol, time.perf_counter() - begin, _load()),
              flush=True)
    print("\n| protocol | calcium-free scored 0 | their Agatston median / max | lesion PPV (true/found) | "
          "left out by the filters (both cohorts) | blood-pool noise HU median (range) | category unreliable | "
          "protocol normalisation |")
    print("|---|---|---|---|---|---|---|---|")
    for first, _second in rows:
        print(first)
    print("\n| protocol | calcified: truth mean | measured mean | bias | lesion sens. by volume | failed | "
          "seconds calcium-free: generate + assess | calcified: generate + assess |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for _first, second in rows:
        print(second)
    print("\nLesions counted in calcium-free cases (%d):" % len(false_lesions))
    for line in false_lesions:
        print("  " + line)
    print("\n%.0f s in all; load average at the end %s" % (time.perf_counter() - begin, _load()))
    print("cohorts and assessments: %s" % folder if args.keep else "")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def _load() -> str:
    try:
        return "%.1f / %.1f / %.1f (1 / 5 / 15 min)" % os.getloadavg()
    except OSError:  # not on every platform
        return "n/a"


def _seconds(value: Optional[float]) -> str:
    return "reused" if value is None else "%.0f" % value


def _f(value) -> str:
    return "n/a" if value is None else "%.2f" % value


def _n(value, style: str = "%.1f") -> str:
    return "n/a" if value is None else style % float(value)


if __name__ == "__main__":
    main()
