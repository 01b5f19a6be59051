"""Evidence that a refactor changed no behaviour: the CLI's outputs of two code trees, compared file by file.

    python tools/compare_outputs.py inputs WORK            # once: demo case, QRM mask, 10-phantom cohort, calibration
    python tools/compare_outputs.py run WORK/before --code /path/to/old/checkout --inputs WORK
    python tools/compare_outputs.py run WORK/after  --code .                    --inputs WORK
    python tools/compare_outputs.py diff WORK/before WORK/after

`run` calls `coronary-calcium score` and `assess` of the given checkout (its `CoronaryCalcium/` first on PYTHONPATH) on
the demo case (the `make demo` phantom, DICOM), on the real QRM scan (`../shared/data/qrm-cci-canon-large`, region:
every insert located by `scoring.qrm`) and on a 10-phantom cohort (manifest), with the shipped classifier. `diff`
compares every file the two runs wrote: JSON and CSV after dropping what differs between any two runs (timestamps,
elapsed times, the output folders' own paths), `.seg.nrrd` files byte for byte after blanking the writing time in
their header comment, other binary files byte for byte, HTML after dropping the timestamp. It prints one line per differing file and a closing count; exit code 1 when any differ.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import subprocess
import sys
from typing import Any, Iterator, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QRM_SCAN = os.path.join(ROOT, "..", "shared", "data", "qrm-cci-canon-large")
VOLATILE_KEYS = {"created", "created_at", "timestamp", "elapsed_s", "seconds", "duration_s", "started", "finished"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def cli(code: str, arguments: List[str]) -> None:
    """Run `coronary-calcium ARGUMENTS` from the checkout CODE; raise on a non-zero exit code."""
    environment = dict(os.environ, PYTHONPATH=os.path.join(os.path.abspath(code), "CoronaryCalcium"))
    command = [sys.executable, "-c", "import sys; from CoronaryCalciumLib.cli.main import main; "
               "sys.exit(main(sys.argv[1:]))"] + arguments
    print("$ coronary-calcium " + " ".join(arguments), flush=True)
    subprocess.run(command, env=environment, check=True)


def make_inputs(work: str) -> None:
    """The cases both runs read: made once, with this checkout's code."""
    sys.path.insert(0, os.path.join(ROOT, "CoronaryCalcium"))
    import numpy as np
    import SimpleITK as sitk
    from CoronaryCalciumLib.io.ct import load_ct
    from CoronaryCalciumLib.scoring import qrm

    os.makedirs(work, exist_ok=True)
    cli(ROOT, ["phantom", os.path.join(work, "qrm-replica"), "--qrm", "--quiet"])
    cli(ROOT, ["calibrate", os.path.join(work, "qrm-replica", "image.nii.gz"), "--json",
               os.path.join(work, "calibration.json")])
    cli(ROOT, ["phantom", os.path.join(work, "demo"), "--seed", "7", "--burden", "moderate", "--dicom", "--quiet"])
    cli(ROOT, ["phantom", os.path.join(work, "cohort"), "--cohort", "10", "--small", "--seed", "3", "--quiet"])
    scan = load_ct(QRM_SCAN)
    mask = np.zeros(scan.array.shape, dtype=np.uint8)
    for insert in qrm.locate_inserts(scan):
        mask[qrm.insert_region(scan, insert) > 0] = 1
    image = sitk.GetImageFromArray(mask)
    image.SetSpacing(scan.geometry.spacing)
    image.SetOrigin(scan.geometry.origin)
    image.SetDirection(scan.geometry.direction)
    sitk.WriteImage(image, os.path.join(work, "qrm-inserts.nii.gz"))


def run(out: str, code: str, inputs: str) -> None:
    """Every command whose outputs are compared, from the checkout CODE, into OUT."""
    calibration = os.path.join(inputs, "calibration.json")
    demo_image, demo_mask = os.path.join(inputs, "demo", "dicom"), os.path.join(inputs, "demo", "coronary.nii.gz")
    qrm_mask = os.path.join(inputs, "qrm-inserts.nii.gz")
    os.makedirs(out, exist_ok=True)
    cli(code, ["score", demo_image, "--mask", demo_mask, "--calibration", calibration,
               "--json", os.path.join(out, "demo-score.json")])
    cli(code, ["assess", demo_image, "--mask", demo_mask, "--calibration", calibration,
               "--out", os.path.join(out, "demo-assess"), "--force", "--no-progress"])
    cli(code, ["score", QRM_SCAN, "--mask", qrm_mask, "--calibration", calibration,
               "--json", os.path.join(out, "qrm-score.json")])
    cli(code, ["assess", QRM_SCAN, "--mask", qrm_mask, "--calibration", calibration,
               "--out", os.path.join(out, "qrm-assess"), "--force", "--no-progress"])
    cli(code, ["assess", os.path.join(inputs, "cohort", "manifest.csv"), "--calibration", calibration,
               "--out", os.path.join(out, "cohort-assess"), "--force", "--no-progress"])


def _files(folder: str) -> Iterator[str]:
    for base, _, names in os.walk(folder):
        for name in names:
            yield os.path.relpath(os.path.join(base, name), folder)


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_volatile(item) for key, item in value.items() if key not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    if isinstance(value, str):
        return TIMESTAMP.sub("<time>", value)
    return value


def _text(path: str, folder: str) -> str:
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return TIMESTAMP.sub("<time>", handle.read()).replace(os.path.abspath(folder), "<out>")


def same(before: str, after: str, relative: str) -> bool:
    """Whether the file RELATIVE is equal in both folders once what differs between any two runs is dropped."""
    old, new = os.path.join(before, relative), os.path.join(after, relative)
    if relative.endswith(".json"):
        with open(old, encoding="utf-8") as a, open(new, encoding="utf-8") as b:
            return _without_volatile(json.load(a)) == _without_volatile(json.load(b))
    if relative.endswith((".csv", ".html", ".txt", ".md", ".log")):
        return _text(old, before) == _text(new, after)
    if relative.endswith(".nrrd"):
        return _nrrd(old) == _nrrd(new)
    return filecmp.cmp(old, new, shallow=False)


def _nrrd(path: str) -> bytes:
    """An NRRD file's bytes with the writing time in its header comment (``# on DATE TIME``) blanked; the voxel data
    after the header is kept byte for byte."""
    with open(path, "rb") as handle:
        content = handle.read()
    header, separator, data = content.partition(b"\n\n")
    return TIMESTAMP.sub("<time>", header.decode("latin-1")).encode("latin-1") + separator + data


def diff(before: str, after: str) -> int:
    old, new = set(_files(before)), set(_files(after))
    for relative in sorted(old ^ new):
        print("only in %s: %s" % (before if relative in old else after, relative))
    changed = [relative for relative in sorted(old & new) if not same(before, after, relative)]
    for relative in changed:
        print("differs: %s" % relative)
    print("%d files compared: %d equal, %d differ, %d in one run only"
          % (len(old | new), len(old & new) - len(changed), len(changed), len(old ^ new)))
    return 1 if changed or old ^ new else 0


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("inputs").add_argument("work")
    runner = commands.add_parser("run")
    runner.add_argument("out")
    runner.add_argument("--code", default=ROOT, help="checkout whose CoronaryCalcium/ runs (default: this one)")
    runner.add_argument("--inputs", required=True, help="the folder `inputs` wrote")
    comparison = commands.add_parser("diff")
    comparison.add_argument("before")
    comparison.add_argument("after")
    args = parser.parse_args(argv)
    if args.command == "inputs":
        make_inputs(args.work)
        return 0
    if args.command == "run":
        run(args.out, args.code, args.inputs)
        return 0
    return diff(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
