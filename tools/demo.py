"""The demo behind `make demo`: calibrate on the real QRM phantom scan and score its nine calcium inserts.

Prints the calibration, the per-insert Agatston, volume and mass next to the physical truth, and writes one JSON result
per insert to --out.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CoronaryCalcium"))

from CoronaryCalciumLib import qrm  # noqa: E402
from CoronaryCalciumLib.calibration import calibrate_auto  # noqa: E402
from CoronaryCalciumLib.ct import load_ct  # noqa: E402
from CoronaryCalciumLib.files import write_text_atomic  # noqa: E402
from CoronaryCalciumLib.pipeline import assess  # noqa: E402
from CoronaryCalciumLib.roi import region_from_array  # noqa: E402
from CoronaryCalciumLib.scoring import ScoringSettings  # noqa: E402

DEFAULT_QRM = os.path.join(HERE, "..", "..", "shared", "data", "qrm-cci-canon-large", "dicom")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output")
    parser.add_argument("--qrm", default=DEFAULT_QRM, help="folder of the QRM CCI DICOM series")
    args = parser.parse_args()
    ct = load_ct(args.qrm)
    print("QRM phantom scan: %s" % ct.summary())
    calibration = calibrate_auto(ct)
    print("calibration: rod %.1f HU, water %.1f HU -> c_HA = %.6f mg/(mm3 HU)\n" % (
        calibration.rod_hu, calibration.water_hu, calibration.factor_mg_per_mm3_hu))
    settings = ScoringSettings(calibration_factor=calibration.factor_mg_per_mm3_hu)
    print("%-11s %9s %11s %11s %9s %9s" % ("insert", "Agatston", "volume mm3", "true mm3", "mass mg", "true mg"))
    for insert in qrm.locate_inserts(ct):
        region = region_from_array(qrm.insert_region(ct, insert), source="QRM %s insert" % insert.name)
        result = assess(ct, region, settings, case_id="qrm-%s" % insert.name)
        write_text_atomic(os.path.join(args.out, "qrm-%s.json" % insert.name), result.to_json() + "\n")
        print("%-11s %9.1f %11.1f %11.1f %9.1f %9.1f" % (
            insert.name, result.score.agatston, result.score.volume_mm3, insert.volume_mm3, result.score.mass_mg,
            insert.mass_mg))
    print("\nresults written to %s/" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
