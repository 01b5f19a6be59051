#!/usr/bin/env python3
"""Render the Review section of a reviewed report.html to a PNG with headless Chromium.

A small severe phantom is assessed with `coronary-calcium assess` in the heart-shell region (the free heart backend's
region from the phantom's heart and aorta masks, as benchmarks/bench_agreement.py builds it) and in its exact coronary
mask; the edits a reader would make to reach the exact-mask result (`review.edits_to_reference`) are written to an
edits file and applied with `coronary-calcium review --edits`. Chromium draws the reviewed report.html and the picture
is cropped to the report's Review section (its position read from the page's own layout). Every number is what the
commands produce on that phantom.

    python tools/render_reviewed_report.py [--out Resources/Screenshots/report_reviewed.png] [--seed 17]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "CoronaryCalcium"))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from bench_agreement import write_heart_shell_region  # noqa: E402
from CoronaryCalciumLib.cli.main import main as cli  # noqa: E402
from CoronaryCalciumLib.phantom import generate_case, small_config  # noqa: E402
from CoronaryCalciumLib.phantom.writer import write_case  # noqa: E402
from CoronaryCalciumLib.reporting.pdf import find_chromium  # noqa: E402
from CoronaryCalciumLib.review import edits_to_reference, read_case  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "Resources", "Screenshots", "report_reviewed.png")
WIDTH_PX = 900
PAGE_HEIGHT_PX = 8000
# appended to a copy of the page: writes the Review section's top and bottom (CSS px) into the DOM for --dump-dom
MEASURE = """<script>
window.addEventListener("load", function () {
  var heads = Array.prototype.filter.call(document.querySelectorAll("h2"), function (h) {
    return h.textContent.trim() === "Review"; });
  var top = heads[0].getBoundingClientRect().top + window.scrollY, bottom = top;
  for (var node = heads[0]; node && !(node !== heads[0] && node.tagName === "H2"); node = node.nextElementSibling) {
    bottom = Math.max(bottom, node.getBoundingClientRect().bottom + window.scrollY); }
  var out = document.createElement("pre"); out.id = "review-rect"; out.textContent = top + " " + bottom;
  document.body.appendChild(out);
});
</script>"""


def assess(image: str, mask: str, out: str) -> str:
    """`assess` one CT in ``mask``; returns its case folder."""
    code = cli(["assess", image, "--mask", mask, "--out", out, "--include-phi"])
    if code != 0:
        raise SystemExit("assess exited %d" % code)
    (name,) = [n for n in os.listdir(out) if os.path.isdir(os.path.join(out, n))]
    return os.path.join(out, name)


def reviewed_report(work: str, seed: int) -> str:
    """The report.html of a heart-shell phantom case reviewed to its exact-mask result."""
    phantom = os.path.join(work, "phantom")
    write_case(generate_case(seed, small_config(burden="severe", noise_sd_hu=20.0)), phantom)
    image = os.path.join(phantom, "image.nii.gz")
    shell = assess(image, write_heart_shell_region(phantom), os.path.join(work, "shell"))
    exact = read_case(assess(image, os.path.join(phantom, "coronary_exact.nii.gz"), os.path.join(work, "exact")))
    automatic = read_case(shell)
    edits = edits_to_reference(automatic.score, exact.score, automatic.ct_volume, reader="")
    path = os.path.join(work, "edits.json")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump([e.to_dict() for e in edits], stream)
    code = cli(["review", shell, "--edits", path, "--reader", "Dr A. Reader", "--quiet"])
    if code != 0:
        raise SystemExit("review exited %d" % code)
    return os.path.join(shell, "report.html")


def chromium(browser: str, work: str, *arguments: str) -> bytes:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--user-data-dir=" + os.path.join(work, "profile"), "--virtual-time-budget=5000",
               "--window-size=%d,%d" % (WIDTH_PX, PAGE_HEIGHT_PX)] + list(arguments)
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if done.returncode != 0:
        raise SystemExit("chromium failed: %s" % done.stderr.decode("utf-8", "replace").strip()[-300:])
    return done.stdout


def render(report: str, out: str, work: str) -> None:
    from PIL import Image

    browser = find_chromium()
    if browser is None:
        raise SystemExit("needs Chromium (apt-get install chromium, or set CORONARY_CALCIUM_CHROMIUM)")
    with open(report, encoding="utf-8") as stream:
        page = stream.read()
    measured = os.path.join(work, "measure.html")
    with open(measured, "w", encoding="utf-8") as stream:
        stream.write(page.replace("</body>", MEASURE + "</body>"))
    dom = chromium(browser, work, "--dump-dom", "file://" + measured).decode("utf-8", "replace")
    top, bottom = (float(v) for v in dom.split('id="review-rect">', 1)[1].split("<", 1)[0].split())
    shot = os.path.join(work, "page.png")
    chromium(browser, work, "--screenshot=" + shot, "file://" + os.path.abspath(report))
    margin = 12
    with Image.open(shot) as image:
        crop = image.crop((0, max(0, int(top) - margin), image.width, min(image.height, int(bottom) + margin)))
        crop = crop.convert("P", palette=Image.ADAPTIVE, colors=64)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        crop.save(out, optimize=True)
    print("wrote %s (%dx%d px, Review section of %s)" % (out, crop.width, crop.height, os.path.basename(report)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", help="work folder to keep (the phantom, both assessments, the edits)")
    args = parser.parse_args()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        render(reviewed_report(args.keep, args.seed), args.out, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="cac-reviewed-report-") as work:
        render(reviewed_report(work, args.seed), args.out, work)


if __name__ == "__main__":
    main()
