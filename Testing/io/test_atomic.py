"""Atomic outputs: whole or absent, and with the permissions any other new file would get."""

from __future__ import annotations

import os
import stat

import pytest

from CoronaryCalciumLib.io.atomic import atomic_path, write_text_atomic


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_output_gets_the_permissions_of_a_new_file_not_the_temporary_files_0600(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = tmp_path / "summary.csv"
    write_text_atomic(str(written), "id,agatston\n")
    assert written.read_text() == "id,agatston\n"
    assert _mode(written) == _mode(plain)


def test_a_replaced_output_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text_atomic(str(target), "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as temporary:
            with open(temporary, "w") as stream:
                stream.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["result.json"]
