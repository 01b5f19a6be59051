"""Paths to the real CT data (``../shared/data`` beside the repository, or ``$CORONARY_CALCIUM_DATA``)."""

from __future__ import annotations

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("CORONARY_CALCIUM_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
REQUIRE_DATA = os.environ.get("CORONARY_CALCIUM_REQUIRE_DATA") == "1"

QRM = os.path.join(DATA, "qrm-cci-canon-large", "dicom")
LUNG1 = os.path.join(DATA, "lung1-001-chest-ct", "LUNG1-001", "image")
LIDC_THIN = os.path.join(DATA, "lidc-idri-0314-chest-ct-thin", "image")
TS_EXAMPLES = os.path.join(DATA, "totalsegmentator-examples")
JPEG2000_SERIES = os.path.join(TS_EXAMPLES, "example_ct_dicom")
IBSI = os.path.join(DATA, "ibsi1-ct-radiomics-phantom")


def data_path(path: str) -> str:
    """The path, or skip (fail when CORONARY_CALCIUM_REQUIRE_DATA=1, as in CI) if the shared data is absent."""
    if not os.path.exists(path):
        message = "real CT data not found at %s (set CORONARY_CALCIUM_DATA)" % path
        if REQUIRE_DATA:
            pytest.fail(message)
        pytest.skip(message)
    return path


def only_shipped_trust(tmp_path, monkeypatch) -> str:
    """Only the shipped registry counts: an empty user config and cache under ``tmp_path``, and the repository's models
    folder. Returns that folder."""
    models = os.path.join(REPO, "models")
    monkeypatch.setenv("CORONARY_CALCIUM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CORONARY_CALCIUM_MODELS", models)
    monkeypatch.setenv("CORONARY_CALCIUM_CACHE", str(tmp_path / "cache"))
    return models
