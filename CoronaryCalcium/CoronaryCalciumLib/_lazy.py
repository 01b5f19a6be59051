"""Lazy public API of a stage package: a name is imported from its module on first use, so importing a package (and
``coronary-calcium --help``, and the Slicer module's start-up) stays as fast as importing nothing."""

from __future__ import annotations

import importlib
from typing import Callable, Dict, List, Tuple


def lazy_api(package: str, api: Dict[str, str]) -> Tuple[Callable[[str], object], Callable[[], List[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in the modules ``api[name]`` (relative)."""

    def __getattr__(name: str) -> object:
        if name in api:
            return getattr(importlib.import_module(api[name], package), name)
        raise AttributeError("module %r has no attribute %r" % (package, name))

    def __dir__() -> List[str]:
        return sorted(api)

    return __getattr__, __dir__


def lazy_module(name: str):
    """The module ``name``, executed on its first attribute access (``importlib.util.LazyLoader``): for a heavy
    library (scipy.ndimage, scipy.stats) used by a few functions of a module that light imports (``result``) reach."""
    import sys
    import importlib.util

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError("No module named %r" % name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
