"""Checks on an image file before SimpleITK reads it: files cut short, NIfTI headers ITK would silently repair, paths
SimpleITK cannot open.

ITK reads a truncated ``.nii.gz`` as a zero-filled volume and turns a pixel spacing of 0 into 1 mm, both without an
error; these checks find them from the file itself (nibabel for the NIfTI header, the gzip stream for its end) and
raise a one-line ``InputError``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import zlib
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np

from ..errors import InputError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_CHUNK = 1 << 22


def check_image_file(path: str, what: str = "image") -> None:
    """Refuse a NIfTI whose data is cut short or whose header holds a spacing ITK would replace, and any gzip file
    whose stream ends early. Other formats are left to their readers (ITK refuses truncated NRRD and MetaImage)."""
    size = _check_gzip_complete(path, what) if _is_gzip(path) else None
    if path.lower().endswith(NIFTI_SUFFIXES):
        _check_nifti(path, what, size)


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _check_gzip_complete(path: str, what: str) -> int:
    """Decompress the whole stream once (discarding it) and return its uncompressed size in bytes: a file cut short
    ends before gzip's end-of-stream marker."""
    try:
        return _uncompressed_size(path)
    except EOFError:
        raise InputError("%s %s is truncated: its gzip stream ends early (an incomplete copy or download?)"
                         % (what, path)) from None
    except (OSError, zlib.error) as error:
        raise InputError("cannot read %s (%s): damaged gzip data: %s" % (path, what, error)) from None


def _nifti_header(path: str, what: str):
    """The NIfTI-1 or -2 header as stored (nibabel's own loader would already have replaced a zero spacing by 1)."""
    import nibabel
    from nibabel.openers import ImageOpener

    try:
        with ImageOpener(path) as stream:
            start = stream.read(4)
            stream.seek(0)
            sizes = {int.from_bytes(start, "little"), int.from_bytes(start, "big")}
            klass = nibabel.Nifti2Header if 540 in sizes else nibabel.Nifti1Header
            return klass.from_fileobj(stream, check=False)
    except Exception as error:  # nibabel raises assorted errors on foreign headers
        raise InputError("%s %s is not a readable NIfTI file: %s" % (what, path, str(error).splitlines()[0][:160])
                         ) from None


def _check_nifti(path: str, what: str, uncompressed_size: Optional[int]) -> None:
    """``uncompressed_size``: the data's size in bytes when the file is gzip-compressed (None: it is not)."""
    header = _nifti_header(path, what)
    dims = [int(d) for d in header["dim"][1:1 + int(header["dim"][0])]]
    spatial = np.asarray(header["pixdim"][1:1 + min(3, len(dims))], dtype=float)
    if not np.all(np.isfinite(spatial)) or np.any(spatial <= 0):
        raise InputError("%s %s has voxel spacing %s mm in its header (zero, negative or not a number): its scale is "
                         "unknown, so no area or volume can be measured" % (what, path, _numbers(spatial)))
    offset = int(header.get_data_offset())
    expected = offset + int(np.prod(dims)) * header.get_data_dtype().itemsize
    actual = uncompressed_size if uncompressed_size is not None else os.path.getsize(path)
    if actual < expected:
        raise InputError("%s %s is truncated: %d of the %d bytes its header promises (an incomplete copy?)"
                         % (what, path, actual, expected))


def nifti_nonfinite_zyx(path: str) -> Optional[np.ndarray]:
    """Where a floating-point NIfTI stores NaN or +/-inf, as a (z, y, x) boolean array in ITK's voxel order (ITK's
    reader turns them into 0, which would read as water); None for other files or when every value is finite."""
    import nibabel

    if not path.lower().endswith(NIFTI_SUFFIXES):
        return None
    header = _nifti_header(path, "image")
    if not np.issubdtype(header.get_data_dtype(), np.floating):
        return None
    data = np.asanyarray(nibabel.load(path).dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    bad = ~np.isfinite(data)
    return np.ascontiguousarray(bad.T) if bad.any() else None


def _uncompressed_size(path: str) -> int:
    size = 0
    buffer = bytearray(_CHUNK)  # decompressed into one reused buffer
    with gzip.open(path, "rb") as stream:
        while True:
            count = stream.readinto(buffer)
            if not count:
                return size
            size += count


def _numbers(values) -> str:
    return "x".join("%g" % v for v in values)


def is_safe_for_itk(path: str) -> bool:
    """True when SimpleITK can take ``path``: its name encodes as UTF-8 (SimpleITK aborts the process on one that does
    not, such as a Latin-1 name read from disk as surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextmanager
def itk_readable_path(path: str) -> Iterator[str]:
    """``path`` itself, or, when SimpleITK cannot take its name, a link to it (a copy where links are not allowed)
    under a temporary UTF-8 name with the same suffixes, removed afterwards."""
    if is_safe_for_itk(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="coronary-calcium-")
    name = "input" + _suffixes(os.path.basename(path))
    link = os.path.join(folder, name)
    try:
        try:
            os.symlink(os.path.abspath(path), link)
        except OSError:
            shutil.copyfile(path, link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _suffixes(name: str) -> str:
    lower = name.encode("utf-8", "surrogateescape").decode("ascii", "replace").lower()
    for compound in (".nii.gz", ".seg.nrrd"):
        if lower.endswith(compound):
            return compound
    suffix = os.path.splitext(lower)[1]
    return suffix if suffix.isascii() and "\ufffd" not in suffix else ""


def read_csv_rows(path: str, what: str = "manifest"):
    """(column names, rows as dicts) of a UTF-8 CSV (a byte-order mark is allowed); a file in another encoding, or
    one that is not a regular file, is refused with a one-line InputError."""
    import csv

    if not os.path.isfile(path):
        raise InputError("%s %s is not a regular file" % (what, path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            return list(reader.fieldnames or []), list(reader)
    except UnicodeDecodeError as error:
        raise InputError("%s %s is not UTF-8 text (byte 0x%02x at position %d): save it as UTF-8 CSV"
                         % (what, path, error.object[error.start], error.start)) from None
    except csv.Error as error:
        raise InputError("%s %s is not a readable CSV: %s" % (what, path, error)) from None


DEBUG_ENV = "CORONARY_CALCIUM_DEBUG"  # set by `coronary-calcium --debug`: native diagnostics go to the terminal


@contextmanager
def native_diagnostics_captured() -> Iterator[None]:
    """Keep what ITK, GDCM and other C++ code print on the process's stderr (file descriptor 2) off the terminal
    while the block runs, and turn ITK's warnings off; the user sees our one-line error instead. With
    ``$CORONARY_CALCIUM_DEBUG`` set (``--debug``) nothing is captured."""
    import sys

    if os.environ.get(DEBUG_ENV):
        yield
        return
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no file descriptor 2 (embedded interpreters)
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


@contextmanager
def itk_writable_path(path: str) -> Iterator[str]:
    """``path`` itself, or, when SimpleITK cannot take its name, a temporary UTF-8 name with the same suffixes whose
    file is moved to ``path`` when the block succeeds (use inside ``atomic_path``: the move lands on its temporary)."""
    if is_safe_for_itk(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="coronary-calcium-")
    try:
        stand_in = os.path.join(folder, "output" + _suffixes(os.path.basename(path)))
        yield stand_in
        shutil.move(stand_in, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
