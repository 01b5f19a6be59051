"""Stand-in for the parts of 3D Slicer's Python API that CoronaryCalcium.py uses, for tests without Slicer.

Every class, method and function here exists under the same name and call form in Slicer 5.8 and in Slicer's main branch
(checked against their sources). Nothing else is provided, so a misspelt or invented Slicer call fails here with
AttributeError as it would in Slicer. The MRML nodes keep their voxels as numpy arrays and their geometry as an IJK-to-RAS
matrix, which is what the module reads and writes; rendering, storage and events are not modelled.
"""

from __future__ import annotations

import os
import tempfile
from typing import Dict, List, Optional

import numpy as np

import vtk

# ---------------------------------------------------------------------------------------------------------------------
# Application


class _App:
    """slicer.app: only what the module touches."""

    def __init__(self) -> None:
        self.temporaryPath = tempfile.gettempdir()
        self.processedEvents = 0
        self.connections: List[tuple] = []
        self.testing = True

    def connect(self, signal: str, slot) -> None:
        self.connections.append((signal, slot))

    def processEvents(self) -> None:
        self.processedEvents += 1

    def translate(self, context: str, text: str) -> str:
        return text

    def testingEnabled(self) -> bool:
        return self.testing


app = _App()

# ---------------------------------------------------------------------------------------------------------------------
# MRML nodes


class vtkMRMLNode(vtk.vtkObject):
    def __init__(self) -> None:
        super().__init__()
        self._id: Optional[str] = None
        self._name = ""
        self._attributes: Dict[str, str] = {}
        self._references: Dict[str, str] = {}
        self._scene: Optional["vtkMRMLScene"] = None
        self._singletonTag: Optional[str] = None
        self._hidden = False

    def GetID(self):
        return self._id

    def GetName(self) -> str:
        return self._name

    def SetName(self, name: str) -> None:
        self._name = name

    def SetAttribute(self, name: str, value: str) -> None:
        self._attributes[name] = str(value)

    def GetAttribute(self, name: str):
        return self._attributes.get(name)

    def GetScene(self):
        return self._scene

    def SetSingletonTag(self, tag: str) -> None:
        self._singletonTag = tag

    def GetSingletonTag(self):
        return self._singletonTag

    def SetHideFromEditors(self, hide: bool) -> None:
        self._hidden = bool(hide)

    def GetHideFromEditors(self) -> bool:
        return self._hidden

    def SetNodeReferenceID(self, role: str, nodeId) -> None:
        if nodeId is None:
            self._references.pop(role, None)
        else:
            self._references[role] = nodeId

    def GetNodeReferenceID(self, role: str):
        return self._references.get(role)

    def GetNodeReference(self, role: str):
        nodeId = self._references.get(role)
        return self._scene.GetNodeByID(nodeId) if (self._scene and nodeId) else None

    def StartModify(self) -> int:
        return 0

    def EndModify(self, previous: int) -> int:
        self.Modified()
        return 0

    def UnRegister(self, owner) -> None:
        pass

    def CreateDefaultDisplayNodes(self) -> None:
        pass

    def GetDisplayNode(self):
        return None  # stand-in nodes have no display nodes

    def GetTransformNodeID(self):
        return None  # stand-ins model no transforms (the real-library suite, Testing/slicer_real, does)

    def GetParentTransformNode(self):
        return None

    def SetAndObserveTransformNodeID(self, transformNodeId) -> None:
        if transformNodeId is not None:
            raise NotImplementedError("stand-in: transforms are tested on the real libraries")


class vtkMRMLScriptedModuleNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self._parameters: Dict[str, str] = {}

    def SetParameter(self, name: str, value: str) -> None:
        self._parameters[name] = str(value)

    def GetParameter(self, name: str) -> str:
        return self._parameters.get(name, "")


class _ImageData:
    """What GetImageData() returns: enough for 'is there image data' and its dimensions."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def GetDimensions(self):
        k, j, i = self._array.shape
        return (i, j, k)

    def GetScalarRange(self):
        return (float(self._array.min()), float(self._array.max()))


class vtkMRMLVolumeNode(vtkMRMLNode):
    """Voxels as a numpy (k, j, i) array; geometry as spacing, origin (RAS mm) and IJK-to-RAS direction columns."""

    def __init__(self) -> None:
        super().__init__()
        self._array: Optional[np.ndarray] = None
        self._spacing = (1.0, 1.0, 1.0)
        self._origin = (0.0, 0.0, 0.0)
        self._directions = np.eye(3)

    def GetImageData(self):
        return None if self._array is None else _ImageData(self._array)

    def SetSpacing(self, *spacing) -> None:
        values = spacing[0] if len(spacing) == 1 else spacing
        self._spacing = tuple(float(v) for v in values)

    def GetSpacing(self):
        return self._spacing

    def SetOrigin(self, *origin) -> None:
        values = origin[0] if len(origin) == 1 else origin
        self._origin = tuple(float(v) for v in values)

    def GetOrigin(self):
        return self._origin

    def SetIJKToRASDirectionMatrix(self, matrix: vtk.vtkMatrix4x4) -> None:
        self._directions = np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])

    def GetIJKToRASDirectionMatrix(self, matrix: vtk.vtkMatrix4x4) -> None:
        matrix.Identity()
        for r in range(3):
            for c in range(3):
                matrix.SetElement(r, c, self._directions[r, c])

    def GetIJKToRASMatrix(self, matrix: vtk.vtkMatrix4x4) -> None:
        matrix.Identity()
        for r in range(3):
            for c in range(3):
                matrix.SetElement(r, c, self._directions[r, c] * self._spacing[c])
            matrix.SetElement(r, 3, self._origin[r])

    def SetIJKToRASMatrix(self, matrix: vtk.vtkMatrix4x4) -> None:
        columns = np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])
        spacing = np.linalg.norm(columns, axis=0)
        self._spacing = tuple(float(s) for s in spacing)
        self._directions = columns / spacing
        self._origin = tuple(float(matrix.GetElement(r, 3)) for r in range(3))

    def CopyOrientation(self, other: "vtkMRMLVolumeNode") -> None:
        self._spacing = other._spacing
        self._origin = other._origin
        self._directions = other._directions.copy()


class vtkMRMLScalarVolumeNode(vtkMRMLVolumeNode):
    pass


class vtkMRMLLabelMapVolumeNode(vtkMRMLScalarVolumeNode):
    pass


class vtkMRMLMarkupsNode(vtkMRMLNode):
    PointPositionDefinedEvent = 19004  # the value in slicer-core 5.13


class vtkMRMLMarkupsFiducialNode(vtkMRMLMarkupsNode):
    pass


class vtkSegment(vtk.vtkObject):
    def __init__(self) -> None:
        super().__init__()
        self._name = ""
        self._color = (0.5, 0.5, 0.5)
        self._tags: Dict[str, str] = {}
        self.labelmap: Optional[np.ndarray] = None  # stand-in only: the binary voxels (k, j, i)

    @staticmethod
    def GetTerminologyEntryTagName() -> str:
        return "TerminologyEntry"

    def SetName(self, name: str) -> None:
        self._name = name

    def GetName(self) -> str:
        return self._name

    def SetColor(self, *color) -> None:
        values = color[0] if len(color) == 1 else color
        self._color = tuple(float(v) for v in values)

    def GetColor(self):
        return self._color

    def SetTag(self, tag: str, value) -> None:
        self._tags[tag] = str(value)

    def SetNameAutoGenerated(self, value: bool) -> None:
        self.nameAutoGenerated = bool(value)

    def SetColorAutoGenerated(self, value: bool) -> None:
        self.colorAutoGenerated = bool(value)


class vtkSegmentation(vtk.vtkObject):
    def __init__(self) -> None:
        super().__init__()
        self._segments: Dict[str, vtkSegment] = {}

    def AddEmptySegment(self, segmentId: str = "", segmentName: str = "", color=None) -> str:
        segmentId = segmentId or ("Segment_%d" % (len(self._segments) + 1))
        segment = vtkSegment()
        segment.SetName(segmentName or segmentId)
        if color is not None:
            segment.SetColor(color)
        self._segments[segmentId] = segment
        return segmentId

    def GetSegment(self, segmentId: str):
        return self._segments.get(segmentId)

    def GetSegmentIdBySegmentName(self, name: str) -> str:
        for segmentId, segment in self._segments.items():
            if segment.GetName() == name:
                return segmentId
        return ""

    def GetNumberOfSegments(self) -> int:
        return len(self._segments)

    def GetNthSegmentID(self, index: int) -> str:
        return list(self._segments)[index]

    def RemoveAllSegments(self) -> None:
        self._segments.clear()

    def RemoveSegment(self, segmentId: str) -> None:
        self._segments.pop(segmentId, None)


class vtkMRMLSegmentationNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self._segmentation = vtkSegmentation()
        self.referenceGeometryVolume: Optional[vtkMRMLVolumeNode] = None  # stand-in only

    @staticmethod
    def GetReferenceImageGeometryReferenceRole() -> str:
        return "referenceImageGeometryRef"

    def GetSegmentation(self) -> vtkSegmentation:
        return self._segmentation

    def SetReferenceImageGeometryParameterFromVolumeNode(self, volumeNode) -> None:
        self.referenceGeometryVolume = volumeNode


class vtkMRMLTableNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self._columns: List[vtk._DataArray] = []
        self._units: Dict[str, str] = {}
        self._descriptions: Dict[str, str] = {}

    def RemoveAllColumns(self) -> bool:
        self._columns = []
        return True

    def AddColumn(self, column=None):
        if column is None:
            column = vtk.vtkStringArray()
        if self._columns and column.GetNumberOfValues() != self.GetNumberOfRows():
            raise ValueError("stand-in: column length %d differs from table rows %d"
                             % (column.GetNumberOfValues(), self.GetNumberOfRows()))
        self._columns.append(column)
        return column

    def GetNumberOfRows(self) -> int:
        return self._columns[0].GetNumberOfValues() if self._columns else 0

    def GetNumberOfColumns(self) -> int:
        return len(self._columns)

    def GetColumnName(self, index: int) -> str:
        return self._columns[index].GetName()

    def GetColumnIndex(self, name: str) -> int:
        for index, column in enumerate(self._columns):
            if column.GetName() == name:
                return index
        return -1

    def GetCellText(self, row: int, column: int) -> str:
        value = self._columns[column].GetValue(row)
        return value if isinstance(value, str) else ("%g" % value)

    def SetColumnUnitLabel(self, name: str, unit: str) -> None:
        self._units[name] = unit

    def GetColumnUnitLabel(self, name: str) -> str:
        return self._units.get(name, "")

    def SetColumnDescription(self, name: str, description: str) -> None:
        self._descriptions[name] = description

    def GetColumnDescription(self, name: str) -> str:
        return self._descriptions.get(name, "")

    def SetUseColumnNameAsColumnHeader(self, use: bool) -> None:
        pass


class vtkMRMLPlotSeriesNode(vtkMRMLNode):
    PlotTypeLine = 0
    PlotTypeBar = 1
    PlotTypeScatter = 2

    def __init__(self) -> None:
        super().__init__()
        self.settings: Dict[str, object] = {}

    def SetAndObserveTableNodeID(self, nodeId: str) -> None:
        self.settings["table"] = nodeId

    def SetXColumnName(self, name: str) -> None:
        self.settings["x"] = name

    def SetYColumnName(self, name: str) -> None:
        self.settings["y"] = name

    def SetLabelColumnName(self, name: str) -> None:
        self.settings["label"] = name

    def SetPlotType(self, plotType: int) -> None:
        self.settings["type"] = plotType

    def SetColor(self, *color) -> None:
        self.settings["color"] = tuple(color[0] if len(color) == 1 else color)


class vtkMRMLPlotChartNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self.seriesIds: List[str] = []
        self.settings: Dict[str, object] = {}

    def AddAndObservePlotSeriesNodeID(self, nodeId: str) -> None:
        self.seriesIds.append(nodeId)

    def GetPlotSeriesNode(self):
        return self._scene.GetNodeByID(self.seriesIds[0]) if (self.seriesIds and self._scene) else None

    def RemoveAllPlotSeriesNodeIDs(self) -> None:
        self.seriesIds = []

    def SetTitle(self, title: str) -> None:
        self.settings["title"] = title

    def SetXAxisTitle(self, title: str) -> None:
        self.settings["xAxisTitle"] = title

    def SetYAxisTitle(self, title: str) -> None:
        self.settings["yAxisTitle"] = title

    def SetLegendVisibility(self, visible: bool) -> None:
        self.settings["legend"] = bool(visible)


class vtkMRMLSliceNode(vtkMRMLNode):
    CenteredJumpSlice = 0
    jumps: List[tuple] = []  # stand-in only: where JumpAllSlices was asked to go

    @staticmethod
    def JumpAllSlices(scene, r, a, s, jumpMode=-1, viewGroup=-1, exclude=None) -> None:
        vtkMRMLSliceNode.jumps.append((r, a, s, jumpMode))


_NODE_CLASSES = {
    cls.__name__: cls
    for cls in (vtkMRMLScriptedModuleNode, vtkMRMLScalarVolumeNode, vtkMRMLLabelMapVolumeNode, vtkMRMLSegmentationNode,
                vtkMRMLTableNode, vtkMRMLPlotSeriesNode, vtkMRMLPlotChartNode)
}
_ALL_CLASSES = dict(_NODE_CLASSES, vtkMRMLNode=vtkMRMLNode, vtkMRMLVolumeNode=vtkMRMLVolumeNode)


class vtkMRMLScene(vtk.vtkObject):
    StartCloseEvent = 66
    EndCloseEvent = 67
    EndImportEvent = 8709

    def __init__(self) -> None:
        super().__init__()
        self._nodes: Dict[str, vtkMRMLNode] = {}
        self._counter = 0

    def CreateNodeByClass(self, className: str) -> vtkMRMLNode:
        return _NODE_CLASSES[className]()

    def AddNode(self, node: vtkMRMLNode) -> vtkMRMLNode:
        self._counter += 1
        node._id = "%s%d" % (type(node).__name__, self._counter)
        node._scene = self
        self._nodes[node._id] = node
        return node

    def AddNewNodeByClass(self, className: str, name: str = "") -> vtkMRMLNode:
        node = self.AddNode(self.CreateNodeByClass(className))
        node.SetName(name or self.GenerateUniqueName(className.replace("vtkMRML", "").replace("Node", "")))
        return node

    def GenerateUniqueName(self, base: str) -> str:
        names = {node.GetName() for node in self._nodes.values()}
        if base not in names:
            return base
        index = 1
        while "%s_%d" % (base, index) in names:
            index += 1
        return "%s_%d" % (base, index)

    def GetNodeByID(self, nodeId: str):
        return self._nodes.get(nodeId)

    def _byClass(self, className: str) -> List[vtkMRMLNode]:
        cls = _ALL_CLASSES[className]
        return [node for node in self._nodes.values() if isinstance(node, cls)]

    def GetFirstNodeByClass(self, className: str):
        nodes = self._byClass(className)
        return nodes[0] if nodes else None

    def GetNumberOfNodesByClass(self, className: str) -> int:
        return len(self._byClass(className))

    def GetNthNodeByClass(self, index: int, className: str):
        return self._byClass(className)[index]

    def GetFirstNodeByName(self, name: str):
        for node in self._nodes.values():
            if node.GetName() == name:
                return node
        return None

    def GetSingletonNode(self, tag: str, className: str):
        for node in self._byClass(className):
            if node.GetSingletonTag() == tag:
                return node
        return None

    def RemoveNode(self, node: vtkMRMLNode) -> None:
        if node is not None and node._id in self._nodes:
            del self._nodes[node._id]
            node._scene = None

    def Clear(self, removeSingletons: bool = False) -> None:
        for node in list(self._nodes.values()):
            if removeSingletons or node.GetSingletonTag() is None:
                self.RemoveNode(node)


mrmlScene = vtkMRMLScene()

# ---------------------------------------------------------------------------------------------------------------------
# Module logics reached through slicer.modules


class vtkMRMLTransformNode(vtkMRMLNode):
    pass


class _SegmentationsLogic:
    def ImportLabelmapToSegmentationNode(self, labelmapNode, segmentationNode, segmentIds) -> bool:
        """Stand-in: the labelmap's voxels (> 0) into the one named existing segment (same grid assumed)."""
        segment = segmentationNode.GetSegmentation().GetSegment(segmentIds.GetValue(0))
        if segment is None or segmentIds.GetNumberOfValues() != 1:
            return False
        segment.labelmap = (np.asarray(labelmapNode._array) > 0).astype(np.uint8)
        return True

    def ExportSegmentsToLabelmapNode(self, segmentationNode, segmentIds, labelmapNode, referenceVolumeNode=None,
                                     extentComputationMode=None, colorTableNode=None) -> bool:
        """Label value = position in ``segmentIds`` + 1 (Slicer's rule without a colour table)."""
        reference = referenceVolumeNode or segmentationNode.referenceGeometryVolume
        labels = np.zeros(reference._array.shape, dtype=np.uint8)
        for index in range(segmentIds.GetNumberOfValues()):
            segment = segmentationNode.GetSegmentation().GetSegment(segmentIds.GetValue(index))
            if segment is None:
                return False
            if segment.labelmap is not None:
                labels[segment.labelmap > 0] = index + 1
        labelmapNode._array = labels
        labelmapNode.CopyOrientation(reference)
        return True


class _ModuleWithLogic:
    def __init__(self, logic) -> None:
        self._logic = logic

    def logic(self):
        return self._logic


class _Modules:
    def __init__(self) -> None:
        self.segmentations = _ModuleWithLogic(_SegmentationsLogic())


modules = _Modules()

from . import util  # noqa: E402  (needs the names above)
