"""What every DICOM object this project writes shares: the source CT images it refers to and the equipment that made it.

DICOM outputs carry the source study's patient module (name, ID, birth date...), so they are written only on request
(``--dicom-out``, ``--send``) and never into the pseudonymised research outputs.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

from .. import __version__
from ..errors import InputError
from ..io.dicom import series_headers
from ..result import Assessment

MANUFACTURER = "CoronaryCalcium contributors"
MODEL_NAME = "CoronaryCalcium"
SOFTWARE_VERSION = __version__
DEVICE_SERIAL = "0"
# series numbers of the derived series, high so that they sort after the scanner's own series
SEG_SERIES_NUMBER = 9001
SR_SERIES_NUMBER = 9002
PDF_SERIES_NUMBER = 9003


def is_dicom_format(ct_format: Optional[str]) -> bool:
    """Whether a CT read in ``ct_format`` (``CTMetadata.format``, a result's ``input.format``) is a DICOM series the
    DICOM outputs can reference."""
    return "DICOM" in (ct_format or "").upper()


def source_images(case: Assessment, files: Optional[Sequence[str]] = None) -> List[object]:
    """The source CT's headers (pydicom Datasets without pixels), frame k of the assessed volume being the k-th.

    ``files``: the series' DICOM files (as the Slicer module knows them from its DICOM database); default: the series
    the CT was read from (``case.ct.source``). Each file must lie on one slice of the assessed grid. Raises InputError
    in one line when there is no DICOM series to reference.
    """
    import pydicom

    if files is None:
        if not is_dicom_format(case.ct.format) or not case.ct.source or not os.path.exists(case.ct.source):
            raise InputError("DICOM outputs (SEG, SR, PDF) need a DICOM CT series as input; this CT is %s"
                             % (case.ct.format or "not DICOM"))
        folder = case.ct.source if os.path.isdir(case.ct.source) else os.path.dirname(case.ct.source) or "."
        headers = series_headers(folder, case.ct.series_uid)
    else:
        headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in files]
    return _on_grid(headers, case.ct_volume.geometry)


def _on_grid(headers: Sequence[object], geometry) -> List[object]:
    """``headers`` ordered by the slice of ``geometry`` each lies on; InputError unless they are its slices one to
    one (a series with missing slices is stacked without its gaps and cannot be referenced slice by slice)."""
    rows, columns = geometry.shape[1], geometry.shape[2]
    by_slice: Dict[int, object] = {}
    for header in headers:
        z, y, x = geometry.lps_to_index([float(v) for v in header.ImagePositionPatient])
        k = int(round(z))
        if (int(header.Rows), int(header.Columns)) != (rows, columns) or max(abs(z - k), abs(y), abs(x)) > 0.05 \
                or not 0 <= k < geometry.shape[0] or k in by_slice:
            raise InputError("the DICOM images (%d) do not lie one to one on the %d slices of the assessed CT: "
                             "cannot reference them in DICOM outputs" % (len(headers), geometry.shape[0]))
        by_slice[k] = header
    if len(by_slice) != geometry.shape[0]:
        raise InputError("the DICOM images cover %d of the %d slices of the assessed CT: cannot reference them in "
                         "DICOM outputs" % (len(by_slice), geometry.shape[0]))
    return [by_slice[k] for k in range(geometry.shape[0])]
