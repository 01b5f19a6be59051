"""A reader's edits on an assessment, in the order made: who, when, what, why. Lesion ids are the result's own
(``lesions`` and ``excluded_lesions``); points are LPS mm."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..errors import InputError
from ..region.arteries import ARTERIES_AND_UNASSIGNED

ACTIONS = ("artery", "exclude", "include", "add")
EXCLUDE_REASONS = ("noise", "bone", "aortic", "valve", "mitral", "device", "other")


@dataclass
class Edit:
    """One edit. ``artery``: set ``lesion``'s artery; ``exclude``: leave ``lesion`` out for ``reason``; ``include``:
    count an excluded lesion again (undoes an automatic exclusion); ``add``: the calcium at ``point_lps_mm``, in
    ``artery`` (unassigned when None). ``lesion`` of an add is the id it got, filled in when applied."""

    action: str
    lesion: Optional[int] = None
    artery: Optional[str] = None
    reason: Optional[str] = None
    point_lps_mm: Optional[Tuple[float, float, float]] = None
    reader: str = ""
    time: str = field(default_factory=lambda: now())
    note: str = ""

    def validate(self) -> None:
        if self.action not in ACTIONS:
            raise InputError("edit action must be one of %s, not %r" % (", ".join(ACTIONS), self.action))
        if self.artery is not None and self.artery not in ARTERIES_AND_UNASSIGNED:
            raise InputError("artery %r does not exist: use one of %s" % (self.artery,
                                                                          ", ".join(ARTERIES_AND_UNASSIGNED)))
        if self.action == "artery" and self.artery is None:
            raise InputError("an artery edit needs an artery (%s)" % ", ".join(ARTERIES_AND_UNASSIGNED))
        if self.action == "exclude" and self.reason not in EXCLUDE_REASONS:
            raise InputError("exclusion reason %r is not one of %s" % (self.reason, ", ".join(EXCLUDE_REASONS)))
        if self.action in ("artery", "exclude", "include") and (self.lesion is None or self.lesion < 1):
            raise InputError("a %s edit needs a lesion id (1, 2, ...), not %r" % (self.action, self.lesion))
        if self.action == "add":
            if self.point_lps_mm is None or len(self.point_lps_mm) != 3:
                raise InputError("an add edit needs a point X,Y,Z in LPS mm")

    def describe(self) -> str:
        """One line for reports: what was done and why."""
        if self.action == "artery":
            text = "lesion %d set to %s" % (self.lesion, self.artery)
        elif self.action == "exclude":
            text = "lesion %d excluded (%s)" % (self.lesion, self.reason)
        elif self.action == "include":
            text = "lesion %d counted again" % self.lesion
        else:
            text = "lesion %s added at (%.1f, %.1f, %.1f) LPS mm in %s" % (
                self.lesion if self.lesion is not None else "?", self.point_lps_mm[0], self.point_lps_mm[1],
                self.point_lps_mm[2], self.artery or "unassigned")
        return text + (": %s" % self.note if self.note else "")

    def to_dict(self) -> Dict[str, Any]:
        data = {"action": self.action, "lesion": self.lesion, "artery": self.artery, "reason": self.reason,
                "point_lps_mm": list(self.point_lps_mm) if self.point_lps_mm is not None else None,
                "reader": self.reader, "time": self.time, "note": self.note}
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Edit":
        if not isinstance(data, dict) or "action" not in data:
            raise InputError("an edit must be an object with an 'action' (%s), not %r" % (", ".join(ACTIONS), data))
        unknown = set(data) - {"action", "lesion", "artery", "reason", "point_lps_mm", "reader", "time", "note"}
        if unknown:
            raise InputError("edit has unknown key(s) %s" % ", ".join(sorted(unknown)))
        point = data.get("point_lps_mm")
        try:
            edit = cls(action=str(data["action"]), lesion=None if data.get("lesion") is None else int(data["lesion"]),
                       artery=data.get("artery"), reason=data.get("reason"),
                       point_lps_mm=None if point is None else tuple(float(v) for v in point),
                       reader=str(data.get("reader") or ""), time=str(data.get("time") or now()),
                       note=str(data.get("note") or ""))
        except (TypeError, ValueError) as error:
            raise InputError("edit %r not understood: %s" % (data, error))
        edit.validate()
        return edit


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _lesion_id(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError("%s: lesion id %r is not a number" % (what, text))
    return value


def parse_artery_edit(text: str, reader: str = "") -> Edit:
    """``ID=ARTERY`` (``3=RCA``)."""
    if "=" not in text:
        raise InputError("--artery %r not understood: write ID=ARTERY, e.g. 3=RCA" % text)
    lesion, artery = text.split("=", 1)
    edit = Edit("artery", lesion=_lesion_id(lesion.strip(), "--artery"), artery=artery.strip().upper()
                if artery.strip().lower() != "unassigned" else "unassigned", reader=reader)
    edit.validate()
    return edit


def parse_exclude_edit(text: str, reader: str = "") -> Edit:
    """``ID[:reason]`` (``4:aortic``; no reason: other)."""
    lesion, _, reason = text.partition(":")
    edit = Edit("exclude", lesion=_lesion_id(lesion.strip(), "--exclude"), reason=reason.strip().lower() or "other",
                reader=reader)
    edit.validate()
    return edit


def parse_include_edit(text: str, reader: str = "") -> Edit:
    """``ID``: count an excluded lesion again."""
    edit = Edit("include", lesion=_lesion_id(text.strip(), "--include"), reader=reader)
    edit.validate()
    return edit


def parse_add_edit(text: str, reader: str = "") -> Edit:
    """``X,Y,Z[:ARTERY]`` in LPS mm."""
    coordinates, _, artery = text.partition(":")
    try:
        point = tuple(float(value) for value in coordinates.split(","))
    except ValueError:
        raise InputError("--add %r not understood: write X,Y,Z[:ARTERY] in LPS mm, e.g. -20.5,10,-130:LAD" % text)
    if len(point) != 3:
        raise InputError("--add %r: a point needs three coordinates X,Y,Z (LPS mm)" % text)
    artery = artery.strip()
    edit = Edit("add", point_lps_mm=point, artery=(artery.upper() if artery.lower() != "unassigned"
                                                    else "unassigned") if artery else None, reader=reader)
    edit.validate()
    return edit


def edits_from_json(path: str, reader: str = "") -> List[Edit]:
    """The edits in a JSON file: a list of edit objects (or {"edits": [...]}); ``reader`` fills missing readers."""
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except OSError as error:
        raise InputError("cannot read edits file %s: %s" % (path, error.strerror or error))
    except ValueError as error:
        raise InputError("edits file %s is not valid JSON: %s" % (path, error))
    if isinstance(data, dict):
        data = data.get("edits")
    if not isinstance(data, list):
        raise InputError("edits file %s must hold a list of edits (or {\"edits\": [...]})" % path)
    edits = [Edit.from_dict(item) for item in data]
    for edit in edits:
        edit.reader = edit.reader or reader
    return edits
