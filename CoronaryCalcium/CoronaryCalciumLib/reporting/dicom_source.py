"""What every DICOM object this project writes shares: the source CT images it refers to and the equipment that made it.

DICOM outputs carry the source study's patient module (name, ID, birth date...), so they are written only on request
(``--dicom-out``, ``--send``) and never into the pseudonymised research outputs.
"""

from __future__ import annotations

import os
from typing import List

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


def source_images(case: Assessment) -> List[object]:
    """The source CT's headers (pydicom Datasets without pixels), frame k of the assessed volume being the k-th.

    Raises InputError in one line when the CT did not come from a DICOM series (DICOM outputs must reference one).
    """
    if (case.ct.format or "").upper() != "DICOM" or not case.ct.source or not os.path.exists(case.ct.source):
        raise InputError("DICOM outputs (SEG, SR, PDF) need a DICOM CT series as input; this CT is %s"
                         % (case.ct.format or "not DICOM"))
    folder = case.ct.source if os.path.isdir(case.ct.source) else os.path.dirname(case.ct.source) or "."
    headers = series_headers(folder, case.ct.series_uid)
    slices = case.ct_volume.geometry.shape[0] if case.ct_volume is not None else len(headers)
    if len(headers) != slices:
        raise InputError("the DICOM series in %s now has %d slices, the assessed CT had %d: cannot reference it"
                         % (folder, len(headers), slices))
    return headers
