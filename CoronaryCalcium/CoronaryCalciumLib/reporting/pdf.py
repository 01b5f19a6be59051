"""The HTML report printed to PDF by headless Chromium (its print engine lays out the page as a browser shows it).

Chromium is found as ``$CORONARY_CALCIUM_CHROMIUM``, else ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Optional

from ..errors import CoronaryCalciumError, InputError
from ..io.atomic import atomic_path
from ..result import Assessment

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180


def find_chromium() -> Optional[str]:
    """The Chromium executable, or None."""
    configured = os.environ.get("CORONARY_CALCIUM_CHROMIUM")
    if configured:
        return configured if os.path.isfile(configured) else shutil.which(configured)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html_text: str, path: str) -> None:
    """Print an HTML page (self-contained: pictures inline) to a PDF file at ``path`` (A4, no browser header)."""
    browser = find_chromium()
    if browser is None:
        raise InputError("a PDF report needs Chromium (apt-get install chromium, or set CORONARY_CALCIUM_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="cac-pdf-") as work:
        page = os.path.join(work, "report.html")
        with open(page, "w", encoding="utf-8") as stream:
            stream.write(html_text)
        with atomic_path(path) as temporary:
            command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                       "--user-data-dir=" + os.path.join(work, "profile"), "--print-to-pdf=" + temporary,
                       "file://" + page]
            try:
                done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise CoronaryCalciumError("Chromium did not print the PDF report within %d s" % TIMEOUT_S) from None
            if done.returncode != 0 or not os.path.getsize(temporary):
                last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
                raise CoronaryCalciumError("Chromium could not print the PDF report: %s" % last)


def write_pdf_report(path: str, case: Assessment, include_phi: bool = False) -> None:
    """The HTML report of ``case`` (key slices, scores, disclaimer) as a PDF file."""
    from .html_report import render_report

    html_to_pdf(render_report(case, include_phi=include_phi), path)
