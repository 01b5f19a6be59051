"""TotalSegmentator's class names, as file names or segment names: which class a name means and which classes a
region needs.

A class is matched by its TotalSegmentator name (``heart``, ``aorta``, ``coronary_arteries``: the file names it
writes, and the segment IDs Slicer's TotalSegmentator extension gives) or by the display name that extension gives the
segment from its terminology when "use standard segment names" is on (``heart``, ``aorta``, ``coronary artery``).
Case, surrounding spaces and ``_`` / ``-`` / space differences do not matter; other names match nothing.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..errors import RegionError

CLASSES = ("heart", "aorta", "coronary_arteries")
NEEDED = {"heart": ("heart", "aorta"), "coronary": ("coronary_arteries",)}  # per region backend
_NAMES = {"heart": "heart", "aorta": "aorta", "coronary arteries": "coronary_arteries",
          "coronary artery": "coronary_arteries"}
_LISTED = 12  # names shown in an error before "and N more"


def classes_used(backend: str) -> Tuple[str, ...]:
    """The classes a ``backend`` region is built from: heart and aorta (the shell, or the coronary region's arteries
    and blood pool), and coronary_arteries for the coronary region."""
    return ("heart", "aorta") + (("coronary_arteries",) if backend == "coronary" else ())


def _normalised(name: str) -> str:
    return " ".join(str(name).replace("_", " ").replace("-", " ").lower().split())


def totalseg_class(name: str) -> Optional[str]:
    """The TotalSegmentator class (one of ``CLASSES``) that ``name`` means, or None."""
    return _NAMES.get(_normalised(name))


def match_classes(names: Iterable[str]) -> Dict[str, List[str]]:
    """{class: the names that mean it, in order} for the names that mean one of ``CLASSES``."""
    matched: Dict[str, List[str]] = {}
    for name in names:
        found = totalseg_class(name)
        if found is not None:
            matched.setdefault(found, []).append(name)
    return matched


def require_classes(backend: str, present: Iterable[str], found: Sequence[str], where: str,
                    suffix: str = "") -> None:
    """A one-line RegionError when a class the ``backend`` region needs is not ``present``, naming what was
    ``found`` there (file or segment names); ``suffix`` follows each class name (".nii.gz" for files)."""
    have = set(present)
    missing = [name for name in NEEDED[backend] if name not in have]
    if not missing:
        return
    shown = ", ".join(found[:_LISTED]) + (" and %d more" % (len(found) - _LISTED) if len(found) > _LISTED else "")
    raise RegionError("%s has no %s: the %s region needs %s named as TotalSegmentator names them (found: %s)"
                      % (where, " or ".join(name + suffix for name in missing), backend,
                         " and ".join(name + suffix for name in NEEDED[backend]), shown or "nothing"))
