"""Writing outputs atomically: a file appears whole or not at all (temporary file in the same folder, then rename)."""

from __future__ import annotations

import math
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``, on error removed."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp" + _suffixes(path),
                                         dir=folder)
    os.close(handle)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _suffixes(path: str) -> str:
    """Keep compound suffixes (.nii.gz, .seg.nrrd) so writers that choose the format by name still work."""
    name = os.path.basename(path)
    for compound in (".nii.gz", ".seg.nrrd"):
        if name.endswith(compound):
            return compound
    return os.path.splitext(name)[1]


def write_text_atomic(path: str, text: str) -> None:
    """Write text (UTF-8) so that ``path`` is either the old file or the complete new one."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)


def plain_json(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers, non-finite floats made None and keys made strings, ready for
    ``json.dumps`` (which would otherwise write NaN, invalid JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return plain_json(value.item())
        except (TypeError, ValueError):
            return str(value)
    return value
