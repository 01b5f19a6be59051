"""Progress callbacks, shared by every long step: ``progress(fraction 0..1, message)``."""

from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[float, str], None]


def silent(_fraction: float, _message: str) -> None:
    """A progress callback that reports nothing."""
    return None


def subrange(progress: Optional[Progress], start: float, stop: float) -> Optional[Progress]:
    """``progress`` for a sub-step that spans ``start``..``stop`` of the whole (fractions clamped to 0..1; None stays
    None)."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (stop - start) * max(0.0, min(1.0, float(fraction))), message)
