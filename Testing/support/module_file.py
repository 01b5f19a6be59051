"""Import CoronaryCalcium.py (the Slicer module file) by path, as Slicer's module loader does."""

from __future__ import annotations

import importlib.util
import os
import sys

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_FILE = os.path.join(REPO_DIR, "CoronaryCalcium", "CoronaryCalcium.py")


def import_module_file(path: str = MODULE_FILE, name: str = "CoronaryCalcium"):
    """The module object of ``path``, registered as ``name`` while it executes (dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
