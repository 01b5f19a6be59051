"""Module names of models saved before the core was grouped into stage packages (version 1.x layout).

An old model file is a joblib pickle: it names the classes it holds by module (``CoronaryCalciumLib.correlation_filter``
then, ``CoronaryCalciumLib.classifier.correlation_filter`` now). ``old_module_names()`` lets ``convert-model``
(``convert.py``, the only place a pickle is still opened) read such files too.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Dict, Iterator

# old module -> new module, for the modules whose objects can sit in a saved model
OLD_TO_NEW: Dict[str, str] = {
    "CoronaryCalciumLib.correlation_filter": "CoronaryCalciumLib.classifier.correlation_filter",
    "CoronaryCalciumLib.classifiers": "CoronaryCalciumLib.classifier.pipelines",
    "CoronaryCalciumLib.training": "CoronaryCalciumLib.classifier.nested_cv",
    "CoronaryCalciumLib.classifier_metrics": "CoronaryCalciumLib.classifier.metrics",
    "CoronaryCalciumLib.explanations": "CoronaryCalciumLib.classifier.explanations",
    "CoronaryCalciumLib.model": "CoronaryCalciumLib.classifier.model",
    "CoronaryCalciumLib.radiomics_features": "CoronaryCalciumLib.features.radiomics",
}


@contextlib.contextmanager
def old_module_names() -> Iterator[None]:
    """While unpickling: the old module names resolve to the new modules (names already in use are left alone)."""
    added = []
    for old, new in OLD_TO_NEW.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)
            added.append(old)
    try:
        yield
    finally:
        for old in added:
            sys.modules.pop(old, None)
