"""Writing outputs atomically: a file appears whole or not at all (temporary file in the same folder, then rename)."""

from __future__ import annotations

import math
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator


def _process_umask() -> int:
    """The process's file-creation mask, read once at import (setting it back at once; import is single-threaded)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


TEMPORARY_MARK = ".tmp"  # in the name of every temporary file ``atomic_path`` makes (".<name>.<random>.tmp<suffixes>")
# mkstemp creates 0600 files; an output must get the permissions any other new file would (0666 less the umask), or
# keep those of the file it replaces, so that a shared results folder or a PACS export stays readable by the group.
_NEW_FILE_MODE = 0o666 & ~_process_umask()


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``, on error removed."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path),
                                         suffix=TEMPORARY_MARK + _suffixes(path), dir=folder)
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def is_leftover(name: str) -> bool:
    """Whether a file name is one of ``atomic_path``'s temporary files (left behind only by a killed process)."""
    return name.startswith(".") and TEMPORARY_MARK in name and len(name) > 5


def _mode_for(path: str) -> int:
    """Permission bits for ``path``: those of the file it replaces, else a new file's."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return _NEW_FILE_MODE


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


def check_output_file(path: str, option: str) -> None:
    """Refuse, before any work, a file output that cannot be written: a folder given for the file, a parent that is a
    file, or a location that is read-only or not ours. Raises InputError; creates nothing."""
    from ..errors import InputError

    if os.path.isdir(path):
        raise InputError("%s %s is a folder; give the name of a file to write" % (option, path))
    _check_can_create_in(os.path.dirname(os.path.abspath(path)), option, path)


def check_output_folder(path: str, option: str) -> None:
    """Refuse, before any work, a folder output that cannot be written: a file given for the folder, a parent that is
    a file, or a location that is read-only or not ours. Raises InputError; creates nothing."""
    from ..errors import InputError

    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError("%s %s is a file, not a folder; give a folder to write into" % (option, path))
    _check_can_create_in(os.path.abspath(path), option, path)


def _check_can_create_in(folder: str, option: str, path: str) -> None:
    """The nearest existing folder at or above ``folder`` must be a folder we can create files in (probed with a
    temporary file, so read-only mounts and permissions are seen as they are, even by root)."""
    from ..errors import InputError

    existing = folder
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        raise InputError("%s %s cannot be written: %s is a file, not a folder" % (option, path, existing))
    try:
        handle, probe = tempfile.mkstemp(prefix=".write-check-", dir=existing)
    except OSError as error:
        raise InputError("%s %s cannot be written: %s (read-only or no permission?)"
                         % (option, path, error.strerror or error)) from None
    os.close(handle)
    os.remove(probe)
