"""pytest set-up: the core package and ``Testing/`` (for ``support``) on sys.path.

The tests mirror the core's package tree (``io/``, ``region/``, ``scoring/``, ...); helpers live in ``support/``.
"""

from __future__ import annotations

import os
import sys

TESTING = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(TESTING), "CoronaryCalcium"))
sys.path.insert(0, TESTING)
