"""The panel's existing-TotalSegmentator selector on stand-ins: with a TotalSegmentator segmentation chosen, the
controls that only apply to running TotalSegmentator (fast model, device, licence) are off and the first-use install
does not ask for TotalSegmentator; the selector shows only for the TotalSegmentator sources. The widget's ``_updateGui``
and ``_ensureDependencies`` run on the real parameter-node stand-in, with plain objects for the .ui file's widgets
(every name the .ui declares, nothing else), since the stand-ins do not model Qt."""

from __future__ import annotations

import os
import types
import xml.etree.ElementTree as ElementTree

import pytest

from support import slicer_standins
from support.slicer_standins.fixtures import _slicer_standins, module  # noqa: F401  (pytest fixtures)

UI_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "CoronaryCalcium", "Resources", "UI", "CoronaryCalcium.ui")


class _Control:
    """What the widget code reads and sets on a Qt widget: visible, enabled, toolTip; node and segment selection."""

    def __init__(self) -> None:
        self.visible = True
        self.enabled = True
        self.toolTip = ""
        self._node = None
        self._segments = []

    def currentNode(self):
        return self._node

    def setCurrentNode(self, node) -> None:
        self._node = node

    def selectedSegmentIDs(self):
        return list(self._segments)

    def setSelectedSegmentIDs(self, ids) -> None:
        self._segments = list(ids)


def _widget(module):
    names = {element.get("name") for element in ElementTree.parse(UI_FILE).iter("widget")}
    widget = module.CoronaryCalciumWidget()
    widget.ui = types.SimpleNamespace(**{name: _Control() for name in names})
    widget.logic = module.CoronaryCalciumLogic()
    widget._parameterNode = widget.logic.getParameterNode()
    return widget


@pytest.fixture
def scene(module):
    return slicer_standins.reset_scene()


def test_an_existing_totalsegmentator_segmentation_turns_off_the_controls_of_running_it(module, scene):
    import slicer

    widget = _widget(module)
    node, ui = widget._parameterNode, widget.ui
    node.inputVolume = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "CT")
    node.regionSource = module.RegionSource.HEART
    widget._updateGui()
    assert ui.totalSegmentatorSegmentationSelector.visible and ui.totalSegmentatorSegmentationLabel.visible
    assert ui.fastCheckBox.enabled and ui.deviceComboBox.enabled
    assert ui.applyButton.enabled

    node.totalSegmentatorSegmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "TotalSeg")
    widget._updateGui()
    assert not ui.fastCheckBox.enabled and not ui.deviceComboBox.enabled
    assert ui.applyButton.enabled

    node.regionSource = module.RegionSource.CORONARY
    widget._updateGui()
    assert not ui.setLicenseButton.visible and ui.coronaryMarginSpinBox.enabled  # the margin still applies
    node.totalSegmentatorSegmentation = None
    widget._updateGui()
    assert ui.setLicenseButton.visible and ui.deviceComboBox.enabled

    node.regionSource = module.RegionSource.SEGMENTATION
    widget._updateGui()
    assert not ui.totalSegmentatorSegmentationSelector.visible and not ui.totalSegmentatorSegmentationLabel.visible
    assert ui.regionSegmentSelector.visible


def test_the_first_use_install_does_not_ask_for_totalsegmentator_when_its_segmentation_is_given(module, scene,
                                                                                                 monkeypatch):
    import slicer

    widget = _widget(module)
    node = widget._parameterNode
    node.regionSource = module.RegionSource.HEART
    node.runClassifier = False
    asked = []
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: None)  # nothing installed
    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay",
                        lambda text, title="", **kwargs: asked.append(kwargs.get("detailedText", "")) or False,
                        raising=False)

    assert widget._ensureDependencies() is False
    assert "TotalSegmentator" in asked[-1] and "torch" in asked[-1]

    node.totalSegmentatorSegmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "TotalSeg")
    assert widget._ensureDependencies() is False
    assert "TotalSegmentator" not in asked[-1] and "torch" not in asked[-1] and "numpy" in asked[-1]
