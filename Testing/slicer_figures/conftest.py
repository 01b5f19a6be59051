"""Real Slicer views rendered offscreen by trame-slicer (``make test-figures``, venv ``.venv-figures``).

trame-slicer 2.0 imports only with its ``[standalone]`` extra, which pins slicer-core 5.11 and vtk 9.6: it lives in its own
venv, and in the other venvs this folder is not collected. Under ``make test-figures``
(``CORONARY_CALCIUM_REQUIRE_FIGURES=1``) a missing trame-slicer is an error, not a skip.
"""

from __future__ import annotations


import pytest

from support import slicer_real, slicer_views

collect_ignore_glob = slicer_real.tests_to_ignore(
    slicer_views.trame_slicer_installed() and slicer_real.slicer_core_version() is not None,
    "CORONARY_CALCIUM_REQUIRE_FIGURES", "trame-slicer or slicer-core", "test-figures", ".venv-figures")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """The README's phantom assessed by the module's Logic in a real scene, and offscreen views on that scene."""
    import types

    slicer_real.install()
    run = slicer_views.assessedPhantom(str(tmp_path_factory.mktemp("phantom")))
    return types.SimpleNamespace(run=run, views=slicer_views.Views(320, 320))
