"""Stand-in for slicer.util: the functions CoronaryCalcium.py calls, with Slicer's names and signatures (5.8 and main).

Array and node functions behave like Slicer's on the stand-in nodes. Dialog and window functions exist so that the
module's references to them can be checked by name; the tests never reach them (they belong to the Widget), so they
raise if called. ``pip_install`` and ``saveNode`` record their calls instead of acting.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from typing import List

import numpy as np

import vtk

pipInstallCalls: List[str] = []
savedNodes: List[tuple] = []


def arrayFromVolume(volumeNode) -> np.ndarray:
    """The (k, j, i) voxel array of a volume node (a view, as in Slicer)."""
    return volumeNode._array


def updateVolumeFromArray(volumeNode, narray: np.ndarray) -> None:
    volumeNode._array = np.array(narray, copy=True)
    volumeNode.Modified()


def addVolumeFromArray(narray, ijkToRAS=None, name=None, nodeClassName=None):
    import slicer

    volumeNode = slicer.mrmlScene.AddNewNodeByClass(nodeClassName or "vtkMRMLScalarVolumeNode", name or "")
    if ijkToRAS is not None:
        if not isinstance(ijkToRAS, vtk.vtkMatrix4x4):
            ijkToRAS = vtkMatrixFromArray(ijkToRAS)
        volumeNode.SetIJKToRASMatrix(ijkToRAS)
    updateVolumeFromArray(volumeNode, narray)
    volumeNode.CreateDefaultDisplayNodes()
    return volumeNode


def arrayFromVTKMatrix(vmatrix) -> np.ndarray:
    return np.array([[vmatrix.GetElement(r, c) for c in range(4)] for r in range(4)])


def vtkMatrixFromArray(narray) -> "vtk.vtkMatrix4x4":
    matrix = vtk.vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            matrix.SetElement(r, c, float(narray[r][c]))
    return matrix


def updateSegmentBinaryLabelmapFromArray(narray, segmentationNode, segmentId, referenceVolumeNode=None) -> None:
    import slicer

    reference = referenceVolumeNode or segmentationNode.GetNodeReference(
        slicer.vtkMRMLSegmentationNode.GetReferenceImageGeometryReferenceRole())
    if reference is None:
        raise RuntimeError("No reference volume is found in the input segmentationNode, therefore a valid "
                           "referenceVolumeNode input is required.")
    if tuple(narray.shape) != tuple(reference._array.shape):
        raise RuntimeError("stand-in: array shape %s differs from the reference volume %s"
                           % (narray.shape, reference._array.shape))
    segment = segmentationNode.GetSegmentation().GetSegment(segmentId)
    if segment is None:
        raise RuntimeError("Importing of segment failed.")
    segment.labelmap = (np.asarray(narray) > 0).astype(np.uint8)
    segmentationNode.referenceGeometryVolume = reference


def arrayFromSegmentBinaryLabelmap(segmentationNode, segmentId, referenceVolumeNode=None) -> np.ndarray:
    segment = segmentationNode.GetSegmentation().GetSegment(segmentId)
    return segment.labelmap.copy()


def getNode(pattern="*", index=0, scene=None):
    """The node whose name or ID is ``pattern`` (wildcards are not modelled)."""
    import slicer

    scene = scene or slicer.mrmlScene
    node = scene.GetNodeByID(pattern) or scene.GetFirstNodeByName(pattern)
    if node is None:
        raise slicer.util.MRMLNodeNotFoundException("could not find nodes in the scene by name or id '%s'" % pattern)
    return node


class MRMLNodeNotFoundException(Exception):
    pass


def saveNode(node, filename: str, properties={}) -> bool:
    savedNodes.append((node, filename))
    return True


def pip_install(requirements) -> None:
    pipInstallCalls.append(requirements if isinstance(requirements, str) else " ".join(requirements))


def startupEnvironment() -> dict:
    return dict(os.environ)


def launchConsoleProcess(args, useStartupEnvironment=True, updateEnvironment=None, cwd=None):
    env = dict(os.environ)
    env.update(updateEnvironment or {})
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)


class VTKObservationMixin:
    def __init__(self) -> None:
        super().__init__()
        self.Observations = []

    def addObserver(self, obj, event, method, group="none", priority=0.0):
        tag = obj.AddObserver(event, method, priority)
        self.Observations.append((obj, event, method, group, tag, priority))

    def removeObserver(self, obj, event, method):
        for observation in list(self.Observations):
            if observation[0] is obj and observation[1] == event and observation[2] == method:
                obj.RemoveObserver(observation[4])
                self.Observations.remove(observation)

    def removeObservers(self, method=None):
        for observation in list(self.Observations):
            if method is None or observation[2] == method:
                observation[0].RemoveObserver(observation[4])
                self.Observations.remove(observation)


# --- Widget-side functions: present so that their names can be checked; the tests never call them ---------------------


def _widgetOnly(name: str):
    def call(*args, **kwargs):
        raise RuntimeError("slicer.util.%s needs the Slicer GUI; the stand-in does not model it" % name)

    call.__name__ = name
    return call


loadUI = _widgetOnly("loadUI")
childWidgetVariables = _widgetOnly("childWidgetVariables")
errorDisplay = _widgetOnly("errorDisplay")
infoDisplay = _widgetOnly("infoDisplay")
warningDisplay = _widgetOnly("warningDisplay")
confirmOkCancelDisplay = _widgetOnly("confirmOkCancelDisplay")
confirmYesNoDisplay = _widgetOnly("confirmYesNoDisplay")
mainWindow = _widgetOnly("mainWindow")
restart = _widgetOnly("restart")
setSliceViewerLayers = _widgetOnly("setSliceViewerLayers")
selectModule = _widgetOnly("selectModule")


@contextlib.contextmanager
def tryWithErrorDisplay(message=None, show=True, waitCursor=False):
    raise RuntimeError("slicer.util.tryWithErrorDisplay needs the Slicer GUI; the stand-in does not model it")
    yield  # pragma: no cover
