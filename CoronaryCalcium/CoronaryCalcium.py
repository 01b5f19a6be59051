"""Coronary Calcium: a 3D Slicer module that assesses coronary artery calcium (CAC) on CT.

The module is a thin door onto the Slicer-free core package ``CoronaryCalciumLib``: the Logic turns MRML nodes into core
objects (CT volume, region of interest), calls the core, and turns its ``Assessment`` back into nodes (segmentations,
tables, a plot). The Widget only collects choices, shows progress and results, and asks the user questions.

Coordinates: the core works in LPS patient millimetres (DICOM/ITK); Slicer shows RAS. RAS = (-L, -P, S).
"""

from __future__ import annotations

import enum
import importlib.util
import logging
import os
from dataclasses import dataclass
from typing import Annotated, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import vtk

import slicer
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.ScriptedLoadableModule import *
from slicer.util import VTKObservationMixin
from slicer.parameterNodeWrapper import (
    parameterNodeWrapper,
    Choice,
    WithinRange,
)

from slicer import (vtkMRMLLabelMapVolumeNode, vtkMRMLPlotChartNode, vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode,
                    vtkMRMLTableNode)

# the core modules imported here need nothing beyond Python (the parameter node's region choice, the progress
# callback type); the rest of the core is imported inside functions (dependencies install on first use)
from CoronaryCalciumLib.progress import Progress
from CoronaryCalciumLib.region.source import RegionSource

Log = Callable[[str], None]

#
# CoronaryCalcium
#


class CoronaryCalcium(ScriptedLoadableModule):
    """Uses ScriptedLoadableModule base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Coronary Calcium")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Cardiac")]
        self.parent.dependencies = []
        self.parent.contributors = ["CoronaryCalcium contributors"]
        self.parent.helpText = _("""
Assesses coronary artery calcium on a non-contrast CT: segments the coronary arteries or the heart with TotalSegmentator
(or uses your segments), finds and scores calcified lesions (Agatston, volume, mass; per artery; classic and CAC-DRS
categories) and predicts zero vs non-zero calcium with a radiomics classifier.
Research software, not for diagnosis.
See the <a href="https://github.com/coronary-calcium/SlicerCoronaryCalcium#slicer-module">module documentation</a>.
""")
        self.parent.acknowledgementText = _("""
Scoring follows Agatston et al. (JACC 1990) with the consensus settings of Tzolos et al. (JCCT 2022); the classifier
follows the protocol of arXiv 2510.25347. Regions of interest come from TotalSegmentator (Wasserthal et al., Radiology AI
2023). Radiomics by pyradiomics (van Griethuysen et al., Cancer Research 2017).
""")


#
# Choices offered in the panel
#


def coreText(text: str) -> str:
    """A phrase of the core's display texts (``reporting.display``, ``RegionSource.label``) in the user's language,
    looked up in this module's translation context."""
    return translate("CoronaryCalcium", text)


class TubeVoltage(enum.Enum):
    """Tube voltage for the kVp-specific thresholds; FROM_DICOM reads tag (0018,0060)."""

    FROM_DICOM = 0
    KV70 = 70
    KV80 = 80
    KV100 = 100
    KV120 = 120
    KV135 = 135
    KV140 = 140

    def label(self) -> str:
        return _("From DICOM") if self.value == 0 else "%d kV" % self.value


DEVICES = ["auto", "cpu", "gpu", "mps"]

#
# CoronaryCalciumParameterNode
#


@parameterNodeWrapper
class CoronaryCalciumParameterNode:
    """
    The parameters needed by module.

    inputVolume - CT volume in HU.
    regionSource - TotalSegmentator coronary arteries, TotalSegmentator heart, or an existing segmentation.
    inputSegmentation, inputSegmentIds - the existing segmentation and the IDs of its segments to use (comma-separated).
    totalSegmentatorSegmentation - for the TotalSegmentator sources: a segmentation already holding TotalSegmentator's
    heart and aorta (and coronary_arteries) segments; when set, the region is built from it, TotalSegmentator not run.
    fast, device - TotalSegmentator options.
    kvp, useCustomThreshold, thresholdHU, calibrationFactor (mg/(mm3 HU); 0 = none), minAreaMm2, connectivity,
    allowContrast - scoring options.
    coronaryMarginMm - growth of the coronary mask (mm).
    runClassifier - extract radiomics features and run the zero vs non-zero classifier.
    regionSegmentation, calciumSegmentation, arteryTable, lesionTable, summaryTable, featureTable, featureChart - outputs.
    automaticResult, lesionIds, reviewEdits - the reader review kept in the scene: the automatic result (JSON), its
    lesion ids on the CT grid, and the reader's edits (JSON list, in order). A reopened scene re-applies the edits.
    """

    inputVolume: vtkMRMLScalarVolumeNode
    regionSource: RegionSource = RegionSource.HEART
    inputSegmentation: vtkMRMLSegmentationNode
    inputSegmentIds: str = ""
    totalSegmentatorSegmentation: vtkMRMLSegmentationNode
    fast: bool = True
    device: Annotated[str, Choice(DEVICES)] = "auto"
    kvp: TubeVoltage = TubeVoltage.FROM_DICOM
    useCustomThreshold: bool = False
    thresholdHU: Annotated[float, WithinRange(50.0, 1000.0)] = 130.0
    calibrationFactor: Annotated[float, WithinRange(0.0, 0.01)] = 0.0
    runClassifier: bool = True
    minAreaMm2: Annotated[float, WithinRange(0.0, 10.0)] = 1.0
    connectivity: Annotated[int, Choice([8, 4])] = 8
    coronaryMarginMm: Annotated[float, WithinRange(0.0, 10.0)] = 2.0
    allowContrast: bool = False
    regionSegmentation: vtkMRMLSegmentationNode
    calciumSegmentation: vtkMRMLSegmentationNode
    arteryTable: vtkMRMLTableNode
    lesionTable: vtkMRMLTableNode
    summaryTable: vtkMRMLTableNode
    featureTable: vtkMRMLTableNode
    featureChart: vtkMRMLPlotChartNode
    automaticResult: str = ""
    lesionIds: vtkMRMLLabelMapVolumeNode
    reviewEdits: str = ""


#
# Standard terminology (DICOM / SNOMED CT codes as Slicer's terminology lists use them)
#



def labelValueOfSegmentName(name: str) -> int:
    """N for a segment named ``Label_N`` (as Slicer names the segments of a labelmap imported without a colour table),
    else 0."""
    import re

    match = re.fullmatch(r"Label_(\d+)", name.strip())
    return int(match.group(1)) if match else 0


def arteryColor(artery: str) -> Tuple[float, float, float]:
    """The artery's colour (RGB 0-1), the same as in the core's reports and .seg.nrrd files."""
    from CoronaryCalciumLib.region.arteries import ARTERY_COLORS

    return tuple(float(c) for c in ARTERY_COLORS[artery])


REGION_COLORS = {"coronary": (0.80, 0.20, 0.20), "heart": (0.81, 0.43, 0.33)}


def regionTerminology(artery: str, heart: bool = False) -> str:
    """Anatomical-structure entry for an artery (LM/LAD/LCX/RCA), the coronary tree ('unassigned') or the heart."""
    from CoronaryCalciumLib.region.terminology import region_terminology

    return region_terminology(artery, heart=heart)


def calciumTerminology(artery: str) -> str:
    """Pathologic calcification located in an artery (or in the coronary tree for unassigned calcium)."""
    from CoronaryCalciumLib.region.terminology import calcium_terminology

    return calcium_terminology(artery)


#
# Geometry between Slicer (RAS) and the core (LPS)
#

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def lpsToRas(point: Sequence[float]) -> Tuple[float, float, float]:
    """LPS mm -> RAS mm (x and y negated)."""
    return (-float(point[0]), -float(point[1]), float(point[2]))


def rasToLps(point: Sequence[float]) -> Tuple[float, float, float]:
    """RAS mm -> LPS mm (the same flip)."""
    return lpsToRas(point)


def lpsGeometryOfVolumeNode(volumeNode) -> Tuple[Tuple[float, float, float], Tuple[float, float, float], Tuple[float, ...]]:
    """(spacing xyz mm, origin LPS mm, direction row-major 3x3 whose columns are the i, j, k axes in LPS) of a volume."""
    matrix = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASMatrix(matrix)
    ijkToRas = slicer.util.arrayFromVTKMatrix(matrix)
    columns = ijkToRas[:3, :3]
    spacing = np.linalg.norm(columns, axis=0)
    directionLps = LPS_TO_RAS @ (columns / spacing)
    originLps = LPS_TO_RAS @ ijkToRas[:3, 3]
    return (tuple(float(s) for s in spacing), tuple(float(o) for o in originLps),
            tuple(float(d) for d in directionLps.ravel()))


def ijkToRasOfGeometry(geometry) -> np.ndarray:
    """4x4 IJK-to-RAS matrix of a core ``Geometry`` (LPS spacing/origin/direction)."""
    direction = np.asarray(geometry.direction, dtype=float).reshape(3, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = LPS_TO_RAS @ direction @ np.diag(geometry.spacing)
    matrix[:3, 3] = LPS_TO_RAS @ np.asarray(geometry.origin, dtype=float)
    return matrix


#
# Texts shown in the panel: the core's reporting.display (shared with the reports and tools/render_panel.py), with
# positions converted to RAS here
#


def lesionRows(assessment, toWorld: Optional[Callable[[Sequence[float]], Sequence[float]]] = None
               ) -> List[Dict[str, object]]:
    """The core's lesion rows (``reporting.display.lesion_rows``: largest Agatston first, then the lesions left out,
    their artery cell saying why) with ``ras``, the centroid in RAS mm: in world coordinates when ``toWorld`` maps the
    CT's own RAS to world (the CT under a transform), else the CT's own."""
    from CoronaryCalciumLib.reporting.display import lesion_rows

    toWorld = toWorld or (lambda point: point)
    rows = lesion_rows(assessment, translate=coreText)
    for row in rows:
        row["ras"] = tuple(float(value) for value in toWorld(lpsToRas(row["centroid_lps_mm"])))
    return rows


REVIEW_COLUMNS = ("Set artery", "Exclude")
REVIEW_COUNTED = "counted"
REVIEW_FILTERED = "left out by a filter"


def reviewArteries() -> Tuple[str, ...]:
    """The artery choices of a review edit (LM, LAD, LCX, RCA, unassigned)."""
    from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

    return tuple(ARTERIES_AND_UNASSIGNED)


def reviewReasons() -> Tuple[str, ...]:
    """The reasons a reader can exclude a lesion for (noise, bone, aortic, valve, mitral, device, other)."""
    from CoronaryCalciumLib.review.edits import EXCLUDE_REASONS

    return tuple(EXCLUDE_REASONS)


#
# Errors
#


class AssessmentCancelled(Exception):
    """Raised from a progress or log callback to stop an assessment (the Widget's Cancel button)."""


class DependencyError(Exception):
    """A required Python package or Slicer extension is missing. ``restartRequired`` when Slicer must restart."""

    def __init__(self, message: str, restartRequired: bool = False):
        super().__init__(message)
        self.restartRequired = restartRequired


#
# CoronaryCalciumWidget
#


class CoronaryCalciumWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Uses ScriptedLoadableModuleWidget base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def __init__(self, parent=None) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)  # needed for parameter node observation
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._running = False
        self._cancelRequested = False
        self._assessment = None
        self._addPointNode = None

    def setup(self) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.setup(self)

        # Load widget from .ui file (created by Qt Designer).
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/CoronaryCalcium.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)

        # Set scene in MRML widgets (the .ui connects mrmlSceneChanged to each MRML widget's setMRMLScene).
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = CoronaryCalciumLogic()

        # These connections ensure that we update parameter node when scene is closed
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndImportEvent, self.onSceneEndImport)

        # Widgets not bound by the parameter node wrapper
        self.ui.regionSegmentSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.onRegionSegmentationChanged)
        self.ui.regionSegmentSelector.connect("segmentSelectionChanged(QStringList)", self.onRegionSegmentsChanged)
        self.ui.lesionTableWidget.connect("cellClicked(int,int)", self.onLesionClicked)

        # Buttons
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancelButton)
        self.ui.setLicenseButton.connect("clicked(bool)", self.onSetLicenseButton)
        self.ui.showChartButton.connect("clicked(bool)", self.onShowChartButton)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.ui.addLesionButton.connect("clicked(bool)", self.onAddLesionButton)
        self.ui.undoReviewButton.connect("clicked(bool)", self.onUndoReviewButton)

        from CoronaryCalciumLib.reporting.display import LESION_COLUMNS

        self.ui.lesionTableWidget.setColumnCount(len(LESION_COLUMNS) + len(REVIEW_COLUMNS))
        self.ui.lesionTableWidget.setHorizontalHeaderLabels([coreText(name) for name in LESION_COLUMNS]
                                                            + list(REVIEW_COLUMNS))
        self.ui.addLesionArteryComboBox.addItems(list(reviewArteries()))

        # Make sure parameter node is initialized (needed for module reload)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        """Called when the application closes and the module widget is destroyed."""
        self._cancelRequested = True
        self.removeObservers()

    def enter(self) -> None:
        """Called each time the user opens this module."""
        self.initializeParameterNode()

    def exit(self) -> None:
        """Called each time the user opens a different module."""
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)

    def onSceneStartClose(self, caller, event) -> None:
        """Called just before the scene is closed."""
        self.setParameterNode(None)

    def onSceneEndImport(self, caller, event) -> None:
        """A scene was opened: show the assessment it keeps, with its review re-applied."""
        self.initializeParameterNode()
        node = self._parameterNode
        if node is None or not node.automaticResult:
            return
        with slicer.util.tryWithErrorDisplay(_("Could not restore the assessment kept in this scene."), waitCursor=True):
            self._showResults(self.logic.restoreReview(node))

    def onSceneEndClose(self, caller, event) -> None:
        """Called just after the scene is closed."""
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        """Ensure parameter node exists and observed."""
        self.setParameterNode(self.logic.getParameterNode())

        # Select default input nodes if nothing is selected yet to save a few clicks for the user
        if not self._parameterNode.inputVolume:
            firstVolumeNode = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolumeNode:
                self._parameterNode.inputVolume = firstVolumeNode

    def setParameterNode(self, inputParameterNode: Optional[CoronaryCalciumParameterNode]) -> None:
        """Set and observe parameter node; the GUI follows it."""
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            # Widgets with a "SlicerParameterName" dynamic property in the .ui are bound to the parameter of that name.
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            for index, source in enumerate(RegionSource):  # the connector lists the core's English labels
                self.ui.regionSourceComboBox.setItemText(index, coreText(source.label()))
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)
            self._updateGui()

    def _updateGui(self, caller=None, event=None) -> None:
        """Show the controls that apply to the chosen region source and enable Assess when inputs are complete."""
        node = self._parameterNode
        if node is None:
            return
        source = node.regionSource
        usesTotalSegmentator = source.uses_totalsegmentator
        runsTotalSegmentator = self.logic.runsTotalSegmentator(node)
        self.ui.regionSegmentLabel.visible = not usesTotalSegmentator
        self.ui.regionSegmentSelector.visible = not usesTotalSegmentator
        self.ui.totalSegmentatorSegmentationLabel.visible = usesTotalSegmentator
        self.ui.totalSegmentatorSegmentationSelector.visible = usesTotalSegmentator
        self.ui.setLicenseButton.visible = source == RegionSource.CORONARY and runsTotalSegmentator
        self.ui.fastCheckBox.enabled = source == RegionSource.HEART and runsTotalSegmentator
        self.ui.deviceComboBox.enabled = runsTotalSegmentator
        self.ui.coronaryMarginSpinBox.enabled = source == RegionSource.CORONARY
        self.ui.thresholdSpinBox.enabled = node.useCustomThreshold
        if self.ui.regionSegmentSelector.currentNode() != node.inputSegmentation:
            self.ui.regionSegmentSelector.setCurrentNode(node.inputSegmentation)
        segmentIds = [segmentId for segmentId in node.inputSegmentIds.split(",") if segmentId]
        if list(self.ui.regionSegmentSelector.selectedSegmentIDs()) != segmentIds:
            self.ui.regionSegmentSelector.setSelectedSegmentIDs(segmentIds)

        reason = self.logic.missingInput(node)
        if self._running:
            self.ui.applyButton.enabled = False
        elif reason:
            self.ui.applyButton.toolTip = reason
            self.ui.applyButton.enabled = False
        else:
            self.ui.applyButton.toolTip = _("Segment the region of interest, score the calcium and run the classifier.")
            self.ui.applyButton.enabled = True

    def onRegionSegmentationChanged(self, node) -> None:
        if self._parameterNode and self._parameterNode.inputSegmentation != node:
            self._parameterNode.inputSegmentation = node

    def onRegionSegmentsChanged(self, segmentIds) -> None:
        if self._parameterNode:
            self._parameterNode.inputSegmentIds = ",".join(segmentIds)

    # --- running -------------------------------------------------------------------------------------------------------

    def onApplyButton(self) -> None:
        """Run the assessment; the GUI stays responsive through the progress and log callbacks."""
        if not self._ensureDependencies():
            return
        self._setRunning(True)
        self.ui.logTextEdit.plainText = ""
        try:
            self._assessment = self.logic.processParameterNode(self._parameterNode, progress=self._onProgress,
                                                               log=self._onLog)
        except AssessmentCancelled:
            self.ui.statusLabel.text = _("Cancelled.")
            return
        except Exception as error:
            self._showError(error)
            return
        finally:
            self._setRunning(False)
        self.ui.statusLabel.text = _("Done.")
        self._showResults(self._assessment)

    def onCancelButton(self) -> None:
        self._cancelRequested = True
        self.ui.statusLabel.text = _("Cancelling...")

    def _setRunning(self, running: bool) -> None:
        self._running = running
        self._cancelRequested = False
        self.ui.cancelButton.enabled = running
        self.ui.progressBar.value = 0
        self._updateGui()

    def _onProgress(self, fraction: float, message: str) -> None:
        self.ui.progressBar.value = int(round(100 * max(0.0, min(1.0, fraction))))
        self.ui.statusLabel.text = message
        self._keepResponsive()

    def _onLog(self, line: str) -> None:
        self.ui.logTextEdit.appendPlainText(line)
        self._keepResponsive()

    def _keepResponsive(self) -> None:
        slicer.app.processEvents()
        if self._cancelRequested:
            raise AssessmentCancelled()

    def _showError(self, error: Exception) -> None:
        import traceback

        logging.error(traceback.format_exc())
        self.ui.statusLabel.text = _("Failed: ") + str(error)
        if self.logic.isUserError(error):
            slicer.util.errorDisplay(str(error), windowTitle=_("Coronary calcium"))
        else:
            slicer.util.errorDisplay(_("Assessment failed: ") + str(error), detailedText=traceback.format_exc())

    def _ensureDependencies(self) -> bool:
        """Ask, then install missing Python packages; ask to restart where Slicer needs it."""
        node = self._parameterNode
        source = node.regionSource if self.logic.runsTotalSegmentator(node) else RegionSource.SEGMENTATION
        missing = self.logic.missingRequirements(source, node.runClassifier)
        if not missing:
            return True
        if not slicer.util.confirmOkCancelDisplay(
            _("Coronary Calcium needs additional Python packages. Installation needs a network connection and may "
              "take several minutes. Click OK to install them."),
            _("Install Python packages"),
            detailedText=_("Packages: ") + ", ".join(missing),
        ):
            return False
        try:
            self._setRunning(True)
            self.logic.installRequirements(missing, log=self._onLog)
        except DependencyError as error:
            if error.restartRequired and slicer.util.confirmOkCancelDisplay(
                str(error) + "\n\n" + _("Restart Slicer now?"), _("Restart required")
            ):
                slicer.util.restart()
            else:
                slicer.util.errorDisplay(str(error))
            return False
        except Exception as error:
            self._showError(error)
            return False
        finally:
            self._setRunning(False)
        return True

    # --- results -------------------------------------------------------------------------------------------------------

    def _showResults(self, assessment) -> None:
        import qt

        from CoronaryCalciumLib.reporting import display

        texts = display.score_texts(assessment, translate=coreText)
        verdict, model = display.classifier_texts(assessment, translate=coreText)
        self.ui.verdictLabel.text = verdict
        self.ui.modelLabel.text = model
        self.ui.agatstonLabel.text = texts["agatston"]
        self.ui.volumeLabel.text = texts["volume"]
        self.ui.massLabel.text = texts["mass"]
        self.ui.categoryLabel.text = texts["category"]
        self.ui.cacDrsLabel.text = texts["cac_drs"]
        self.ui.arteryTableView.setMRMLTableNode(self._parameterNode.arteryTable)

        table = self.ui.lesionTableWidget
        table.sortingEnabled = False
        table.setRowCount(0)
        for rowIndex, row in enumerate(lesionRows(assessment, self.logic.toWorld(self._parameterNode.inputVolume))):
            table.insertRow(rowIndex)
            for column, text in enumerate(display.lesion_cells(row)):
                item = qt.QTableWidgetItem(text)
                item.setData(qt.Qt.UserRole, list(row["ras"]))
                table.setItem(rowIndex, column, item)
            self._reviewCells(table, rowIndex, row)
        table.sortingEnabled = True
        reviewable = bool(self._parameterNode.automaticResult)
        self.ui.addLesionButton.enabled = reviewable
        self.ui.undoReviewButton.enabled = reviewable and bool(self._parameterNode.reviewEdits)
        self.ui.reviewStatusLabel.text = _("Review: %s") % display.review_status(assessment)

        features = display.top_features(assessment)
        self.ui.featuresLabel.text = "\n".join("%s: %+.3g" % pair for pair in features) or "-"
        self.ui.showChartButton.enabled = bool(features)
        warnings = assessment.warnings
        self.ui.warningsLabel.text = "\n".join("\u26a0 " + warning for warning in warnings)
        self.ui.exportButton.enabled = True

        slicer.util.setSliceViewerLayers(background=self._parameterNode.inputVolume)

    def _reviewCells(self, table, rowIndex: int, row: Dict[str, object]) -> None:
        """The row's artery and exclude choices (set to the lesion's state first, then wired to the Logic)."""
        import qt

        from CoronaryCalciumLib.reporting.display import LESION_COLUMNS

        lesionId = int(row["id"])
        artery = qt.QComboBox()
        artery.addItems(list(reviewArteries()))
        counted = row["counted"]
        artery.enabled = counted
        if counted:
            artery.setCurrentText(str(row["artery"]))
        artery.connect("activated(int)", lambda index, box=artery: self._review(
            lambda reader: self.logic.setArtery(lesionId, box.currentText, reader=reader)))
        columns = len(LESION_COLUMNS)  # the review choices follow the core's lesion columns
        table.setCellWidget(rowIndex, columns, artery)
        exclude = qt.QComboBox()
        exclude.addItems([REVIEW_COUNTED] + list(reviewReasons()))
        if not counted:  # left out by the reader (a reason) or by a lesion filter (its own item)
            if row["reason"] is None:
                exclude.insertItem(0, REVIEW_FILTERED)
            exclude.setCurrentText(str(row["reason"] or REVIEW_FILTERED))
        exclude.connect("activated(int)", lambda index, box=exclude: self.onExcludeChoice(lesionId, box.currentText,
                                                                                          counted))
        table.setCellWidget(rowIndex, columns + 1, exclude)

    def onExcludeChoice(self, lesionId: int, choice: str, counted: bool) -> None:
        """'counted' includes the lesion again, a reason excludes it (a lesion already excluded is restored first)."""
        if choice == REVIEW_FILTERED or (choice == REVIEW_COUNTED and counted):
            return
        if choice == REVIEW_COUNTED:
            self._review(lambda reader: self.logic.includeLesion(lesionId, reader=reader))
        elif counted:
            self._review(lambda reader: self.logic.excludeLesion(lesionId, choice, reader=reader))
        else:
            self._review(lambda reader: (self.logic.includeLesion(lesionId, reader=reader),
                                         self.logic.excludeLesion(lesionId, choice, reader=reader)))

    def _review(self, edit: Callable[[str], object]) -> None:
        """Run one review edit (the reader's name given) and show the result; a refused edit changes nothing. The
        table is rebuilt after the signal that asked for the edit has returned (its combo box is replaced)."""
        import qt

        with slicer.util.tryWithErrorDisplay(_("Review edit refused."), waitCursor=True):
            edit(self.ui.readerLineEdit.text.strip())
        qt.QTimer.singleShot(0, lambda: self._showResults(self.logic.lastAssessment))

    def onUndoReviewButton(self) -> None:
        self._review(lambda reader: self.logic.undo(1))

    def onAddLesionButton(self) -> None:
        """Place one markups point in a slice view; the calcium there becomes a lesion in the chosen artery."""
        if self._addPointNode is None or self._addPointNode.GetScene() is None:
            self._addPointNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode",
                                                                    _("CAC lesion to add"))
            self.addObserver(self._addPointNode, slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent,
                             self.onLesionPointPlaced)
        self._addPointNode.RemoveAllControlPoints()
        markups = slicer.modules.markups.logic()
        markups.SetActiveList(self._addPointNode)
        markups.StartPlaceMode(False)

    def onLesionPointPlaced(self, caller, event) -> None:
        artery = self.ui.addLesionArteryComboBox.currentText
        pointNode = self._addPointNode
        self._review(lambda reader: self.logic.addLesionAt(pointNode, artery=None if artery == "unassigned" else artery,
                                                           reader=reader))
        pointNode.RemoveAllControlPoints()

    def onLesionClicked(self, row: int, column: int) -> None:
        """Centre the slice views on the clicked lesion (its centroid, in world RAS)."""
        item = self.ui.lesionTableWidget.item(row, 0)
        if item is None:
            return
        import qt

        ras = item.data(qt.Qt.UserRole)
        slicer.vtkMRMLSliceNode.JumpAllSlices(slicer.mrmlScene, float(ras[0]), float(ras[1]), float(ras[2]),
                                              slicer.vtkMRMLSliceNode.CenteredJumpSlice)

    def onShowChartButton(self) -> None:
        chart = self._parameterNode.featureChart
        if chart:
            slicer.modules.plots.logic().ShowChartInLayout(chart)

    def onExportButton(self) -> None:
        import qt

        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("Export coronary calcium results to"))
        if not folder:
            return
        with slicer.util.tryWithErrorDisplay(_("Export failed."), waitCursor=True):
            written = self.logic.exportResults(folder)
            volumeNode = self._parameterNode.inputVolume
            if self.logic.dicomFilesOfVolumeNode(volumeNode) and slicer.util.confirmYesNoDisplay(
                    _("Also write DICOM SEG, SR and PDF for the PACS? They carry the patient's name and ID.")):
                written += self.logic.exportDicom(os.path.join(folder, "dicom"), volumeNode)
            slicer.util.infoDisplay(_("Written:") + "\n" + "\n".join(written))

    def onSetLicenseButton(self) -> None:
        import qt

        licenseNumber = qt.QInputDialog.getText(slicer.util.mainWindow(), _("TotalSegmentator licence"),
                                                _("Licence number (free for non-commercial use):"))
        if not licenseNumber:
            return
        if not self._ensureDependencies():
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to set the TotalSegmentator licence."), waitCursor=True):
            self.logic.setTotalSegmentatorLicense(licenseNumber.strip(), log=self._onLog)
            slicer.util.infoDisplay(_("Licence number saved. The coronary arteries task can now run."))


#
# CoronaryCalciumLogic
#


@dataclass
class CoronaryCalciumOutputs:
    """Nodes written by one assessment. ``regionSegmentation`` is the input segmentation when the user gave one."""

    regionSegmentation: Optional[vtkMRMLSegmentationNode] = None
    calciumSegmentation: Optional[vtkMRMLSegmentationNode] = None
    arteryTable: Optional[vtkMRMLTableNode] = None
    lesionTable: Optional[vtkMRMLTableNode] = None
    summaryTable: Optional[vtkMRMLTableNode] = None
    featureTable: Optional[vtkMRMLTableNode] = None
    featureChart: Optional[vtkMRMLPlotChartNode] = None


# (import name, pip requirement) of what the core needs in Slicer's Python, by use.
CORE_REQUIREMENTS = (("numpy", "numpy"), ("scipy", "scipy"), ("SimpleITK", "SimpleITK"), ("pydicom", "pydicom"),
                     ("slicerio", "slicerio"), ("nrrd", "pynrrd"))
# The classifier: pyradiomics features, the scikit-learn pipeline (read with skops), and the tree libraries a model file
# may hold (joblib comes with scikit-learn; model files hold no pickle). Never
# shap: it depends on a PyPI package named "slicer" that would shadow Slicer's own slicer module.
CLASSIFIER_REQUIREMENTS = (("radiomics", "pyradiomics"), ("sklearn", "scikit-learn"), ("skops", "skops"),
                           ("xgboost", "xgboost"), ("lightgbm", "lightgbm"))
TOTALSEGMENTATOR_REQUIREMENTS = (("torch", "torch"), ("totalsegmentator", "TotalSegmentator"))
# pyradiomics 3.0.1 has no wheel for Python 3.11: built against the installed numpy, needing these build tools
PYRADIOMICS_REQUIREMENT = "pyradiomics==3.0.1"
BUILD_TOOLS = ("setuptools", "wheel")
# Never let pip replace these in Slicer's Python: Slicer's own builds (SimpleITK has Slicer's IO), torch comes through
# the PyTorch extension, requests would force a restart, and the PyPI package "slicer" would shadow Slicer's module.
PROTECTED_PACKAGES = ("simpleitk", "torch", "requests", "slicer")


class CoronaryCalciumLogic(ScriptedLoadableModuleLogic):
    """Nodes in -> core -> nodes out. Usable without the Widget, e.g. from the Python console:

    >>> logic = CoronaryCalciumLogic()
    >>> assessment = logic.process(slicer.util.getNode("CT"), totalSegmentator=logic.totalSegmentatorSettings("heart"))
    >>> print(assessment.score.agatston, logic.outputs.lesionTable.GetName())

    No GUI calls here: questions to the user, dialogs and event processing belong to the Widget, which passes
    ``progress(fraction, message)`` and ``log(line)`` callbacks (they may raise ``AssessmentCancelled`` to stop).
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        self.outputs = CoronaryCalciumOutputs()
        self.lastAssessment = None
        self._reviewOf = None  # the parameter node's automaticResult that lastAssessment is
        self.loadTerminology()

    @staticmethod
    def loadTerminology() -> bool:
        """Load the extension's terminology context (Resources/Terminologies) into Slicer's Terminologies module, once:
        the calcium segments' type, "Pathologic calcification" (SCT 18115005), is in none of Slicer's own lists.
        Returns True when the context is loaded (False without the Terminologies module)."""
        import os

        from CoronaryCalciumLib.region.terminology import CALCIUM_TERMINOLOGY_CONTEXT

        modules = getattr(slicer, "modules", None)
        terminologies = getattr(modules, "terminologies", None)
        if terminologies is None:
            return False
        logic = terminologies.logic()
        loaded = vtk.vtkStringArray()
        logic.GetLoadedTerminologyNames(loaded)
        if CALCIUM_TERMINOLOGY_CONTEXT in [loaded.GetValue(index) for index in range(loaded.GetNumberOfValues())]:
            return True
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Resources", "Terminologies",
                            "SegmentationCategoryTypeModifier-CoronaryCalcium.term.json")
        return bool(logic.LoadTerminologyFromFile(path))

    def getParameterNode(self):
        return CoronaryCalciumParameterNode(super().getParameterNode())

    # --- inputs ----------------------------------------------------------------------------------------------------------

    @staticmethod
    def missingInput(parameterNode) -> str:
        """Why the assessment cannot start yet ('' when it can)."""
        if not parameterNode.inputVolume:
            return _("Select a CT volume.")
        if parameterNode.regionSource == RegionSource.SEGMENTATION and not parameterNode.inputSegmentation:
            return _("Select the segmentation that holds the region of interest.")
        return ""

    @staticmethod
    def runsTotalSegmentator(parameterNode) -> bool:
        """Whether the assessment runs TotalSegmentator: a TotalSegmentator source without an existing TotalSegmentator
        segmentation (``totalSegmentatorSegmentation``) to build the region from."""
        return parameterNode.regionSource.uses_totalsegmentator and not parameterNode.totalSegmentatorSegmentation

    @staticmethod
    def isUserError(error: Exception) -> bool:
        """True for the core's one-line input errors (shown without a traceback)."""
        from CoronaryCalciumLib.errors import CoronaryCalciumError

        return isinstance(error, (CoronaryCalciumError, DependencyError))

    def ctFromVolumeNode(self, volumeNode):
        """The core ``CTVolume`` of a scalar volume node, sharing its voxels (no copy); metadata from DICOM if loaded so."""
        from CoronaryCalciumLib.io.ct import ct_from_array

        if volumeNode is None or volumeNode.GetImageData() is None:
            from CoronaryCalciumLib.errors import InputError

            raise InputError("no CT volume given (or the volume holds no image data)")
        spacing, origin, direction = lpsGeometryOfVolumeNode(volumeNode)
        metadata = self.metadataOfVolumeNode(volumeNode)
        # the CT's own (untransformed) grid: outputs go under the CT's transform, lesion positions are mapped to world
        return ct_from_array(slicer.util.arrayFromVolume(volumeNode), spacing, origin, direction, metadata=metadata)

    @staticmethod
    def toWorld(volumeNode, inverse: bool = False) -> Callable[[Sequence[float]], Tuple[float, float, float]]:
        """Maps a point in the volume's own RAS (mm) to world RAS through the volume's parent transforms (``inverse``:
        world RAS to the volume's own RAS)."""
        parent = volumeNode.GetParentTransformNode() if volumeNode is not None else None
        if parent is None:
            return lambda point: tuple(float(value) for value in point)
        transform = vtk.vtkGeneralTransform()
        if inverse:
            slicer.vtkMRMLTransformNode.GetTransformBetweenNodes(None, parent, transform)
        else:
            slicer.vtkMRMLTransformNode.GetTransformBetweenNodes(parent, None, transform)
        return lambda point: tuple(float(value) for value in transform.TransformPoint([float(v) for v in point]))

    @classmethod
    def fromWorld(cls, volumeNode) -> Callable[[Sequence[float]], Tuple[float, float, float]]:
        """Maps a point in world RAS (mm) to the volume's own RAS (the grid the core scores on)."""
        return cls.toWorld(volumeNode, inverse=True)

    def metadataOfVolumeNode(self, volumeNode):
        """CTMetadata from the DICOM header of the volume's first instance (when loaded from DICOM), else minimal."""
        from CoronaryCalciumLib.io.ct import CTMetadata

        metadata = CTMetadata(source=volumeNode.GetName(), format="Slicer volume", modality=None)
        instanceUids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
        database = getattr(slicer, "dicomDatabase", None)
        if not instanceUids or database is None:
            return metadata
        path = database.fileForInstance(instanceUids[0])
        if not path:
            return metadata

        def tag(group_element: str) -> Optional[str]:
            value = database.fileValue(path, group_element)
            return value.strip() if value and value.strip() else None

        def number(group_element: str) -> Optional[float]:
            try:
                return float(tag(group_element))
            except (TypeError, ValueError):
                return None

        import types

        from CoronaryCalciumLib.io.dicom import contrast_agent_from_header

        header = types.SimpleNamespace(ContrastBolusAgent=tag("0018,0010") or "", ContrastBolusRoute=tag("0018,1040") or "")
        metadata.format = "DICOM (Slicer)"
        metadata.modality = tag("0008,0060")
        metadata.kvp = number("0018,0060")
        metadata.slice_thickness_mm = number("0018,0050")
        metadata.manufacturer = tag("0008,0070")
        metadata.model = tag("0008,1090")
        metadata.kernel = tag("0018,1210")
        metadata.contrast_agent = contrast_agent_from_header(header)
        metadata.series_uid = tag("0020,000E")
        metadata.series_description = tag("0008,103E")
        metadata.study_date = tag("0008,0020")
        return metadata

    def regionFromSegmentation(self, segmentationNode, segmentIds: Optional[Sequence[str]], volumeNode, ct):
        """Region of interest from segments of an existing segmentation, resampled by Slicer onto the CT grid.

        Segments whose names say LM, LAD, LCX or RCA (or the long names) become per-artery labels; the others are
        one unassigned region. Segments of a plain labelmap imported as it is (``Label_1`` ...) keep their label
        values and are read as the command line reads the file (1 = LM, 2 = LAD, 3 = LCX, 4 = RCA).
        """
        from CoronaryCalciumLib.errors import RegionError
        from CoronaryCalciumLib.region.mask import region_from_array
        from CoronaryCalciumLib.region.arteries import artery_for_name

        segmentation = segmentationNode.GetSegmentation()
        ids = [segmentId for segmentId in (segmentIds or []) if segmentId]
        if not ids:
            ids = [segmentation.GetNthSegmentID(index) for index in range(segmentation.GetNumberOfSegments())]
        if not ids:
            raise RegionError("segmentation '%s' has no segments: no region of interest" % segmentationNode.GetName())
        segmentNames: List[str] = []
        for segmentId in ids:
            segment = segmentation.GetSegment(segmentId)
            if segment is None:
                raise RegionError("segment '%s' is not in segmentation '%s'" % (segmentId, segmentationNode.GetName()))
            segmentNames.append(segment.GetName())
        exported = self._exportOnCtGrid(segmentationNode, ids, volumeNode)
        source = "Slicer segmentation '%s'" % segmentationNode.GetName()
        labelValues = [labelValueOfSegmentName(name) for name in segmentNames]
        if all(labelValues) and len(set(labelValues)) == len(labelValues):
            # a plain labelmap: its own values, named by the core's numbering as for a mask file
            lookup = np.array([0] + labelValues, dtype=np.int32)
            return region_from_array(lookup[exported], None, source=source)
        names = {index: artery_for_name(name) or "unassigned" for index, name in enumerate(segmentNames, start=1)}
        return region_from_array(exported, names, source=source)

    def _exportOnCtGrid(self, segmentationNode, segmentIds: Sequence[str], volumeNode) -> np.ndarray:
        """Segments exported by Slicer onto the CT volume's grid (resampled, transforms applied): uint8 (k, j, i), the
        n-th of ``segmentIds`` as label n (where segments overlap, a later one wins)."""
        from CoronaryCalciumLib.errors import RegionError

        exportIds = vtk.vtkStringArray()
        for segmentId in segmentIds:
            exportIds.InsertNextValue(segmentId)
        labelmapNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "CoronaryCalcium temporary region")
        try:
            if not slicer.modules.segmentations.logic().ExportSegmentsToLabelmapNode(
                    segmentationNode, exportIds, labelmapNode, volumeNode):
                raise RegionError("could not export segmentation '%s' onto the CT grid" % segmentationNode.GetName())
            return np.array(slicer.util.arrayFromVolume(labelmapNode), dtype=np.uint8, copy=True)
        finally:  # the export made a '<segmentation>_ColorTable' node for it
            self._removeTemporaryLabelmap(labelmapNode, ownColorNode=True)

    def regionFromTotalSegmentatorSegmentation(self, segmentationNode, volumeNode, ct, backend: str = "heart",
                                               marginMm: float = 2.0):
        """Region of interest from a segmentation that already holds TotalSegmentator's classes (the node Slicer's
        TotalSegmentator extension makes, or one loaded from a .seg.nrrd), without running TotalSegmentator.

        Segments named heart and aorta (and coronary_arteries for the 'coronary' backend), by TotalSegmentator's names
        (the extension's segment IDs) or the extension's display names (Heart, Aorta, Coronary artery), any case, are
        exported by Slicer onto the CT grid, one class at a time (segments of one class are joined), and the core builds
        from them the same heart shell or coronary region (``marginMm``), arteries and blood pool as from
        TotalSegmentator's output folder. Other segments are ignored. A missing class is a one-line RegionError naming
        the segments found.
        """
        from CoronaryCalciumLib.region import totalseg_names
        from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings, region_from_class_masks

        segmentation = segmentationNode.GetSegmentation()
        where = "segmentation '%s'" % segmentationNode.GetName()
        byClass: Dict[str, List[str]] = {}
        names: List[str] = []
        for index in range(segmentation.GetNumberOfSegments()):
            segmentId = segmentation.GetNthSegmentID(index)
            name = segmentation.GetSegment(segmentId).GetName()
            names.append(name)
            found = totalseg_names.totalseg_class(name) or totalseg_names.totalseg_class(segmentId)
            if found is not None:
                byClass.setdefault(found, []).append(segmentId)
        totalseg_names.require_classes(backend, byClass, names, where)
        used = totalseg_names.classes_used(backend)
        masks = {found: self._exportOnCtGrid(segmentationNode, byClass[found], volumeNode) > 0
                 for found in used if found in byClass}
        settings = TotalSegRegionSettings(backend=backend, margin_mm=marginMm)
        result = region_from_class_masks(ct, masks, settings, "Slicer segmentation '%s'" % segmentationNode.GetName(),
                                         where=where)
        note = ("region built from the TotalSegmentator segments (%s) of %s: TotalSegmentator was not run"
                % (", ".join(segmentation.GetSegment(segmentId).GetName()
                             for found in used for segmentId in byClass.get(found, ())), where))
        logging.info(note)
        result.region.warnings.insert(0, note)
        return result.region

    def regionFromTotalSegmentator(self, ct, settings, progress: Optional[Progress], log: Optional[Log]):
        """Region from TotalSegmentator with the core's ``TotalSegRegionSettings`` (see ``totalSegmentatorSettings``:
        run in a subprocess of Slicer's Python so the GUI keeps running); each output line goes to ``log`` (which may
        raise AssessmentCancelled to stop it)."""
        from CoronaryCalciumLib.region.totalseg_region import build_region

        return build_region(ct, settings, progress=progress, log=log).region

    def totalSegmentatorSettings(self, regionSource=RegionSource.HEART, fast: Optional[bool] = None,
                                 device: str = "auto", marginMm: float = 2.0):
        """The core's ``TotalSegRegionSettings`` for the heart shell or the coronary task ("heart", "coronary"), run in a
        subprocess of Slicer's Python. ``fast``: TotalSegmentator's 3 mm model for the heart task (None: on the CPU
        only; the coronary task has none, so it is ignored there); ``marginMm``: growth of the coronary mask (mm)."""
        from CoronaryCalciumLib.region.totalseg_region import TotalSegRegionSettings
        from CoronaryCalciumLib.region.totalseg_runner import TotalSegSettings

        source = RegionSource.of(regionSource)
        return TotalSegRegionSettings(
            backend=source.value, margin_mm=marginMm, in_process=False, python_executable=self.pythonExecutable(),
            totalseg=TotalSegSettings(device=device, fast=fast if source == RegionSource.HEART else None))

    @staticmethod
    def pythonExecutable() -> str:
        """Slicer's Python launcher (PythonSlicer), which sets up Slicer's environment for a child Python process."""
        import shutil
        import sys

        return shutil.which("PythonSlicer") or sys.executable

    # --- processing ----------------------------------------------------------------------------------------------------

    def process(self,
                inputVolume: vtkMRMLScalarVolumeNode,
                segmentationNode: Optional[vtkMRMLSegmentationNode] = None,
                segmentIds: Optional[Sequence[str]] = None,
                scoring=None,
                totalSegmentator=None,
                model: Optional[str] = "shipped",
                outputs: Optional[CoronaryCalciumOutputs] = None,
                progress: Optional[Progress] = None,
                log: Optional[Log] = None,
                totalSegmentatorSegmentation: Optional[vtkMRMLSegmentationNode] = None):
        """Assess coronary calcium on ``inputVolume``; return the core ``Assessment`` and write the output nodes.

        :param segmentationNode: the region of interest (only ``segmentIds`` of it when given); without it,
          TotalSegmentator builds the region with ``totalSegmentator``, the core's ``TotalSegRegionSettings`` (made by
          ``totalSegmentatorSettings``; default: the heart shell).
        :param scoring: the core's ``ScoringSettings``, made by ``scoring.agatston.scoring_settings`` (kVp, threshold,
          calibration factor c_HA in mg/(mm3 HU): without one no mass is reported; default: its defaults).
        :param model: the classifier on radiomics features: "shipped", a trusted model path, or None for none.
        :param totalSegmentatorSegmentation: without ``segmentationNode``: a segmentation holding TotalSegmentator's
          segments (heart, aorta, coronary_arteries); the region is built from it with ``totalSegmentator``'s backend and
          margin, and TotalSegmentator is not run.
        :param outputs: nodes to reuse; missing ones are created. The nodes written are in ``self.outputs``, and the CT,
          region and assessment in ``self.lastAssessment`` (for ``exportResults``).
        :raises CoronaryCalciumError: (InputError, RegionError, ContrastError) with a one-line message for bad input.
        """
        import time

        from CoronaryCalciumLib.pipeline import assess
        from CoronaryCalciumLib.progress import subrange
        from CoronaryCalciumLib.scoring.agatston import scoring_settings

        progress = progress or (lambda fraction, message: None)
        startTime = time.time()
        logging.info("Coronary calcium assessment started")

        progress(0.02, _("Reading the CT volume"))
        ct = self.ctFromVolumeNode(inputVolume)
        scoring = scoring or scoring_settings()
        if segmentationNode is not None:
            source = RegionSource.SEGMENTATION
            progress(0.05, _("Reading the region of interest from the segmentation"))
            region = self.regionFromSegmentation(segmentationNode, segmentIds, inputVolume, ct)
        else:
            totalSegmentator = totalSegmentator or self.totalSegmentatorSettings()
            source = RegionSource.of(totalSegmentator.backend)
            if totalSegmentatorSegmentation is not None:
                progress(0.05, _("Reading the region of interest from the TotalSegmentator segmentation"))
                region = self.regionFromTotalSegmentatorSegmentation(totalSegmentatorSegmentation, inputVolume, ct,
                                                                     source.value, totalSegmentator.margin_mm)
            else:
                progress(0.05, _("Segmenting with TotalSegmentator (this may take minutes on CPU)"))
                region = self.regionFromTotalSegmentator(ct, totalSegmentator, subrange(progress, 0.05, 0.6), log)

        progress(0.6, _("Scoring calcium"))
        assessment = assess(ct, region, scoring, case_id=inputVolume.GetName(), progress=subrange(progress, 0.6, 0.75))

        if model is not None:
            progress(0.75, _("Extracting radiomics features and running the classifier"))
            self.classify(ct, region, assessment, subrange(progress, 0.75, 0.92), model)
        self.lastAssessment = assessment  # carries the CT and region: exportResults writes the same files as the CLI

        progress(0.92, _("Writing results into the scene"))
        self.outputs = self.writeOutputs(assessment, region, inputVolume, source, segmentationNode, outputs)
        progress(1.0, _("Done"))
        logging.info("Coronary calcium assessment completed in %.1f s", time.time() - startTime)
        return assessment

    def processParameterNode(self, parameterNode, progress: Optional[Progress] = None, log: Optional[Log] = None):
        """``process`` with the choices stored in the module's parameter node; output nodes are stored back in it."""
        node = parameterNode
        segmentation = None
        if node.regionSource == RegionSource.SEGMENTATION:
            if not node.inputSegmentation:
                from CoronaryCalciumLib.errors import RegionError

                raise RegionError("region source 'segmentation' needs a segmentation node")
            segmentation = node.inputSegmentation
        assessment = self.process(node.inputVolume, segmentation, self.segmentIdsOfParameterNode(node),
                                  scoring=self.scoringSettingsOfParameterNode(node),
                                  totalSegmentator=self.totalSegmentatorSettingsOfParameterNode(node),
                                  model="shipped" if node.runClassifier else None,
                                  outputs=self.outputsOfParameterNode(node), progress=progress, log=log,
                                  totalSegmentatorSegmentation=node.totalSegmentatorSegmentation)
        written = self.outputs
        if node.regionSource != RegionSource.SEGMENTATION:
            node.regionSegmentation = written.regionSegmentation
        node.calciumSegmentation = written.calciumSegmentation
        node.arteryTable = written.arteryTable
        node.lesionTable = written.lesionTable
        node.summaryTable = written.summaryTable
        node.featureTable = written.featureTable
        node.featureChart = written.featureChart
        self.keepAutomatic(node, assessment)
        return assessment

    @staticmethod
    def scoringSettingsOfParameterNode(parameterNode):
        """The core's ``ScoringSettings`` of the parameter node's choices (its one builder, ``scoring_settings``)."""
        from CoronaryCalciumLib.scoring.agatston import scoring_settings

        node = parameterNode
        return scoring_settings(threshold_hu=node.thresholdHU if node.useCustomThreshold else None,
                                min_area_mm2=node.minAreaMm2, connectivity=node.connectivity,
                                kvp=None if node.kvp == TubeVoltage.FROM_DICOM else float(node.kvp.value),
                                calibration_factor=node.calibrationFactor or None, allow_contrast=node.allowContrast)

    def totalSegmentatorSettingsOfParameterNode(self, parameterNode):
        """The TotalSegmentator region settings of the parameter node (None when the region is a segmentation)."""
        node = parameterNode
        if not node.regionSource.uses_totalsegmentator:
            return None
        return self.totalSegmentatorSettings(node.regionSource, fast=node.fast, device=node.device,
                                             marginMm=node.coronaryMarginMm)

    @staticmethod
    def segmentIdsOfParameterNode(parameterNode) -> List[str]:
        """The chosen segments of the input segmentation (none chosen: all of them)."""
        return [segmentId for segmentId in parameterNode.inputSegmentIds.split(",") if segmentId]

    @staticmethod
    def outputsOfParameterNode(parameterNode) -> CoronaryCalciumOutputs:
        """The output nodes recorded in the parameter node (the input segmentation is the region when one is used)."""
        node = parameterNode
        region = node.inputSegmentation if node.regionSource == RegionSource.SEGMENTATION else node.regionSegmentation
        return CoronaryCalciumOutputs(region, node.calciumSegmentation, node.arteryTable, node.lesionTable,
                                      node.summaryTable, node.featureTable, node.featureChart)

    def classify(self, ct, region, assessment, progress: Optional[Progress] = None, model: str = "shipped") -> None:
        """Radiomics features in the region and the classifier's verdict, stored in ``assessment.classifier``.

        Uses the shipped model, or ``model`` (a path, which must be trusted, see the core's model registry). When the
        classifier cannot run (no model, region too small for texture features, pyradiomics missing) the scores stand
        and the reason is added to the warnings.
        """
        from CoronaryCalciumLib.classifier.step import classifier_step

        classify = classifier_step(model or "shipped", top=10, progress=progress, strict=False)
        classify(ct, region, assessment)

    # --- outputs -------------------------------------------------------------------------------------------------------

    def writeOutputs(self, assessment, region, volumeNode, source: RegionSource, inputSegmentation,
                     outputs: Optional[CoronaryCalciumOutputs] = None) -> CoronaryCalciumOutputs:
        """Segmentations, tables and the feature chart of an assessment (nodes in ``outputs`` are reused)."""
        outputs = outputs or CoronaryCalciumOutputs()
        name = volumeNode.GetName()
        written = CoronaryCalciumOutputs()
        if source == RegionSource.SEGMENTATION:
            written.regionSegmentation = inputSegmentation
        else:
            written.regionSegmentation = self._node(outputs.regionSegmentation, "vtkMRMLSegmentationNode",
                                                    "%s coronary region" % name if source == RegionSource.CORONARY
                                                    else "%s heart region" % name)
            self.writeRegionSegmentation(written.regionSegmentation, region, volumeNode, heart=source == RegionSource.HEART)
        self.writeScoreOutputs(assessment, volumeNode, outputs, written)
        from CoronaryCalciumLib.reporting.display import feature_units, top_features

        features = top_features(assessment)
        if features:
            written.featureTable = self._node(outputs.featureTable, "vtkMRMLTableNode", "%s CAC top features" % name)
            written.featureChart = self._node(outputs.featureChart, "vtkMRMLPlotChartNode",
                                              "%s CAC feature importance" % name)
            self.writeFeatureChart(written.featureTable, written.featureChart, features, feature_units(assessment))
        return written

    def writeScoreOutputs(self, assessment, volumeNode, outputs: CoronaryCalciumOutputs,
                          written: CoronaryCalciumOutputs) -> None:
        """The nodes that follow the score (what a review edit changes): the calcium segmentation and the per-artery,
        lesion and summary tables, reusing the nodes in ``outputs``; the nodes are set in ``written``."""
        name = volumeNode.GetName()
        written.calciumSegmentation = self._node(outputs.calciumSegmentation, "vtkMRMLSegmentationNode",
                                                 "%s coronary calcium" % name)
        self.writeCalciumSegmentation(written.calciumSegmentation, assessment, volumeNode)
        written.arteryTable = self._node(outputs.arteryTable, "vtkMRMLTableNode", "%s CAC per artery" % name)
        self.writeArteryTable(written.arteryTable, assessment)
        written.lesionTable = self._node(outputs.lesionTable, "vtkMRMLTableNode", "%s CAC lesions" % name)
        self.writeLesionTable(written.lesionTable, assessment, self.toWorld(volumeNode))
        written.summaryTable = self._node(outputs.summaryTable, "vtkMRMLTableNode", "%s CAC summary" % name)
        self.writeSummaryTable(written.summaryTable, assessment)

    @staticmethod
    def _node(existing, className: str, name: str):
        if existing is not None:
            return existing
        return slicer.mrmlScene.AddNewNodeByClass(className, slicer.mrmlScene.GenerateUniqueName(name))

    @staticmethod
    def _segment(segmentationNode, segmentId: str, name: str, color, terminology: str, mask: np.ndarray, volumeNode):
        """A named, coloured, coded segment holding ``mask`` (k, j, i on the CT grid). Name and colour are ours: not
        auto-generated, so Slicer does not rename or recolour them."""
        segmentation = segmentationNode.GetSegmentation()
        segmentation.AddEmptySegment(segmentId, name, color)
        segment = segmentation.GetSegment(segmentId)
        segment.SetTag(slicer.vtkSegment.GetTerminologyEntryTagName(), terminology)
        segment.SetNameAutoGenerated(False)
        segment.SetColorAutoGenerated(False)
        # through a labelmap node with the CT's geometry and transform (the segmentation is under the same transform:
        # the voxels are copied, not moved); made without display nodes and removed, so nothing is left in the scene
        labelmapNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "CoronaryCalcium temporary")
        try:
            labelmapNode.CopyOrientation(volumeNode)
            labelmapNode.SetAndObserveTransformNodeID(volumeNode.GetTransformNodeID())
            slicer.util.updateVolumeFromArray(labelmapNode, mask)
            ids = vtk.vtkStringArray()
            ids.InsertNextValue(segmentId)
            if not slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelmapNode, segmentationNode,
                                                                                         ids):
                raise RuntimeError("could not write segment '%s' into '%s'" % (name, segmentationNode.GetName()))
        finally:
            CoronaryCalciumLogic._removeTemporaryLabelmap(labelmapNode)

    @staticmethod
    def _removeTemporaryLabelmap(labelmapNode, ownColorNode: bool = False) -> None:
        """Remove a temporary labelmap node, its display node and (``ownColorNode``: made for it by an export) its
        colour table."""
        displayNode = labelmapNode.GetDisplayNode()
        if displayNode is not None:
            colorNode = displayNode.GetColorNode()
            if ownColorNode and colorNode is not None:
                slicer.mrmlScene.RemoveNode(colorNode)
            slicer.mrmlScene.RemoveNode(displayNode)
        slicer.mrmlScene.RemoveNode(labelmapNode)

    def _resetSegmentation(self, segmentationNode, volumeNode) -> None:
        """Empty the segmentation, on the CT's geometry and under the CT's transform (set before segments are written,
        so that they overlay the CT in world space)."""
        segmentationNode.GetSegmentation().RemoveAllSegments()
        segmentationNode.SetAndObserveTransformNodeID(volumeNode.GetTransformNodeID())
        segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(volumeNode)
        segmentationNode.CreateDefaultDisplayNodes()

    def writeRegionSegmentation(self, segmentationNode, region, volumeNode, heart: bool) -> None:
        """One segment per region label, named and coded (coronary artery, each artery, or heart)."""
        self._resetSegmentation(segmentationNode, volumeNode)
        for value, artery in sorted(region.names.items()):
            if heart and artery == "unassigned":
                name, color, terminology = "Heart region", REGION_COLORS["heart"], regionTerminology("", heart=True)
            else:
                from CoronaryCalciumLib.region.arteries import ARTERY_LONG_NAMES

                name = ARTERY_LONG_NAMES[artery]
                color = arteryColor(artery) if artery != "unassigned" else REGION_COLORS["coronary"]
                terminology = regionTerminology(artery)
            mask = np.equal(region.labels, value).view(np.uint8)
            self._segment(segmentationNode, "region_%d" % value, name, color, terminology, mask, volumeNode)

    def writeCalciumSegmentation(self, segmentationNode, assessment, volumeNode) -> None:
        """One segment per artery holding scored calcium, in the artery's colour, coded as calcification in it."""
        from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

        self._resetSegmentation(segmentationNode, volumeNode)
        score = assessment.score
        arteries = [artery for artery in ARTERIES_AND_UNASSIGNED if score.per_artery[artery].lesion_count > 0]
        if not arteries:
            return
        values = {artery: index for index, artery in enumerate(ARTERIES_AND_UNASSIGNED, start=1)}
        labels = score.artery_label_volume(values)
        for artery in arteries:
            mask = np.equal(labels, values[artery]).view(np.uint8)
            self._segment(segmentationNode, "calcium_%s" % artery, "%s calcium" % artery, arteryColor(artery),
                          calciumTerminology(artery), mask, volumeNode)

    @staticmethod
    def _fillTable(tableNode, columns: Sequence[Tuple[str, str, Sequence[object], str]]) -> None:
        """Replace the table's content: columns of (name, 'string' or 'double', values, unit)."""
        tableNode.RemoveAllColumns()
        for name, kind, values, unit in columns:
            array = vtk.vtkStringArray() if kind == "string" else vtk.vtkDoubleArray()
            array.SetName(name)
            array.SetNumberOfValues(len(values))
            for index, value in enumerate(values):
                if kind == "string":
                    array.SetValue(index, "" if value is None else str(value))
                else:
                    array.SetValue(index, float("nan") if value is None else float(value))
            tableNode.AddColumn(array)
            if unit:
                tableNode.SetColumnUnitLabel(name, unit)
        tableNode.Modified()

    def writeArteryTable(self, tableNode, assessment) -> None:
        """Agatston, volume, mass and lesion count per artery, with a total row."""
        from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

        score = assessment.score
        rows = [(artery, score.per_artery[artery]) for artery in ARTERIES_AND_UNASSIGNED]
        self._fillTable(tableNode, [
            ("Artery", "string", [artery for artery, _entry in rows] + ["Total"], ""),
            ("Agatston", "double", [entry.agatston for _a, entry in rows] + [score.agatston], ""),
            ("Volume", "double", [entry.volume_mm3 for _a, entry in rows] + [score.volume_mm3], "mm3"),
            ("Mass", "double", [entry.mass_mg for _a, entry in rows] + [score.mass_mg], "mg"),
            ("Integrated mass", "double", [entry.integrated_mass_mg for _a, entry in rows] + [score.integrated_mass_mg],
             "mg"),
            ("Lesions", "double", [entry.lesion_count for _a, entry in rows] + [len(score.lesions)], ""),
        ])

    def writeLesionTable(self, tableNode, assessment, toWorld=None) -> None:
        """One row per lesion, largest first; the centroid in RAS mm (world coordinates with ``toWorld``)."""
        rows = lesionRows(assessment, toWorld)
        lesions = {lesion.id: lesion for lesion in assessment.score.lesions + assessment.score.excluded_lesions}
        self._fillTable(tableNode, [
            ("Lesion", "double", [row["id"] for row in rows], ""),
            ("Artery", "string", [row["artery"] for row in rows], ""),
            ("Agatston", "double", [row["agatston"] for row in rows], ""),
            ("Volume", "double", [row["volume_mm3"] for row in rows], "mm3"),
            ("Mass", "double", [row["mass_mg"] for row in rows], "mg"),
            ("Integrated mass", "double", [row["integrated_mass_mg"] for row in rows], "mg"),
            ("Peak", "double", [row["peak_hu"] for row in rows], "HU"),
            ("Mean", "double", [lesions[row["id"]].mean_hu for row in rows], "HU"),
            ("First slice", "double", [lesions[row["id"]].first_slice for row in rows], ""),
            ("Last slice", "double", [lesions[row["id"]].last_slice for row in rows], ""),
            ("R", "double", [row["ras"][0] for row in rows], "mm"),
            ("A", "double", [row["ras"][1] for row in rows], "mm"),
            ("S", "double", [row["ras"][2] for row in rows], "mm"),
        ])

    def writeSummaryTable(self, tableNode, assessment) -> None:
        """Scores, categories, classifier verdict, the settings used and the warnings, as (item, value) rows."""
        from CoronaryCalciumLib.reporting import display

        texts = display.score_texts(assessment, translate=coreText)
        classifier = display.classifier_wording(assessment, translate=coreText)
        items = [("Agatston", texts["agatston"]), ("Volume", texts["volume"]), ("Mass", texts["mass"]),
                 ("Category", texts["category"]), ("CAC-DRS", texts["cac_drs"]),
                 ("Image quality", display.image_quality(assessment, translate=coreText)),
                 ("Classifier", classifier.verdict), ("Model", classifier.model), ("Note", classifier.note),
                 ("Review", display.review_status(assessment))]
        items = [(item, value) for item, value in items if value]
        if assessment.reviewed:
            items += [("Edit", "%s (%s, %s)" % (edit.describe(), edit.reader or _("unnamed reader"), edit.time))
                      for edit in assessment.review.edits]
        items += [("Setting: %s" % key, str(value)) for key, value in sorted(assessment.score.settings.items())]
        items += [("Warning", warning) for warning in assessment.warnings]
        self._fillTable(tableNode, [("Item", "string", [item for item, _v in items], ""),
                                    ("Value", "string", [value for _i, value in items], "")])

    def writeFeatureChart(self, tableNode, chartNode, features: Sequence[Tuple[str, float]], units: str = "") -> None:
        """Bar chart of the features that pushed this case's score most (a table node, a bar plot series, the chart)."""
        self._fillTable(tableNode, [("Feature", "string", [name for name, _value in features], ""),
                                    ("Contribution", "double", [value for _name, value in features], units)])
        seriesNode = chartNode.GetPlotSeriesNode()
        if seriesNode is None:
            seriesNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", chartNode.GetName() + " series")
        seriesNode.SetAndObserveTableNodeID(tableNode.GetID())
        seriesNode.SetLabelColumnName("Feature")
        seriesNode.SetYColumnName("Contribution")
        seriesNode.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeBar)
        seriesNode.SetColor(0.89, 0.16, 0.18)
        chartNode.RemoveAllPlotSeriesNodeIDs()
        chartNode.AddAndObservePlotSeriesNodeID(seriesNode.GetID())
        chartNode.SetTitle("Top feature contributions to this case (TreeSHAP)")
        chartNode.SetXAxisTitle("Feature")
        chartNode.SetYAxisTitle("Contribution (%s)" % units if units else "Contribution")
        chartNode.SetLegendVisibility(False)

    # --- reader review -------------------------------------------------------------------------------------------------
    # The core replays the edits on the automatic result (Assessment.apply_review); these methods only turn nodes and
    # clicks into edits, keep the edits in the parameter node (so a saved scene reopens reviewed) and rewrite the
    # nodes that follow the score. A bad edit raises the core's InputError and changes nothing.

    def keepAutomatic(self, parameterNode, assessment) -> None:
        """Keep a new automatic result in the parameter node: its JSON, its lesion ids (a labelmap on the CT grid,
        saved with the scene) and an empty review."""
        node = parameterNode
        volumeNode = node.inputVolume
        labelsNode = node.lesionIds or slicer.mrmlScene.AddNewNodeByClass(
            "vtkMRMLLabelMapVolumeNode", slicer.mrmlScene.GenerateUniqueName("%s CAC lesion ids" % volumeNode.GetName()))
        labelsNode.CopyOrientation(volumeNode)
        labelsNode.SetAndObserveTransformNodeID(volumeNode.GetTransformNodeID())
        slicer.util.updateVolumeFromArray(labelsNode, assessment.automatic_score.lesion_label_volume())
        node.lesionIds = labelsNode
        node.automaticResult = assessment.to_json(include_phi=True)
        node.reviewEdits = ""
        self._reviewOf = node.automaticResult

    def reviewEdits(self, parameterNode=None) -> list:
        """The reader's edits kept in the parameter node (core ``review.Edit`` objects, in order)."""
        import json

        from CoronaryCalciumLib.review.edits import Edit

        text = (parameterNode or self.getParameterNode()).reviewEdits
        return [Edit.from_dict(item) for item in json.loads(text)] if text else []

    def restoreReview(self, parameterNode=None):
        """The assessment of a parameter node rebuilt from the scene (a reopened scene): the automatic result, the CT
        (refused unless its SHA-256 is the one assessed), region and lesion ids, with the kept edits re-applied; the
        score nodes are rewritten and it becomes ``lastAssessment`` (what Export writes)."""
        import json

        from CoronaryCalciumLib.errors import InputError
        from CoronaryCalciumLib.result import Assessment
        from CoronaryCalciumLib.review.case_dir import settings_of, with_voxels

        node = parameterNode or self.getParameterNode()
        if not node.automaticResult:
            raise InputError("nothing to review: run an assessment first")
        volumeNode = node.inputVolume
        case = Assessment.from_dict(json.loads(node.automaticResult))
        ct = self.ctFromVolumeNode(volumeNode)
        regionNode = self.outputsOfParameterNode(node).regionSegmentation
        segmentIds = self.segmentIdsOfParameterNode(node) if node.regionSource == RegionSource.SEGMENTATION else None
        if regionNode is None:
            raise InputError("the region segmentation of this assessment is not in the scene: assess again")
        labels = slicer.util.arrayFromVolume(node.lesionIds) if node.lesionIds else None
        case = with_voxels(case, ct, lambda: self.regionFromSegmentation(regionNode, segmentIds, volumeNode, ct),
                           labels, "CT volume '%s'" % volumeNode.GetName(), "the assessment kept in this scene")
        case.apply_review(self.reviewEdits(node), settings_of(case))
        self.lastAssessment = case
        self._reviewOf = node.automaticResult
        self.writeScoreOutputs(case, volumeNode, self.outputsOfParameterNode(node), CoronaryCalciumOutputs())
        return case

    def applyReview(self, edits, parameterNode=None):
        """Make ``edits`` (core ``review.Edit``, all of them in order; fewer than kept is an undo) the review of the
        parameter node's assessment: the core recomputes the score, the score nodes are rewritten and the edits kept
        in the parameter node. Returns the reviewed assessment."""
        import json

        from CoronaryCalciumLib.review.case_dir import settings_of

        node = parameterNode or self.getParameterNode()
        if self.lastAssessment is None or self._reviewOf != node.automaticResult:
            self.restoreReview(node)
        case = self.lastAssessment
        case.apply_review(list(edits), settings_of(case))
        node.reviewEdits = json.dumps([edit.to_dict() for edit in edits]) if edits else ""
        self.writeScoreOutputs(case, node.inputVolume, self.outputsOfParameterNode(node), CoronaryCalciumOutputs())
        return case

    def addReviewEdit(self, edit, parameterNode=None):
        """One more edit after the kept ones."""
        return self.applyReview(self.reviewEdits(parameterNode) + [edit], parameterNode)

    def setArtery(self, lesionId: int, artery: str, reader: str = "", parameterNode=None):
        """Attribute lesion ``lesionId`` (the table's #) to ``artery`` (LM, LAD, LCX, RCA or unassigned)."""
        from CoronaryCalciumLib.review.edits import Edit

        return self.addReviewEdit(Edit("artery", lesion=int(lesionId), artery=artery, reader=reader), parameterNode)

    def excludeLesion(self, lesionId: int, reason: str = "other", reader: str = "", parameterNode=None):
        """Leave lesion ``lesionId`` out of the score for ``reason`` (noise, bone, aortic, valve, mitral, device,
        other)."""
        from CoronaryCalciumLib.review.edits import Edit

        return self.addReviewEdit(Edit("exclude", lesion=int(lesionId), reason=reason, reader=reader), parameterNode)

    def includeLesion(self, lesionId: int, reader: str = "", parameterNode=None):
        """Count an excluded lesion (by the reader or a lesion filter) again."""
        from CoronaryCalciumLib.review.edits import Edit

        return self.addReviewEdit(Edit("include", lesion=int(lesionId), reader=reader), parameterNode)

    def addLesionAt(self, point, artery: Optional[str] = None, reader: str = "", parameterNode=None):
        """Add the calcium at ``point``: world RAS mm (3 numbers, e.g. a slice-view click) or a markups node (its
        first control point), in ``artery`` (None: unassigned). The core grows and scores it in LPS."""
        from CoronaryCalciumLib.errors import InputError
        from CoronaryCalciumLib.review.edits import Edit

        node = parameterNode or self.getParameterNode()
        if hasattr(point, "GetNumberOfControlPoints"):
            if point.GetNumberOfControlPoints() < 1:
                raise InputError("markups '%s' has no point to add a lesion at" % point.GetName())
            world = [0.0, 0.0, 0.0]
            point.GetNthControlPointPositionWorld(0, world)
            point = world
        lps = rasToLps(self.fromWorld(node.inputVolume)(point))
        return self.addReviewEdit(Edit("add", point_lps_mm=lps, artery=artery, reader=reader), node)

    def undo(self, count: int = 1, parameterNode=None):
        """Drop the last ``count`` edits."""
        from CoronaryCalciumLib.errors import InputError

        edits = self.reviewEdits(parameterNode)
        if count < 1 or count > len(edits):
            raise InputError("cannot undo %d edit(s): the review has %d" % (count, len(edits)))
        return self.applyReview(edits[:-count], parameterNode)

    # --- export and batch ----------------------------------------------------------------------------------------------

    def exportResults(self, folder: str, assessment=None) -> List[str]:
        """Write the last assessment's files with the core's writers (the same as the command line's): result.json,
        lesions.csv, region.seg.nrrd, calcium.seg.nrrd and report.html. Returns the paths written."""
        from CoronaryCalciumLib.reporting.case_files import write_case_outputs

        assessment = assessment or self.lastAssessment
        if assessment is None:
            raise ValueError("nothing to export: run an assessment first")
        return sorted(write_case_outputs(folder, assessment).values())

    def dicomFilesOfVolumeNode(self, volumeNode) -> List[str]:
        """The DICOM files a volume was loaded from (Slicer's DICOM database); empty when it was not."""
        database = getattr(slicer, "dicomDatabase", None)
        instanceUids = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split() if volumeNode else []
        if database is None:
            return []
        files = [database.fileForInstance(uid) for uid in instanceUids]
        return files if files and all(files) else []

    def exportDicom(self, folder: str, volumeNode, assessment=None) -> List[str]:
        """DICOM SEG, SR (TID 1500), PDF report and Encapsulated PDF of the last assessment of a volume loaded from
        DICOM, with the core's writers (the same as ``--dicom-out``); they carry the patient's data. Slicer's DICOM
        module (QuantitativeReporting) loads the SEG and SR. Returns the paths written."""
        from CoronaryCalciumLib.reporting.dicom_outputs import write_dicom_outputs

        assessment = assessment or self.lastAssessment
        if assessment is None:
            raise ValueError("nothing to export: run an assessment first")
        files = self.dicomFilesOfVolumeNode(volumeNode)
        if not files:
            raise ValueError("the CT was not loaded from Slicer's DICOM database: DICOM outputs need its images")
        return sorted(write_dicom_outputs(folder, assessment, source_files=files).values())

    def processFiles(self, inputs: Sequence[str], outputFolder: str, mask: Optional[str] = None,
                     regionSource=RegionSource.MASK, scoring=None, model: Optional[str] = "shipped",
                     force: bool = False, log: Optional[Log] = None):
        """Batch: assess CT files or folders (DICOM trees, NIfTI/NRRD/MHA, or a manifest CSV with image and mask
        columns) and write each case's result.json, lesions.csv, .seg.nrrd files and report under ``outputFolder``,
        plus summary.csv. The core's batch runner does the work: finished cases are skipped (``force`` redoes them),
        a failed case is recorded and the others go on. Nothing is added to the scene.

        ``regionSource`` "mask" takes each case's mask (manifest column, a NAME_mask file beside the image, or ``mask``
        for a single input); "heart" or "coronary" builds every case's region with TotalSegmentator (in a subprocess of
        Slicer's Python). ``scoring``: the core's ``ScoringSettings`` (``scoring_settings``); ``model``: "shipped", a
        trusted model path, or None. Runs in this process, one case at a time (Slicer's Python cannot start worker
        processes safely); for many cases use the ``coronary-calcium assess`` command line with ``-j``.

        :returns: the core's ``BatchReport`` (``rows``: one summary row per case; ``failed``).
        """
        from CoronaryCalciumLib.batch import BatchOptions, discover, run_batch
        from CoronaryCalciumLib.scoring.agatston import scoring_settings

        source = RegionSource.of(regionSource)
        cases = discover(list(inputs), mask=mask)
        totalseg = self.totalSegmentatorSettings(source) if source.uses_totalsegmentator else None
        options = BatchOptions(settings=scoring or scoring_settings(), totalseg=totalseg, model=model, force=force)
        return run_batch(cases, outputFolder, options, workers=1, log=log or logging.info, progress_bar=False)

    # --- dependencies --------------------------------------------------------------------------------------------------

    @staticmethod
    def missingRequirements(regionSource=RegionSource.HEART, runClassifier: bool = True) -> List[str]:
        """pip requirements (and 'torch', which comes from the PyTorch extension) missing from Slicer's Python."""
        needed = list(CORE_REQUIREMENTS)
        if runClassifier:
            needed += CLASSIFIER_REQUIREMENTS
        if RegionSource.of(regionSource).uses_totalsegmentator:
            needed += TOTALSEGMENTATOR_REQUIREMENTS
        return [requirement for importName, requirement in needed if importlib.util.find_spec(importName) is None]

    @staticmethod
    def missingBuildTools() -> List[str]:
        """setuptools and wheel when missing from this Python: pyradiomics builds without build isolation, and pip
        fails with "invalid command 'bdist_wheel'" where wheel is missing."""
        return [name for name in BUILD_TOOLS if importlib.util.find_spec(name) is None]

    @staticmethod
    def installSteps(requirements: Sequence[str], missingBuildTools: Sequence[str] = ()) -> List[Tuple[str, str]]:
        """The install plan, in order, as (kind, what): kind "pip" (pip arguments, one command), "ensure" (plain
        requirements, together), "torch" (the PyTorch extension), "totalsegmentator" (keeping Slicer's packages).

        setuptools and wheel (when missing) come first, then numpy, which pyradiomics builds against without build
        isolation; then torch before TotalSegmentator.
        """
        pending = list(requirements)
        steps: List[Tuple[str, str]] = []
        if "pyradiomics" in pending and missingBuildTools:
            steps.append(("pip", " ".join(missingBuildTools)))
        if "numpy" in pending:
            steps.append(("pip", "numpy"))
        if "pyradiomics" in pending:
            steps.append(("pip", "%s --no-build-isolation" % PYRADIOMICS_REQUIREMENT))
        if "torch" in pending:
            steps.append(("torch", "torch"))
        plain = [requirement for requirement in pending
                 if requirement not in ("numpy", "pyradiomics", "torch", "TotalSegmentator")]
        if plain:
            steps.append(("ensure", " ".join(plain)))
        if "TotalSegmentator" in pending:
            steps.append(("totalsegmentator", "TotalSegmentator"))
        return steps

    @staticmethod
    def slicerPackaging():
        """Slicer's ``slicer.packaging`` (Slicer 5.10 and later: ``pip_ensure``, ``pip_install``), else None."""
        try:
            import slicer.packaging as packaging
        except ImportError:
            return None
        return packaging if hasattr(packaging, "pip_ensure") and hasattr(packaging, "pip_install") else None

    def installRequirements(self, requirements: Sequence[str], log: Optional[Log] = None) -> None:
        """Install missing packages into Slicer's Python, in the order of ``installSteps``: with Slicer's
        ``slicer.packaging`` where it exists (``pip_ensure`` for plain requirements), else ``slicer.util.pip_install``
        (older Slicer); torch through the PyTorch extension, TotalSegmentator without letting it replace Slicer's
        packages. The Widget has asked the user already and handles restarts.

        :raises DependencyError: when something cannot be installed here (``restartRequired`` when Slicer must restart).
        """
        log = log or logging.info
        packaging = self.slicerPackaging()
        pipInstall = packaging.pip_install if packaging is not None else slicer.util.pip_install
        buildTools = self.missingBuildTools() if "pyradiomics" in requirements else []
        for kind, what in self.installSteps(requirements, buildTools):
            log("Installing %s..." % what)
            if kind == "torch":
                self.installPyTorch(log)
            elif kind == "totalsegmentator":
                self.installWithoutProtectedPackages(what, log)
            elif kind == "ensure" and packaging is not None:
                packaging.pip_ensure(what.split(), prompt_install=False, prompt_restart=False,
                                     requester="Coronary Calcium", skip_in_testing=False)
            elif kind == "ensure":
                for requirement in what.split():
                    pipInstall(requirement)
            else:
                pipInstall(what)
        importlib.invalidate_caches()
        importNames = {requirement: importName for importName, requirement in
                       CORE_REQUIREMENTS + CLASSIFIER_REQUIREMENTS + TOTALSEGMENTATOR_REQUIREMENTS}
        notImportable = [requirement for requirement in requirements
                         if importlib.util.find_spec(importNames.get(requirement, requirement)) is None]
        if notImportable:
            raise DependencyError("installed %s, but Slicer must restart before they can be used"
                                  % ", ".join(notImportable), restartRequired=True)

    @staticmethod
    def installPyTorch(log: Log) -> None:
        """torch through the PyTorch extension (it picks the build for this computer's GPU or CPU)."""
        try:
            import PyTorchUtils
        except ModuleNotFoundError:
            raise DependencyError("TotalSegmentator needs PyTorch: install the 'PyTorch' extension from the Extensions "
                                  "Manager, restart Slicer and try again", restartRequired=False) from None
        torchLogic = PyTorchUtils.PyTorchUtilsLogic()
        if not torchLogic.torchInstalled():
            log("Installing PyTorch (this may take several minutes)...")
            if torchLogic.installTorch(askConfirmation=False, torchVersionRequirement=">=2.0.0") is None:
                raise DependencyError("PyTorch could not be installed; use the PyTorch Utils module to install it")

    @staticmethod
    def installWithoutProtectedPackages(distribution: str, log: Log) -> None:
        """pip-install a distribution and its dependencies, except PROTECTED_PACKAGES (kept as Slicer has them)."""
        import importlib.metadata
        import re

        slicer.util.pip_install("%s --no-deps" % distribution)
        importlib.invalidate_caches()
        for requirement in importlib.metadata.requires(distribution) or []:
            if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
                continue  # optional extras are not installed
            name = re.split(r"[ <>=!~;\[(]", requirement.strip(), maxsplit=1)[0]
            if name.lower().replace("_", "-") in PROTECTED_PACKAGES:
                log("- keeping Slicer's %s" % name)
                continue
            try:
                importlib.metadata.version(name)
                continue  # already there: do not upgrade packages other modules may rely on
            except importlib.metadata.PackageNotFoundError:
                pass
            log("- installing %s" % requirement)
            slicer.util.pip_install(requirement.split(";", 1)[0].strip())

    def setTotalSegmentatorLicense(self, licenseNumber: str, log: Optional[Log] = None) -> None:
        """Store the TotalSegmentator licence number (the core runs TotalSegmentator's own licence tool)."""
        from CoronaryCalciumLib.region import totalseg_region

        totalseg_region.set_license(licenseNumber, python_executable=self.pythonExecutable(), log=log)


#
# CoronaryCalciumTest
#


class CoronaryCalciumTest(ScriptedLoadableModuleTest):
    """
    This is the test case for your scripted module.
    Uses ScriptedLoadableModuleTest base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def setUp(self):
        """Do whatever is needed to reset the state - typically a scene clear will be enough."""
        slicer.mrmlScene.Clear()

    def runTest(self):
        """Run as few or as many tests as needed here."""
        self.setUp()
        self.test_CoronaryCalcium_phantom()

    def test_CoronaryCalcium_phantom(self):
        """A generated phantom with known calcium: the Logic, given the phantom's exact coronary mask as a segmentation,
        scores what the core scores on the same voxels, close to the phantom's truth, and writes every output node."""
        self.delayDisplay("Generating a phantom (about 5 s)")
        from CoronaryCalciumLib.phantom import generate_case, materials, small_config
        from CoronaryCalciumLib.pipeline import assess
        from CoronaryCalciumLib.region.arteries import ARTERIES
        from CoronaryCalciumLib.scoring.agatston import ScoringSettings, scoring_settings

        case = generate_case(21, small_config(burden="severe", noise_sd_hu=20.0))
        ct = case.ct
        volumeNode = slicer.util.addVolumeFromArray(ct.array, ijkToRasOfGeometry(ct.geometry), "Phantom CT")
        segmentationNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Phantom coronary arteries")
        segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(volumeNode)
        for value, artery in enumerate(ARTERIES, start=1):
            mask = np.equal(case.coronary_labels_exact, value).view(np.uint8)
            if mask.any():
                segmentationNode.GetSegmentation().AddEmptySegment(artery, artery, arteryColor(artery))
                slicer.util.updateSegmentBinaryLabelmapFromArray(mask, segmentationNode, artery, volumeNode)

        self.delayDisplay("Assessing the phantom")
        calibration = materials.CALIBRATION_FACTOR_MG_PER_MM3_HU
        logic = CoronaryCalciumLogic()
        result = logic.process(volumeNode, segmentationNode,
                               scoring=scoring_settings(kvp=case.config.kvp, calibration_factor=calibration), model=None)

        # the adapter changes nothing: the core on the phantom's own arrays gives the same scores
        direct = assess(ct, case.coronary_region(exact=True),
                        ScoringSettings(kvp=case.config.kvp, calibration_factor=calibration))
        self.assertAlmostEqual(result.score.agatston, direct.score.agatston, places=6)
        self.assertAlmostEqual(result.score.volume_mm3, direct.score.volume_mm3, places=6)
        self.assertEqual(len(result.score.lesions), len(direct.score.lesions))
        for artery in ARTERIES:
            self.assertAlmostEqual(result.score.per_artery[artery].agatston, direct.score.per_artery[artery].agatston,
                                   places=6)
        # and close to the truth (noise-free image in the lesion masks); 35% is the generator's own noisy-image bound
        truth = case.truth.reference.agatston
        self.assertGreater(truth, 100)
        self.assertLess(abs(result.score.agatston - truth), 0.35 * truth)

        outputs = logic.outputs
        self.assertIs(outputs.regionSegmentation, segmentationNode)
        self.assertEqual(outputs.lesionTable.GetNumberOfRows(),
                         len(result.score.lesions) + len(result.score.excluded_lesions))
        from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

        self.assertEqual(outputs.arteryTable.GetNumberOfRows(), len(ARTERIES_AND_UNASSIGNED) + 1)
        calcium = outputs.calciumSegmentation.GetSegmentation()
        withCalcium = [artery for artery in ARTERIES_AND_UNASSIGNED if result.score.per_artery[artery].lesion_count]
        self.assertTrue(withCalcium)
        self.assertEqual(calcium.GetNumberOfSegments(), len(withCalcium))
        self.assertIsNotNone(outputs.summaryTable)
        self.delayDisplay("Test passed")
