"""The module's CMakeLists lists every file Slicer must package, and nothing that is absent.

Slicer's build copies only listed files into the extension, so an unlisted core module imports in a source checkout and
fails for Extension Manager users. The file lists here are built independently of tools/update_module_cmake.py (which
writes them), by walking the folders.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_DIR = os.path.join(REPO, "CoronaryCalcium")
CMAKE = os.path.join(MODULE_DIR, "CMakeLists.txt")


def _cmake_list(name: str):
    with open(CMAKE, encoding="utf-8") as stream:
        text = stream.read()
    match = re.search(r"set\(%s\s+(.*?)\)" % name, text, re.S)
    assert match, "CMakeLists has no set(%s ...)" % name
    items = [line.strip() for line in match.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    return [item.replace("${MODULE_NAME}", "CoronaryCalcium") for item in items]


def _walk(root: str, base: str):
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and not name.endswith((".pyc", ".pyo", ".tmp", "~")):
                found.add(os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/"))
    return found


def test_every_python_file_of_the_module_and_core_is_listed():
    listed = set(_cmake_list("MODULE_PYTHON_SCRIPTS"))
    on_disk = {"CoronaryCalcium.py"} | {p for p in _walk(os.path.join(MODULE_DIR, "CoronaryCalciumLib"), MODULE_DIR)
                                        if p.endswith(".py")}
    assert "CoronaryCalciumLib/scoring/agatston.py" in on_disk
    missing = sorted(on_disk - listed)
    assert not missing, ("not in MODULE_PYTHON_SCRIPTS of CoronaryCalcium/CMakeLists.txt (Slicer would not package "
                         "them): %s. Run: python tools/update_module_cmake.py" % missing)


def test_every_resource_is_listed():
    listed = set(_cmake_list("MODULE_PYTHON_RESOURCES"))
    on_disk = _walk(os.path.join(MODULE_DIR, "Resources"), MODULE_DIR)
    on_disk |= {p for p in _walk(os.path.join(MODULE_DIR, "CoronaryCalciumLib"), MODULE_DIR) if not p.endswith(".py")}
    assert {"Resources/UI/CoronaryCalcium.ui", "Resources/Icons/CoronaryCalcium.png"} <= on_disk
    missing = sorted(on_disk - listed)
    assert not missing, "not in MODULE_PYTHON_RESOURCES: %s. Run: python tools/update_module_cmake.py" % missing


def test_every_shipped_model_file_is_listed():
    """Model files, the trust registry and model cards go beside the module (scripts that make them do not)."""
    listed = set(_cmake_list("MODULE_MODEL_FILES"))
    models = os.path.join(REPO, "models")
    on_disk = {p for p in (_walk(models, REPO) if os.path.isdir(models) else set()) if not p.endswith(".py")}
    missing = sorted(on_disk - listed)
    assert not missing, "not in MODULE_MODEL_FILES: %s. Run: python tools/update_module_cmake.py" % missing


@pytest.mark.parametrize("name,base", [("MODULE_PYTHON_SCRIPTS", MODULE_DIR), ("MODULE_PYTHON_RESOURCES", MODULE_DIR),
                                       ("MODULE_MODEL_FILES", REPO)])
def test_every_listed_file_exists(name, base):
    absent = [path for path in _cmake_list(name) if not os.path.isfile(os.path.join(base, path))]
    assert not absent, "%s lists files that do not exist (the Slicer build would fail): %s" % (name, absent)


def test_lists_feed_the_scripted_module_macro():
    with open(CMAKE, encoding="utf-8") as stream:
        text = stream.read()
    macro = re.search(r"slicerMacroBuildScriptedModule\((.*?)\)", text, re.S).group(1)
    assert "SCRIPTS ${MODULE_PYTHON_SCRIPTS}" in macro and "RESOURCES ${MODULE_PYTHON_RESOURCES}" in macro
    assert re.search(r"set\(MODULE_NAME CoronaryCalcium\)", text)
    assert "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text
    assert "foreach(model_file IN LISTS MODULE_MODEL_FILES)" in text


def test_update_script_agrees_with_the_file():
    """The generator's --check passes exactly when the lists are current (it is what the failure messages suggest)."""
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", "update_module_cmake.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_update_script_detects_a_new_file(tmp_path, monkeypatch):
    """A file added to the core makes the lists stale, and regenerating lists it."""
    sys.path.insert(0, os.path.join(REPO, "tools"))
    try:
        import update_module_cmake as tool
    finally:
        sys.path.pop(0)
    module_dir = tmp_path / "CoronaryCalcium"
    (module_dir / "CoronaryCalciumLib" / "sub").mkdir(parents=True)
    (module_dir / "Resources" / "UI").mkdir(parents=True)
    for path in ("CoronaryCalcium.py", "CoronaryCalciumLib/__init__.py", "CoronaryCalciumLib/sub/new_module.py",
                 "CoronaryCalciumLib/params.yaml", "Resources/UI/CoronaryCalcium.ui"):
        (module_dir / path).write_text("x")
    (module_dir / "CoronaryCalciumLib" / "__pycache__").mkdir()
    (module_dir / "CoronaryCalciumLib" / "__pycache__" / "x.cpython-311.pyc").write_text("x")
    monkeypatch.setattr(tool, "REPO", str(tmp_path))
    monkeypatch.setattr(tool, "MODULE_DIR", str(module_dir))
    lists = tool.expected_lists()
    assert lists["MODULE_PYTHON_SCRIPTS"] == ["CoronaryCalcium.py", "CoronaryCalciumLib/__init__.py",
                                              "CoronaryCalciumLib/sub/new_module.py"]
    assert lists["MODULE_PYTHON_RESOURCES"] == ["Resources/UI/CoronaryCalcium.ui", "CoronaryCalciumLib/params.yaml"]
    stale = tool.render_block("MODULE_PYTHON_SCRIPTS", ["CoronaryCalcium.py"])
    assert "new_module.py" in tool.updated_text(stale + "\n" + tool.render_block("MODULE_PYTHON_RESOURCES", []) + "\n"
                                                + tool.render_block("MODULE_MODEL_FILES", []))
