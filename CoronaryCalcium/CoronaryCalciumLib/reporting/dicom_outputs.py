"""The DICOM outputs of one assessment, for a PACS: SEG, SR (TID 1500), the PDF report and its Encapsulated PDF.

They carry the source study's patient module, so they are written only on request (``score --dicom-out DIR``,
``assess --dicom``, ``assess --send``), into their own folder, never into the pseudonymised research files.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

from ..io.atomic import atomic_path
from ..result import Assessment
from . import dicom_source

DICOM_FILES = ("seg.dcm", "sr.dcm", "report.pdf", "report-pdf.dcm")


def _save(dataset, path: str) -> None:
    with atomic_path(path) as temporary:
        dataset.save_as(temporary, enforce_file_format=True)


def write_dicom_outputs(folder: str, case: Assessment, pdf: bool = True,
                        source_files: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """Write SEG, SR and (with ``pdf``) the PDF report and its Encapsulated PDF into ``folder``; returns
    {file name: path}. ``source_files``: the CT's DICOM files when ``case.ct.source`` is not their folder (Slicer).
    Raises InputError (one line, nothing written) when there is no DICOM series to reference."""
    from .dicom_pdf import build_encapsulated_pdf
    from .dicom_seg import build_seg
    from .dicom_sr import build_sr
    from .pdf import write_pdf_report

    sources = dicom_source.source_images(case, source_files)  # refuses a non-DICOM CT before anything is written
    seg = build_seg(case, sources)
    sr = build_sr(case, sources, seg)
    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name) for name in DICOM_FILES}
    if pdf:
        write_pdf_report(paths["report.pdf"], case, include_phi=True)
        with open(paths["report.pdf"], "rb") as stream:
            _save(build_encapsulated_pdf(stream.read(), sources[0]), paths["report-pdf.dcm"])
    else:
        del paths["report.pdf"], paths["report-pdf.dcm"]
    _save(seg, paths["seg.dcm"])
    _save(sr, paths["sr.dcm"])
    return paths
