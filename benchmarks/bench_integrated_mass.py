"""Agatston-style mass against integrated-intensity mass, against physical truth (mg), side by side.

Run: .venv/bin/python benchmarks/bench_integrated_mass.py [--data ../shared/data] [--phantoms 6]   (make bench-mass)

1. The real QRM scan: per insert the physical mass, both masses and their errors, the integrated mass's noise SD
   (calcium-free spots of the insert's shape), the calibration rod's mass per mm, and how bright each large insert
   reads per mg HA against the rod (central slice: integrated excess x c_HA / (density x cross-section)).
2. The generated QRM replica (exact calibration), the same table, at 3 mm and at 1 mm slices (0.5 mm increment).
3. Noise: the replica at 10-35 HU SD: integrated mass of calcium-free spots (bias, SD), and the totals of the noise
   "lesions" a calcium-free region collects, by both masses.
4. Cardiac phantoms (coronary calcium in fat beside the heart, 20 HU noise): coronary totals against physical mass.
Defaults of scoring/integrated_mass.py throughout. Times are not measured (shared machine).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "CoronaryCalcium"))

from CoronaryCalciumLib.io.ct import load_ct  # noqa: E402
from CoronaryCalciumLib.phantom import generate_case, generate_qrm_case, materials, small_config  # noqa: E402
from CoronaryCalciumLib.region.mask import region_from_array  # noqa: E402
from CoronaryCalciumLib.scoring import qrm  # noqa: E402
from CoronaryCalciumLib.scoring.agatston import ScoringSettings, score  # noqa: E402
from CoronaryCalciumLib.scoring.calibration import calibrate_auto  # noqa: E402
from CoronaryCalciumLib.scoring.integrated_mass import IntegratedMassSettings  # noqa: E402
from CoronaryCalciumLib.scoring.qrm_mass import (calcium_free_masses, calcium_free_shifts, insert_masses,  # noqa: E402
                                                 insert_brightness, insert_seed, rod_mass_per_length)


def insert_table(title, ct, factor):
    print("\n%s (c_HA %.6f mg/(mm3 HU))" % (title, factor))
    print("| insert | physical mg | Agatston-style mg (error) | integrated mg (error) | integrated noise SD mg |")
    print("|---|---:|---:|---:|---:|")
    for item in insert_masses(ct, factor):
        print("| %s | %.1f | %.1f (%+.0f%%) | %.1f (%+.0f%%)%s | %.1f |" % (
            item.name, item.physical_mg, item.agatston_mass_mg, 100 * item.agatston_error, item.integrated_mass_mg,
            100 * item.integrated_error, " (seeded)" if item.seeded else "", item.noise_sd_mg))


def noise_rows(noise_levels):
    print("\nNoise: the replica at each noise SD; calcium-free spots shaped like each insert size (18 spots each)")
    print("| noise SD HU | large spot bias / SD mg | medium spot bias / SD mg | small spot bias / SD mg |"
          " noise lesions in a calcium-free region | their Agatston-style mass mg | their integrated mass mg |")
    print("|---|---|---|---|---:|---:|---:|")
    factor = materials.CALIBRATION_FACTOR_MG_PER_MM3_HU
    for noise in noise_levels:
        replica = generate_qrm_case(seed=3, matrix=256, noise_sd_hu=noise)
        ct = replica.ct
        inserts = qrm.locate_inserts(ct)
        shifts = calcium_free_shifts(ct)
        cells = []
        for size in ("large", "medium", "small"):
            shape = next(item for item in inserts if item.size == size)
            masses = calcium_free_masses(ct, shape, inserts, shifts, 130.0, factor, IntegratedMassSettings())
            cells.append("%+.2f / %.2f" % (np.mean(masses), np.std(masses, ddof=1)))
        region = np.zeros(ct.array.shape, dtype=np.uint8)
        for insert in inserts:
            wide = qrm.InsertLocation(insert.size, 10.0, insert.density_mg_cm3, insert.centre_zyx)
            seed, offset = insert_seed(ct, wide, shifts[0])
            box = tuple(slice(o, o + n) for o, n in zip(offset, seed.shape))
            region[box] |= seed.astype(np.uint8)
        result = score(ct, region_from_array(region), ScoringSettings(calibration_factor=factor))
        print("| %g | %s | %d | %.2f | %.2f |" % (noise, " | ".join(cells), len(result.lesions), result.mass_mg,
                                                 result.integrated_mass_mg))


def cardiac_rows(count):
    print("\nCardiac phantoms (severe burden, 20 HU noise, exact coronary mask, exact calibration)")
    print("| seed | physical coronary mg | Agatston-style mg (error) | integrated mg (error) |")
    print("|---|---:|---:|---:|")
    factor = materials.CALIBRATION_FACTOR_MG_PER_MM3_HU
    errors = {"agatston": [], "integrated": []}
    for seed in range(21, 21 + count):
        case = generate_case(seed, small_config(burden="severe", noise_sd_hu=20.0))
        result = score(case.ct, case.coronary_region(exact=True), ScoringSettings(calibration_factor=factor))
        physical = case.truth.physical["coronary_mass_mg"]
        errors["agatston"].append(result.mass_mg - physical)
        errors["integrated"].append(result.integrated_mass_mg - physical)
        print("| %d | %.1f | %.1f (%+.0f%%) | %.1f (%+.0f%%) |" % (
            seed, physical, result.mass_mg, 100 * (result.mass_mg / physical - 1), result.integrated_mass_mg,
            100 * (result.integrated_mass_mg / physical - 1)))
    print("RMSE mg: Agatston-style %.1f, integrated %.1f" % tuple(
        math.sqrt(np.mean(np.square(errors[key]))) for key in ("agatston", "integrated")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data"))
    parser.add_argument("--phantoms", type=int, default=6)
    args = parser.parse_args()
    real = load_ct(os.path.join(args.data, "qrm-cci-canon-large", "dicom"))
    calibration = calibrate_auto(real)
    insert_table("Real QRM scan (Canon, 3 mm, factor from `calibrate`)", real, calibration.factor_mg_per_mm3_hu)
    print("Calibration: rod %.1f HU, water reference %.1f HU (%s)" % (calibration.rod_hu, calibration.water_hu,
                                                                   calibration.water_reference))
    rod = rod_mass_per_length(real, calibration)
    print("Calibration rod: %s mg/mm per plateau slice (against the resin alone: %s); 0.2 mg/mm3 x pi x (%.2f mm)^2 = "
          "%.1f mg/mm" % (", ".join("%.1f" % value for value in rod.measured_mg_per_mm),
                          ", ".join("%.1f" % value for value in rod.in_resin_mg_per_mm), rod.radius_mm,
                          rod.expected_mg_per_mm))
    print("Large inserts, central slice, mass per mm / (density x cross-section): %s" % ", ".join(
        "%s %.2f" % item for item in insert_brightness(real, calibration.factor_mg_per_mm3_hu).items()))
    replica = generate_qrm_case(seed=2, matrix=256)
    insert_table("Generated QRM replica (seed 2, 23 HU noise, exact factor)", replica.ct,
                 materials.CALIBRATION_FACTOR_MG_PER_MM3_HU)
    thin = generate_qrm_case(seed=2, matrix=256, slice_thickness_mm=1.0, slice_increment_mm=0.5, noise_sd_hu=40.0)
    insert_table("Generated QRM replica, thin slices (seed 2, 1 mm at 0.5 mm, 40 HU noise, exact factor; Agatston-style "
                 "mass on 3 mm slabs)", thin.ct, materials.CALIBRATION_FACTOR_MG_PER_MM3_HU)
    noise_rows((10.0, 20.0, 35.0))
    cardiac_rows(args.phantoms)


if __name__ == "__main__":
    main()
