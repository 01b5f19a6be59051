"""The Slicer module file without Slicer: it parses as Slicer 5.8's Python 3.9, imports against stand-ins of the Slicer
names, every ``self.ui.<name>`` it uses is a widget of the .ui file, the parameter-node bindings in the .ui fit the
parameter types, every signal it connects exists, and the Logic makes no GUI call.

What these tests cannot show: that Slicer renders the panel or runs the module. See the README, section Slicer module.
"""

from __future__ import annotations

import ast
import enum
import os
import re
import sys
import xml.etree.ElementTree as ET

import pytest

from support import slicer_standins

MODULE_FILE = slicer_standins.MODULE_FILE
MODULE_DIR = slicer_standins.MODULE_DIR
UI_FILE = os.path.join(MODULE_DIR, "Resources", "UI", "CoronaryCalcium.ui")
LIB_DIR = os.path.join(MODULE_DIR, "CoronaryCalciumLib")

# Slicer and CTK widget classes the .ui may use, with their signals the module may connect (from Slicer's and CTK's
# headers: qMRMLSegmentSelectorWidget.h, qMRMLNodeComboBox.h, qMRMLTableView.h, ctkCollapsibleButton.h).
SLICER_WIDGETS = {
    "qMRMLWidget": {"mrmlSceneChanged(vtkMRMLScene*)"},
    "qMRMLNodeComboBox": {"currentNodeChanged(vtkMRMLNode*)", "currentNodeChanged(bool)", "nodeAdded(vtkMRMLNode*)"},
    "qMRMLSegmentSelectorWidget": {"currentNodeChanged(vtkMRMLNode*)", "currentSegmentChanged(QString)",
                                   "segmentSelectionChanged(QStringList)"},
    "qMRMLTableView": {"selectionChanged()"},
    "ctkCollapsibleButton": {"contentsCollapsed(bool)"},
}
# Widget class -> parameter types that Slicer's parameterNodeWrapper GUI connectors bind to it (guiConnectors.py).
BINDABLE = {
    "QCheckBox": (bool,), "ctkCheckBox": (bool,),
    "QDoubleSpinBox": (float,), "ctkSliderWidget": (float,), "ctkDoubleSpinBox": (float,),
    "QSpinBox": (int,), "QSlider": (int,),
    "QLineEdit": (str,),
}


def _source() -> str:
    with open(MODULE_FILE, encoding="utf-8") as stream:
        return stream.read()


def _ui_widgets():
    """{name: class} of every widget in the .ui, and the parsed tree."""
    tree = ET.parse(UI_FILE)
    return {w.get("name"): w.get("class") for w in tree.getroot().iter("widget")}, tree


from support.slicer_standins.fixtures import _slicer_standins, module  # noqa: F401,E402  (pytest fixtures)


def _python_files():
    files = [MODULE_FILE]
    for folder, _dirs, names in os.walk(LIB_DIR):
        files += [os.path.join(folder, name) for name in names if name.endswith(".py")]
    return sorted(files)


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: os.path.relpath(p, MODULE_DIR))
def test_parses_as_python_3_9(path):
    """Slicer 5.8 runs Python 3.9: no newer syntax (match, parenthesised with-items, except*), and no `X | Y` unions
    in annotations Python evaluates at runtime (files without `from __future__ import annotations`)."""
    with open(path, encoding="utf-8") as stream:
        source = stream.read()
    tree = ast.parse(source, filename=path, feature_version=(3, 9))
    lazy = any(isinstance(node, ast.ImportFrom) and node.module == "__future__" and
               any(alias.name == "annotations" for alias in node.names) for node in tree.body)
    if lazy:
        return
    annotations = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations += [a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation]
            annotations += [node.returns] if node.returns else []
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    unions = [ast.unparse(a) for a in annotations if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr)
                                                         for n in ast.walk(a))]
    assert not unions, "%s: `X | Y` annotations fail at import on Python 3.9: %s" % (path, unions)


def test_parameter_node_annotations_evaluate_on_python_3_9(module):
    """Slicer's parameterNodeWrapper evaluates the annotations (typing.get_type_hints), so even with the __future__
    import they must not use `X | Y` (3.10+)."""
    tree = ast.parse(_source())
    node_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CoronaryCalciumParameterNode")
    texts = [ast.unparse(n.annotation) for n in node_class.body if isinstance(n, ast.AnnAssign)]
    assert texts and not [t for t in texts if "|" in t], texts


def test_module_imports_and_describes_itself(module):
    for name in ("CoronaryCalcium", "CoronaryCalciumWidget", "CoronaryCalciumLogic", "CoronaryCalciumTest",
                 "CoronaryCalciumParameterNode"):
        assert hasattr(module, name), name
    descriptor = module.CoronaryCalcium(None)
    parent = descriptor.parent
    assert parent.title == "Coronary Calcium"
    assert parent.categories == ["Cardiac"]
    assert "not for diagnosis" in parent.helpText.lower()
    assert issubclass(module.CoronaryCalciumTest, __import__("unittest").TestCase)


def test_every_ui_name_used_by_the_module_is_in_the_ui_file():
    names, _tree = _ui_widgets()
    used = set(re.findall(r"self\.ui\.(\w+)", _source()))
    assert used, "the module uses no self.ui names: the regex is broken"
    missing = sorted(used - set(names))
    assert not missing, "self.ui names missing from CoronaryCalcium.ui: %s" % missing


def test_ui_parameter_bindings_match_parameter_types(module):
    """Each widget with a SlicerParameterName is bound by Slicer's wrapper: the parameter must exist and have a type
    that Slicer's GUI connector for that widget class accepts (a combo box needs an Enum or a Choice annotation; a node
    selector needs the node class it lists)."""
    parameters = module.CoronaryCalciumParameterNode.standinParameters
    _names, tree = _ui_widgets()
    bound = {}
    for widget in tree.getroot().iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[prop.findtext("string")] = widget
    assert len(bound) >= 10
    for parameter, widget in bound.items():
        assert parameter in parameters, "the .ui binds %s, which the parameter node lacks" % parameter
        base, extras, _default = parameters[parameter]
        cls = widget.get("class")
        if cls in ("QComboBox", "ctkComboBox"):
            is_enum = isinstance(base, type) and issubclass(base, enum.Enum)
            has_choice = any(type(e).__name__ == "Choice" for e in extras)
            assert is_enum or has_choice, "%s: a combo box needs an Enum or Choice parameter" % parameter
        elif cls == "qMRMLNodeComboBox":
            node_types = [s.text for s in widget.iter("string") if (s.text or "").startswith("vtkMRML")]
            assert node_types == [base.__name__], "%s lists %s, parameter is %s" % (parameter, node_types, base)
        else:
            assert cls in BINDABLE, "%s: Slicer has no connector for %s" % (parameter, cls)
            assert base in BINDABLE[cls], "%s: %s cannot hold %s" % (parameter, cls, base)


def test_enum_choices_have_distinct_labels(module):
    for choices in (module.RegionSource, module.TubeVoltage):
        labels = [member.label() for member in choices]
        assert all(labels) and len(set(labels)) == len(labels), labels


def test_ui_widget_classes_are_qt_or_declared_slicer_widgets():
    from PySide6 import QtWidgets

    names, tree = _ui_widgets()
    declared = {c.findtext("class"): c.findtext("header") for c in tree.getroot().iter("customwidget")}
    for name, cls in names.items():
        if cls in SLICER_WIDGETS:
            assert declared.get(cls) == cls + ".h", "%s (%s) is not declared in <customwidgets>" % (name, cls)
        else:
            assert hasattr(QtWidgets, cls), "%s has unknown class %s" % (name, cls)


def test_every_mrml_widget_receives_the_scene():
    """MRML widgets show nothing until they get the scene: the .ui must connect mrmlSceneChanged to each of them."""
    names, tree = _ui_widgets()
    receivers = {c.findtext("receiver") for c in tree.getroot().iter("connection")
                 if c.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
                 and c.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"}
    mrml = {name for name, cls in names.items() if cls.startswith("qMRML") and cls != "qMRMLWidget"}
    assert mrml and mrml <= receivers, sorted(mrml - receivers)


def test_connected_signals_exist():
    """Every `self.ui.X.connect("signal(args)", ...)` names a signal that X's class has (Qt classes via PySide6's meta
    objects, Slicer classes via the list from their headers). A misspelt signal is silently never emitted in Slicer."""
    from PySide6 import QtWidgets

    names, _tree = _ui_widgets()
    connections = re.findall(r'self\.ui\.(\w+)\.connect\("([^"]+)"', _source())
    assert len(connections) >= 8
    for widget, signal in connections:
        cls = names[widget]
        if cls in SLICER_WIDGETS:
            assert signal in SLICER_WIDGETS[cls], "%s (%s) has no signal %s" % (widget, cls, signal)
            continue
        meta = getattr(QtWidgets, cls).staticMetaObject
        signatures = {bytes(meta.method(i).methodSignature()).decode() for i in range(meta.methodCount())}
        assert signal in signatures, "%s (%s) has no signal %s" % (widget, cls, signal)


def test_qt_names_used_exist_in_qt():
    """`qt.X` (and `qt.X.Y`) names used by the Widget exist in Qt (checked against PySide6)."""
    from PySide6 import QtCore, QtGui, QtWidgets

    used = set(re.findall(r"\bqt\.(\w+(?:\.\w+)?)", _source()))
    assert used
    for dotted in used:
        head, _, tail = dotted.partition(".")
        owner = next((getattr(m, head) for m in (QtWidgets, QtCore, QtGui) if hasattr(m, head)), None)
        assert owner is not None, "qt.%s is not a Qt name" % head
        if tail:
            assert hasattr(owner, tail), "qt.%s has no %s" % (head, tail)


def test_slicer_util_and_class_names_used_exist(module):
    """`slicer.util.X` and `slicer.vtkMRML*`/`slicer.vtkSegment` names exist in the stand-in, which holds only names
    checked against Slicer's sources (5.8 and main)."""
    import slicer

    source = _source()
    for name in set(re.findall(r"slicer\.util\.(\w+)", source)):
        assert hasattr(slicer.util, name), "slicer.util.%s is not a Slicer function" % name
    for name in set(re.findall(r"slicer\.(vtk\w+)", source)):
        assert hasattr(slicer, name), "slicer.%s is not modelled (check it exists in Slicer, then add it)" % name


GUI_CALLS = re.compile(r"\b(qt\.|ctk\.|self\.ui\b|processEvents|Display\(|mainWindow|delayDisplay|loadUI|"
                       r"setSliceViewerLayers|selectModule|slicer\.util\.restart|QMessageBox|QFileDialog)")


def test_logic_makes_no_gui_calls():
    """The Logic runs from the Python console and in batch: no Qt, no dialogs, no event processing. The helpers it
    calls at module level are checked too."""
    tree = ast.parse(_source())
    logic = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CoronaryCalciumLogic")
    helpers = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    offenders = []
    for node in [logic] + helpers:
        text = ast.get_source_segment(_source(), node)
        for match in GUI_CALLS.finditer(text):
            offenders.append("%s: %s" % (getattr(node, "name", "?"), match.group(0)))
    assert not offenders, offenders


def test_logic_delegates_to_the_core():
    """process() builds its result with the core's pipeline and its one scoring-settings builder (no scoring code in
    the module)."""
    tree = ast.parse(_source())
    logic = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CoronaryCalciumLogic")
    imported = {(n.module, a.name) for n in ast.walk(logic) if isinstance(n, ast.ImportFrom) for a in n.names}
    for needed in (("CoronaryCalciumLib.pipeline", "assess"), ("CoronaryCalciumLib.scoring.agatston", "scoring_settings"),
                   ("CoronaryCalciumLib.io.ct", "ct_from_array"), ("CoronaryCalciumLib.region.mask", "region_from_array"),
                   ("CoronaryCalciumLib.classifier.step", "classifier_step"), ("CoronaryCalciumLib.reporting.case_files", "write_case_outputs")):
        assert needed in imported, needed
    source = _source()
    for scoring_word in ("ndimage", "searchsorted", "bincount"):
        assert scoring_word not in source, "the module computes scores itself (%s); the core must" % scoring_word


# core modules the module file may import at start-up: they need nothing beyond Python's standard library
START_UP_CORE = {"CoronaryCalciumLib.progress", "CoronaryCalciumLib.region.source"}


def test_core_is_imported_lazily():
    """Slicer imports the module file at start-up, before any dependency is installed: the core (and what it needs
    beyond Slicer's numpy) must be imported inside functions, never at module level, except the dependency-free
    modules of START_UP_CORE."""
    tree = ast.parse(_source())
    top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = [a.name for n in top_level if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module or "" for n in top_level if isinstance(n, ast.ImportFrom)]
    assert not [m for m in modules if m.startswith("CoronaryCalciumLib") and m not in START_UP_CORE], modules
    modules = [m for m in modules if m not in START_UP_CORE]
    assert set(m.split(".")[0] for m in modules) <= {"__future__", "enum", "importlib", "logging", "os", "dataclasses",
                                                      "typing", "numpy", "vtk", "slicer"}, modules


@pytest.mark.parametrize("name", sorted(START_UP_CORE))
def test_core_modules_imported_at_start_up_need_only_the_standard_library(name):
    path = os.path.join(MODULE_DIR, *name.split(".")) + ".py"
    tree = ast.parse(open(path, encoding="utf-8").read())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level]
    assert {m.split(".")[0] for m in imported} <= set(sys.stdlib_module_names) | {"__future__"}, imported
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level], "imports other core modules"


@pytest.mark.parametrize("path", ["Resources/CoronaryCalcium.png", "CoronaryCalcium/Resources/Icons/CoronaryCalcium.png"])
def test_icons_are_128_pixel_pictures(path):
    import numpy as np
    from PIL import Image

    image = Image.open(os.path.join(slicer_standins.REPO_DIR, path))
    assert image.size == (128, 128)
    pixels = np.asarray(image.convert("RGB"), dtype=float)
    assert pixels.std() > 20, "the icon is (nearly) blank"
