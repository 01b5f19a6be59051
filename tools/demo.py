"""The demo behind `make demo`: the main job end to end on data the project makes, through the real command line.

1. `coronary-calcium phantom --qrm`: a replica of the QRM calcification insert with its HA calibration rod;
   `coronary-calcium calibrate` measures the mass calibration factor on it.
2. `coronary-calcium phantom --dicom`: a synthetic non-contrast cardiac CT with coronary calcium, written as a DICOM
   series, with TotalSegmentator-like per-artery coronary masks and the truth.
3. `coronary-calcium assess`: load, region, scores, classifier (when a trusted model is installed), per-case files and
   an HTML report; then the scores are printed next to the phantom's truth.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))

from CoronaryCalciumLib.cli.main import main as cli  # noqa: E402


def step(title: str, arguments) -> None:
    print("\n== %s\n$ coronary-calcium %s" % (title, " ".join(arguments)), flush=True)
    code = cli(list(arguments))
    if code not in (0,):
        raise SystemExit("demo step failed with exit code %d" % code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output")
    parser.add_argument("--seed", type=int, default=7, help="phantom seed (the case has a moderate calcium burden)")
    args = parser.parse_args()
    out = args.out
    qrm, patient, results = (os.path.join(out, name) for name in ("qrm-phantom", "patient", "results"))
    calibration = os.path.join(out, "calibration.json")

    step("1a. QRM calibration-insert replica", ["phantom", qrm, "--qrm", "--quiet"])
    step("1b. mass calibration factor from its HA rod", ["calibrate", os.path.join(qrm, "image.nii.gz"),
                                                         "--json", calibration])
    step("2. synthetic calcium-scoring CT (DICOM) with coronary masks and truth",
         ["phantom", patient, "--seed", str(args.seed), "--burden", "moderate", "--dicom", "--quiet"])
    step("3. assess it", ["assess", os.path.join(patient, "dicom"), "--mask", os.path.join(patient, "coronary.nii.gz"),
                          "--calibration", calibration, "--out", results, "--force", "--no-progress"])

    case_folder = next(os.path.join(results, name) for name in sorted(os.listdir(results))
                       if os.path.isfile(os.path.join(results, name, "result.json")))
    result = json.load(open(os.path.join(case_folder, "result.json")))
    truth = json.load(open(os.path.join(patient, "truth.json")))
    reference, physical = truth["reference"], truth["physical"]
    print("\n== result vs phantom truth (reference: this project's rules on the noise-free image in the lesion masks)")
    print("%-12s %12s %12s %12s" % ("", "measured", "reference", "physical"))
    print("%-12s %12.1f %12.1f %12s" % ("Agatston", result["agatston"], reference["agatston"], "-"))
    print("%-12s %12.1f %12.1f %12.1f" % ("volume mm3", result["volume_mm3"], reference["volume_mm3"],
                                          physical["coronary_volume_mm3"]))
    print("%-12s %12s %12.1f %12.1f" % ("mass mg", "%.1f" % result["mass_mg"] if result["mass_mg"] is not None else "-",
                                        reference["mass_mg"], physical["coronary_mass_mg"]))
    print("%-12s %12s %12s" % ("category", result["category"]["classic"], reference["classic"]))
    print("%-12s %s" % ("CAC-DRS", result["category"]["cac_drs"]))
    classifier = result.get("classifier")
    if classifier:
        print("%-12s %s (p = %.2f, model %s)" % ("classifier", classifier["label_text"],
                                                 classifier["probability"],
                                                 classifier.get("model_name")))
    print("\nreport: %s" % os.path.join(case_folder, "report.html"))
    print("Slicer segmentations: %s" % ", ".join(os.path.join(case_folder, n) for n in ("region.seg.nrrd",
                                                                                      "calcium.seg.nrrd")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
