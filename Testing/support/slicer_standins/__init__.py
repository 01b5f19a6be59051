"""Stand-ins for the Slicer Python names (slicer, vtk, qt, ctk) so that CoronaryCalcium.py imports and its Logic runs
in pytest without Slicer.

The stand-ins are put into ``sys.modules`` only while ``active()`` is entered, and whatever held those names before is
put back afterwards. That matters: the PyPI package ``shap`` depends on an unrelated PyPI package also called
``slicer``, and other tests of the suite import shap in the same process.

    with slicer_standins.active():
        module = slicer_standins.load_module()
        ...
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from typing import Dict

STANDINS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(STANDINS_DIR)))
MODULE_DIR = os.path.join(REPO_DIR, "CoronaryCalcium")
MODULE_FILE = os.path.join(MODULE_DIR, "CoronaryCalcium.py")
STANDIN_NAMES = ("slicer", "vtk", "qt", "ctk")
STANDIN_SUBMODULES = ("slicer.util", "slicer.i18n", "slicer.ScriptedLoadableModule", "slicer.parameterNodeWrapper")

_standins: Dict[str, object] = {}
_module = None


def _owned(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in STANDIN_NAMES)


def _take_owned() -> Dict[str, object]:
    """Remove and return every sys.modules entry under the stand-in names (real or stand-in)."""
    return {name: sys.modules.pop(name) for name in [n for n in sys.modules if _owned(n)]}


def _import_standins() -> Dict[str, object]:
    if not _standins:
        saved = _take_owned()
        sys.path.insert(0, STANDINS_DIR)
        try:
            for name in STANDIN_NAMES + STANDIN_SUBMODULES:
                importlib.import_module(name)
            _standins.update({name: module for name, module in sys.modules.items() if _owned(name)})
        finally:
            sys.path.remove(STANDINS_DIR)
            _take_owned()
            sys.modules.update(saved)
    return _standins


@contextlib.contextmanager
def active():
    """Make ``slicer``, ``vtk``, ``qt`` and ``ctk`` resolve to the stand-ins inside the block."""
    if importlib.util.find_spec("shap") is not None:
        import shap  # noqa: F401  (binds the PyPI ``slicer`` it depends on before the stand-in takes the name)
    standins = _import_standins()
    saved = _take_owned()
    sys.modules.update(standins)
    try:
        yield
    finally:
        _take_owned()
        sys.modules.update(saved)


def load_module():
    """Import CoronaryCalcium.py against the stand-ins (once per process) and return the module object.

    Call it, and use what it returns, inside ``active()``: the module's ``slicer`` functions import the name at call time.
    """
    global _module
    if _module is None:
        from support.module_file import import_module_file

        with active():
            _module = import_module_file(MODULE_FILE)
    return _module


def reset_scene():
    """Empty the stand-in scene (singletons too) and forget recorded pip and save calls; returns the scene."""
    slicer = _import_standins()["slicer"]
    slicer.mrmlScene.Clear(1)
    slicer.util.pipInstallCalls.clear()
    slicer.util.savedNodes.clear()
    slicer.vtkMRMLSliceNode.jumps.clear()
    return slicer.mrmlScene
