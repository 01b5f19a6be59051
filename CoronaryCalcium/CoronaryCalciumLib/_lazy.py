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
