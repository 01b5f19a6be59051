#!/usr/bin/env python3
"""Rewrite the generated file lists in CoronaryCalcium/CMakeLists.txt from the files on disk.

Slicer packages only the files a scripted module lists, so a Python file missing from the list is a module that works in
a source checkout and fails in the Extension Manager build. This script lists:

- MODULE_PYTHON_SCRIPTS: CoronaryCalcium.py and every .py file of the core package CoronaryCalciumLib/;
- MODULE_PYTHON_RESOURCES: every file under CoronaryCalcium/Resources/ and every non-Python file of CoronaryCalciumLib/
  (parameter files, data);
- MODULE_MODEL_FILES: every file under models/ at the repository root except Python scripts (the shipped classifier
  artefacts, registry and model cards), which the CMakeLists copies beside the module, where CoronaryCalciumLib looks
  for them.

Run it after adding or removing files: ``python tools/update_module_cmake.py`` (``--check`` only reports, exit 1 when
stale). Testing/test_slicer_cmake.py fails while the lists are stale.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_DIR = os.path.join(REPO, "CoronaryCalcium")
CMAKE_FILE = os.path.join(MODULE_DIR, "CMakeLists.txt")
MODULE_NAME = "CoronaryCalcium"
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp", "~")


def _files_under(root: str, base: str) -> List[str]:
    """Files under ``root`` as paths relative to ``base`` with forward slashes, sorted; caches and hidden files skipped."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in files:
            if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES):
                continue
            found.append(os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/"))
    return sorted(found)


def expected_lists() -> Dict[str, List[str]]:
    library = _files_under(os.path.join(MODULE_DIR, "CoronaryCalciumLib"), MODULE_DIR)
    scripts = ["%s.py" % MODULE_NAME] + [path for path in library if path.endswith(".py")]
    resources = _files_under(os.path.join(MODULE_DIR, "Resources"), MODULE_DIR)
    resources += [path for path in library if not path.endswith(".py")]
    models_dir = os.path.join(REPO, "models")
    models = [path for path in (_files_under(models_dir, REPO) if os.path.isdir(models_dir) else [])
              if not path.endswith(".py")]  # training scripts are not runtime artefacts
    return {"MODULE_PYTHON_SCRIPTS": scripts, "MODULE_PYTHON_RESOURCES": resources, "MODULE_MODEL_FILES": models}


def render_block(name: str, paths: List[str]) -> str:
    lines = ["# BEGIN GENERATED %s (tools/update_module_cmake.py)" % name, "set(%s" % name]
    lines += ["  %s" % path for path in paths]
    lines += ["  )", "# END GENERATED %s" % name]
    return "\n".join(lines)


BLOCK = re.compile(r"# BEGIN GENERATED (\w+)[^\n]*\n.*?# END GENERATED \1", re.S)


def updated_text(text: str) -> str:
    lists = expected_lists()
    seen = set()

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in lists:
            raise SystemExit("unknown generated block %s in %s" % (name, CMAKE_FILE))
        seen.add(name)
        return render_block(name, lists[name])

    result = BLOCK.sub(replace, text)
    missing = set(lists) - seen
    if missing:
        raise SystemExit("%s lacks the generated block(s) %s" % (CMAKE_FILE, ", ".join(sorted(missing))))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the lists are up to date")
    args = parser.parse_args(argv)
    with open(CMAKE_FILE, encoding="utf-8") as stream:
        text = stream.read()
    new_text = updated_text(text)
    if new_text == text:
        print("%s is up to date" % os.path.relpath(CMAKE_FILE, REPO))
        return 0
    if args.check:
        print("%s is stale: run python tools/update_module_cmake.py" % os.path.relpath(CMAKE_FILE, REPO))
        return 1
    with open(CMAKE_FILE, "w", encoding="utf-8") as stream:
        stream.write(new_text)
    print("updated %s" % os.path.relpath(CMAKE_FILE, REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
