"""The core's layout: a package per pipeline stage, each naming its public API, and no import cycle between modules,
counting imports inside functions too (a cycle there is still a tangle, only a later one)."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import pytest

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "CoronaryCalcium", "CoronaryCalciumLib")
STAGES = ("io", "region", "scoring", "features", "features.embeddings", "classifier", "reporting", "review", "cli")


def _modules():
    found = {}
    for folder, _, names in os.walk(LIB):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, os.path.dirname(LIB))[:-3].replace(os.sep, ".")
                found[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


def _imports(module: str, path: str, modules) -> set:
    """Core modules that ``module`` imports anywhere in its source (top level, functions, TYPE_CHECKING blocks)."""
    is_package = path.endswith("__init__.py")
    targets = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = target + "." + alias.name
                targets.add(full if full in modules else target)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
    return {t for t in targets if t in modules and t != module}


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_no_two_core_modules_import_each_other_even_inside_functions():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_made_by_a_function_level_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_package_names_a_public_api_that_resolves(stage):
    package = importlib.import_module("CoronaryCalciumLib." + stage)
    assert package.__doc__ and len(package.__doc__) > 40
    assert package.__all__
    for name in package.__all__:
        assert getattr(package, name) is not None, name


def test_importing_a_stage_package_imports_none_of_its_heavy_modules():
    code = ("import sys; import CoronaryCalciumLib.features, CoronaryCalciumLib.classifier, CoronaryCalciumLib.region, "
            "CoronaryCalciumLib.reporting, CoronaryCalciumLib.scoring, CoronaryCalciumLib.io; "
            "heavy = [m for m in ('radiomics', 'sklearn', 'SimpleITK', 'matplotlib', 'torch', 'pydicom') if m in sys.modules]; "
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(LIB))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# Loaded = executed: a module ``_lazy.lazy_module`` registered but nobody used yet has no submodules loaded.
_HEAVY_LOADED = ("import sys; "
                 "heavy = ('radiomics', 'sklearn', 'SimpleITK', 'pydicom', 'torch', 'matplotlib', 'scipy.ndimage.', "
                 "'scipy.stats.', 'scipy.spatial.'); "
                 "print(','.join(sorted({h for h in heavy for m in sys.modules if m == h or m.startswith(h)})))")


@pytest.mark.parametrize("module", ["CoronaryCalciumLib.result", "CoronaryCalciumLib.cli.main",
                                    "CoronaryCalciumLib.scoring.agatston", "CoronaryCalciumLib.io.ct"])
def test_the_result_type_and_the_command_line_entry_load_no_heavy_library(module):
    code = "import %s; %s" % (module, _HEAVY_LOADED)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(LIB))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_building_the_command_line_parser_loads_no_heavy_library():
    code = "from CoronaryCalciumLib.cli.main import build_parser; build_parser(); " + _HEAVY_LOADED
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(LIB))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_a_lazily_imported_library_loads_on_first_use():
    code = "import CoronaryCalciumLib.scoring.agatston as a; a.ndimage.label; " + _HEAVY_LOADED
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(LIB))
    assert result.returncode == 0, result.stderr
    assert "scipy.ndimage." in result.stdout
