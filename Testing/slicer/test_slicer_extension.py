"""Extension packaging: the top-level CMakeLists has the metadata the Extensions Index checks, and the catalog entry
(CoronaryCalcium.json) fits the index's schema (v1.0.2) and agrees with the CMakeLists.

The patterns below restate what the Extensions Index's checker looks for (scripts/check_description_files.py of
Slicer/ExtensionsIndex); the network checks it also makes (URLs answer, GitHub topic) cannot run here.
"""

from __future__ import annotations

import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_URL = "https://raw.githubusercontent.com/Slicer/Slicer/main/Schemas/slicer-extension-catalog-entry-schema-v1.0.2.json#"
# Schema v1.0.2: required keys, and the type of every allowed key (additionalProperties: false).
SCHEMA_REQUIRED = ("$schema", "category", "scm_url")
SCHEMA_TYPES = {"$schema": str, "category": str, "scm_url": str, "scm_revision": str, "scm_type": str,
                "build_dependencies": list, "dicom_support_rule": str, "build_subdirectory": str, "enabled": bool,
                "tier": int}
RAW_PREFIX = "https://raw.githubusercontent.com/coronary-calcium/SlicerCoronaryCalcium/main/"


def _cmake() -> str:
    with open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8") as stream:
        return stream.read()


def _setting(name: str) -> str:
    match = re.search(r'set\(%s\s+"([^"]*)"' % name, _cmake())
    assert match, "CMakeLists.txt does not set %s" % name
    return match.group(1)


def _catalog() -> dict:
    with open(os.path.join(REPO, "CoronaryCalcium.json"), encoding="utf-8") as stream:
        return json.load(stream)


def test_project_name_is_the_extension_name():
    assert re.findall(r"project\s*\(\s*([^\s)]+)", _cmake(), re.I)[0] == "CoronaryCalcium"


def test_metadata_is_complete():
    assert _setting("EXTENSION_CATEGORY") == "Cardiac"
    assert _setting("EXTENSION_HOMEPAGE").startswith("https://github.com/")
    assert len(_setting("EXTENSION_DESCRIPTION")) > 60
    assert _setting("EXTENSION_CONTRIBUTORS")
    # the index's patterns: icon URL quoted, screenshot URLs quoted and closed without a space
    assert re.search(r'set\s*\(EXTENSION_ICONURL\s*"([^"]+)"[ ]*\)', _cmake())
    assert re.search(r'set\s*\(EXTENSION_SCREENSHOTURLS\s*"([^"]+)"\)', _cmake())
    assert "add_subdirectory(CoronaryCalcium)" in _cmake()
    assert "include(${Slicer_EXTENSION_CPACK})" in _cmake()


def test_icon_and_screenshot_urls_point_at_files_in_this_repository():
    urls = [_setting("EXTENSION_ICONURL")] + _setting("EXTENSION_SCREENSHOTURLS").split()
    for url in urls:
        assert url.startswith(RAW_PREFIX), url
        assert url.lower().endswith((".png", ".jpg", ".jpeg", ".gif")), url
        assert os.path.isfile(os.path.join(REPO, url[len(RAW_PREFIX):])), "%s is not in the repository" % url


def test_catalog_entry_fits_the_schema():
    entry = _catalog()
    for key in SCHEMA_REQUIRED:
        assert key in entry, key
    for key, value in entry.items():
        assert key in SCHEMA_TYPES, "key %s is not allowed by schema v1.0.2" % key
        assert isinstance(value, SCHEMA_TYPES[key]) and not (SCHEMA_TYPES[key] is int and isinstance(value, bool))
    assert entry["$schema"] == SCHEMA_URL
    assert 1 <= entry.get("tier", 1) <= 5
    with open(os.path.join(REPO, "CoronaryCalcium.json"), "rb") as stream:
        assert b"\r" not in stream.read(), "the index requires LF line endings"


def test_catalog_entry_agrees_with_cmakelists():
    entry = _catalog()
    assert entry["category"] == _setting("EXTENSION_CATEGORY")
    assert entry["scm_url"] == _setting("EXTENSION_HOMEPAGE")
    depends = _setting("EXTENSION_DEPENDS")
    assert entry["build_dependencies"] == ([] if depends == "NA" else depends.split())
    repository = entry["scm_url"].rstrip("/").split("/")[-1]
    assert repository.startswith("Slicer") and not "CoronaryCalcium".lower().startswith("slicer")


def test_licence_file_is_at_the_root():
    assert os.path.isfile(os.path.join(REPO, "LICENSE"))
