"""The real QRM scan as a small 'patient' for the DICOM outputs: its inserts as three 'arteries' in a labelled mask."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from CoronaryCalciumLib.io.ct import load_ct
from CoronaryCalciumLib.scoring import qrm

from .data import QRM, data_path

# insert row (mg HA/cm3) -> label of the default numbering 1=LM, 2=LAD, 3=LCX, 4=RCA
ROW_LABELS = {800.0: 2, 400.0: 3, 200.0: 4}


def write_qrm_artery_mask(path: str) -> str:
    """Write a mask on the QRM CT grid (LAD = 800, LCX = 400, RCA = 200 mg HA/cm3 inserts) and return ``path``."""
    ct = load_ct(data_path(QRM))
    labels = np.zeros(ct.array.shape, dtype=np.uint8)
    for insert in qrm.locate_inserts(ct):
        labels[qrm.insert_region(ct, insert) > 0] = ROW_LABELS[insert.density_mg_cm3]
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(ct.image)
    sitk.WriteImage(image, path)
    return path


def require_tool(name: str) -> str:
    """The path of a system tool (dciodvfy, Orthanc...), or skip; fail instead when CORONARY_CALCIUM_REQUIRE_PACS=1
    (as in CI, which installs them)."""
    import os
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        message = "%s is not installed (apt-get install dicom3tools orthanc chromium)" % name
        if os.environ.get("CORONARY_CALCIUM_REQUIRE_PACS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
