"""pytest fixtures shared by the Slicer-module tests: import them into a test module to use the stand-ins."""

from __future__ import annotations

import pytest

from support import slicer_standins


@pytest.fixture(autouse=True)
def _slicer_standins():
    """The stand-in slicer/vtk/qt/ctk modules for the duration of each test (see slicer_standins.active)."""
    with slicer_standins.active():
        yield


@pytest.fixture(scope="module")
def module():
    return slicer_standins.load_module()
