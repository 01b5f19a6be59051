"""Glue to run CoronaryCalcium.py on Slicer's real libraries (``make test-slicer``, its own venv ``.venv-slicer``).

Real: the ``slicer-core`` wheel (MRML scene, nodes, storage nodes, module logics, Slicer's ``slicer.util``) and, from
``../shared/slicer-python`` (``CORONARY_CALCIUM_SLICER_PYTHON``), Slicer's pure-Python ``ScriptedLoadableModule``,
``parameterNodeWrapper``, ``i18n`` and ``packaging`` and its terminology lists. Stand-ins only for what needs Qt or the
application: import shims for ``qt`` and ``ctk`` whose attributes are inert classes, the five qMRML widget classes the
parameter-node wrapper's GUI connectors subclass at import, and ``slicer.app``.

    scene = slicer_real.install()          # once per process; returns slicer.mrmlScene
    module = slicer_real.load_module()     # CoronaryCalcium.py on the real libraries
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import sys
import tempfile
import types
from typing import Optional

TESTING_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(TESTING_DIR)
MODULE_FILE = os.path.join(REPO_DIR, "CoronaryCalcium", "CoronaryCalcium.py")
DEFAULT_SLICER_PYTHON = os.path.join(os.path.dirname(REPO_DIR), "shared", "slicer-python")
QMRML_WIDGETS = ("qMRMLNodeComboBox", "qMRMLRangeWidget", "qMRMLSliderWidget", "qMRMLSpinBox", "qSlicerWidget",
                 "qMRMLSegmentSelectorWidget", "qMRMLTableView")
# module name in slicer.modules -> logic class in slicer-core
LOGICS = {"colors": "vtkSlicerColorLogic", "segmentations": "vtkSlicerSegmentationsModuleLogic", "volumes": "vtkSlicerVolumesLogic",
          "terminologies": "vtkSlicerTerminologiesModuleLogic", "tables": "vtkSlicerTablesLogic",
          "plots": "vtkSlicerPlotsLogic",
          "subjecthierarchy": "vtkSlicerSubjectHierarchyModuleLogic", "transforms": "vtkSlicerTransformLogic"}

_module = None


def tests_to_ignore(installed: bool, required_by: str, missing: str, make_target: str, venv: str) -> list:
    """A conftest's ``collect_ignore_glob``: nothing when ``installed``; else all its tests, or an error when the
    environment variable ``required_by`` is set (under its make target a missing library fails the run)."""
    if installed:
        return []
    if os.environ.get(required_by):
        raise RuntimeError("%s is set but %s is not installed in this Python (run `make %s`, which makes %s)"
                           % (required_by, missing, make_target, venv))
    return ["test_*.py"]


def slicer_core_version() -> Optional[str]:
    """The installed slicer-core version, None when it is not installed (without importing anything)."""
    try:
        return importlib.metadata.version("slicer-core")
    except importlib.metadata.PackageNotFoundError:
        return None


def slicer_python_dir() -> str:
    return os.environ.get("CORONARY_CALCIUM_SLICER_PYTHON") or DEFAULT_SLICER_PYTHON


class _Inert:
    """Any Qt/CTK class: constructible, subclassable, every attribute another inert object."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return _Inert()

    def __call__(self, *args, **kwargs):
        return _Inert()


def _shim(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    classes = {}

    def __getattr__(attribute):  # module-level attribute lookup: one inert class per name
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return classes.setdefault(attribute, type(attribute, (_Inert,), {}))

    module.__getattr__ = __getattr__
    return module


class _Module:
    """``slicer.modules.<name>``: gives the real module logic."""

    def __init__(self, logic):
        self._logic = logic

    def logic(self):
        return self._logic


class _App:
    """``slicer.app``: the application is not in slicer-core; the module only asks it to process events."""

    commandOptions = types.SimpleNamespace(noMainWindow=True)

    def __init__(self, applicationLogic):
        self._applicationLogic = applicationLogic  # kept alive here: the module logics hold it by a raw pointer

    def applicationLogic(self):
        return self._applicationLogic

    def processEvents(self, *args) -> None:
        pass

    @staticmethod
    def translate(context: str, text: str) -> str:  # slicer.i18n's translator: no translations loaded
        return text


def _terminology_folder(source: str) -> str:
    """Slicer's Terminologies logic loads only ``*.term.json`` files: link the lists under such names."""
    folder = tempfile.mkdtemp(prefix="slicer-terminologies-")
    for path in glob.glob(os.path.join(source, "*.json")):
        os.symlink(path, os.path.join(folder, os.path.basename(path)[:-len(".json")] + ".term.json"))
    return folder


def install():
    """Set up the real slicer package (scene, module logics, Slicer's pure-Python modules, shims); idempotent.

    :raises RuntimeError: when slicer-core or ../shared/slicer-python is missing.
    """
    if slicer_core_version() is None:
        raise RuntimeError("slicer-core is not installed in this Python (make test-slicer makes .venv-slicer)")
    slicer_python = slicer_python_dir()
    if not os.path.isdir(os.path.join(slicer_python, "slicer", "parameterNodeWrapper")):
        raise RuntimeError("Slicer's pure-Python modules not found in %s" % slicer_python)
    sys.modules.setdefault("qt", _shim("qt"))
    sys.modules.setdefault("ctk", _shim("ctk"))
    # the real slicer package, imported before its __path__ is extended (see ../shared/slicer-python/README.md) and
    # without Testing/ on sys.path: its namespace lookup would take Testing/slicer/ (the stand-in tests) as part of it
    hidden = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) == TESTING_DIR]
    for entry in hidden:
        sys.path.remove(entry)
    try:
        import slicer
    finally:
        sys.path[:0] = hidden

    if getattr(slicer, "_coronaryCalciumGlue", False):
        return slicer.mrmlScene
    slicer.__path__.append(os.path.join(slicer_python, "slicer"))
    for name in QMRML_WIDGETS:
        setattr(slicer, name, type(name, (_Inert,), {}))
    scene = slicer.vtkMRMLScene()
    slicer.mrmlScene = scene
    applicationLogic = slicer.vtkSlicerApplicationLogic()
    applicationLogic.SetMRMLScene(scene)
    slicer.app = _App(applicationLogic)
    slicer.modules = types.SimpleNamespace()
    logics = {}
    terminologies = _terminology_folder(os.path.join(slicer_python, "terminologies"))
    for moduleName, className in LOGICS.items():
        logic = getattr(slicer, className)()
        if moduleName == "terminologies":
            # its default lists are read, on SetMRMLScene, from <share dir>/<list name>.term.json
            logic.SetModuleShareDirectory(terminologies)
            logic.SetUserContextsPath(tempfile.mkdtemp(prefix="slicer-user-terminologies-"))
        logic.SetMRMLApplicationLogic(applicationLogic)
        logic.SetMRMLScene(scene)
        logics[moduleName] = logic
        setattr(slicer.modules, moduleName, _Module(logic))
        if moduleName == "colors":  # first: the volume reader's display nodes need it (it crashes without one)
            applicationLogic.SetColorLogic(logic)
            applicationLogic.SetModuleLogic("Colors", logic)
    slicer._coronaryCalciumGlue = True
    return scene


def load_module():
    """CoronaryCalcium.py imported on the real libraries (once per process)."""
    global _module
    if _module is None:
        from support.module_file import import_module_file

        install()
        _module = import_module_file(MODULE_FILE)
    return _module


def node_counts(scene) -> dict:
    """Number of nodes per class in the scene."""
    counts: dict = {}
    for index in range(scene.GetNumberOfNodes()):
        name = scene.GetNthNode(index).GetClassName()
        counts[name] = counts.get(name, 0) + 1
    return counts


def read_volume(path: str, labelmap: bool = False):
    """A volume node read by Slicer's own volume reader (vtkSlicerVolumesLogic.AddArchetypeVolume)."""
    import slicer

    name = os.path.basename(path).split(".")[0]
    node = slicer.modules.volumes.logic().AddArchetypeVolume(path, name, 1 if labelmap else 0)
    if node is None:
        raise RuntimeError("Slicer's volume reader could not read %s" % path)
    return node


def segmentation_from_labelmap_file(path: str, name: str = "mask"):
    """A segmentation imported from a plain labelmap file, as Slicer's 'import labelmap' does (segments Label_N)."""
    import slicer

    labelmap = read_volume(path, labelmap=True)
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    if not slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelmap, segmentation):
        raise RuntimeError("could not import %s into a segmentation" % path)
    slicer.mrmlScene.RemoveNode(labelmap)
    return segmentation


def array_of(volumeNode):
    """A copy of a volume node's voxels, (k, j, i)."""
    import numpy as np
    import slicer

    return np.array(slicer.util.arrayFromVolume(volumeNode), copy=True)


def types_case(folder: str):
    """A phantom folder's CT and its exact coronary mask imported as a plain labelmap (segments Label_1..Label_4)."""
    ct = read_volume(os.path.join(folder, "image.nii.gz"))
    mask = os.path.join(folder, "coronary_exact.nii.gz")
    return types.SimpleNamespace(folder=folder, image=os.path.join(folder, "image.nii.gz"), mask=mask, ct=ct,
                                 segmentation=segmentation_from_labelmap_file(mask, "labelmap"))


def _nth_items(count: int, fill, make) -> list:
    """``count`` objects made by ``make()`` and filled by ``fill(index, item)`` (the terminology logic's Nth getters)."""
    items = []
    for index in range(count):
        item = make()
        fill(index, item)
        items.append(item)
    return items


def terminology_codes(contextName: str) -> set:
    """(category code, type code) pairs of a terminology context loaded in Slicer's real Terminologies logic."""
    import slicer

    logic = slicer.modules.terminologies.logic()
    pairs = set()
    categories = _nth_items(logic.GetNumberOfCategoriesInTerminology(contextName),
                            lambda index, item: logic.GetNthCategoryInTerminology(contextName, index, item),
                            slicer.vtkSlicerTerminologyCategory)
    for category in categories:
        types_ = _nth_items(logic.GetNumberOfTypesInTerminologyCategory(contextName, category),
                            lambda index, item: logic.GetNthTypeInTerminologyCategory(contextName, category, index, item),
                            slicer.vtkSlicerTerminologyType)
        pairs.update((category.GetCodeValue(), entryType.GetCodeValue()) for entryType in types_)
    return pairs


def region_codes(contextName: str) -> set:
    """Codes of the anatomic regions of a region context loaded in Slicer's real Terminologies logic."""
    import slicer

    logic = slicer.modules.terminologies.logic()
    return {region.GetCodeValue() for region in _nth_items(
        logic.GetNumberOfRegionsInRegionContext(contextName),
        lambda index, item: logic.GetNthRegionInRegionContext(contextName, index, item), slicer.vtkSlicerTerminologyType)}


def resolves(entryText: str) -> bool:
    """Whether a serialised terminology entry names a category and type that its context holds (and, when it names an
    anatomic region, a region its region context holds), in Slicer's loaded lists."""
    import slicer

    entry = slicer.vtkSlicerTerminologyEntry()
    if not slicer.modules.terminologies.logic().DeserializeTerminologyEntry(entryText, entry):
        return False
    pair = (entry.GetCategoryObject().GetCodeValue(), entry.GetTypeObject().GetCodeValue())
    if pair not in terminology_codes(entry.GetTerminologyContextName()):
        return False
    region = entry.GetRegionObject().GetCodeValue() if entry.GetRegionObject() else None
    return not region or region in region_codes(entry.GetRegionContextName())
