#!/usr/bin/env python3
"""Render the module panel (CoronaryCalcium/Resources/UI/CoronaryCalcium.ui) to a PNG without Slicer.

Qt Designer's file is loaded with PySide6's QUiLoader after replacing Slicer's and CTK's widgets by plain Qt
placeholders (collapsible buttons -> group boxes, node selectors -> combo boxes, table view -> table widget), so the
picture shows the real layout, labels, tooltips-free controls and options of the panel, not Slicer's exact look.

With ``--example`` (default) the Results section is filled by the module's own Logic, run against the Slicer stand-ins of
the test suite on a small synthetic CT with three calcified plaques, through the core's text functions that the Widget
uses (``reporting.display``: ``score_texts``, ``lesion_rows``...). Nothing is made up: the numbers are what the module computes on that input. The
classifier runs in the example only when the shipped model (models/) and pyradiomics are installed.

    QT_QPA_PLATFORM=offscreen python tools/render_panel.py [--out Resources/Screenshots/panel.png] [--no-example]
"""

from __future__ import annotations

import argparse
import os
import sys
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UI_FILE = os.path.join(REPO, "CoronaryCalcium", "Resources", "UI", "CoronaryCalcium.ui")
DEFAULT_OUT = os.path.join(REPO, "Resources", "Screenshots", "panel.png")
_APPLICATION = None
EXAMPLE_CALIBRATION = 0.00079  # mg/(mm3 HU), a typical 120 kVp value (docs/calcium-scoring.md)

# Slicer/CTK class -> Qt placeholder class
PLACEHOLDERS = {
    "qMRMLWidget": "QWidget",
    "ctkCollapsibleButton": "QGroupBox",
    "qMRMLNodeComboBox": "QComboBox",
    "qMRMLSegmentSelectorWidget": "QComboBox",
    "qMRMLTableView": "QTableWidget",
}
# Properties of the Slicer widgets that the placeholders do not have (dropped to keep QUiLoader quiet).
SLICER_ONLY_PROPERTIES = {"nodeTypes", "showChildNodeTypes", "addEnabled", "removeEnabled", "renameEnabled",
                          "noneEnabled", "noneDisplay", "multiSelection", "editEnabled", "collapsed",
                          "SlicerParameterName"}
# What each node selector would show in Slicer on the example scene.
SELECTOR_TEXT = {
    "inputVolumeSelector": "Synthetic CT",
    "regionSegmentSelector": "Synthetic coronary arteries: LAD, LCX, RCA",
    "regionSegmentationSelector": "Create new segmentation",
    "calciumSegmentationSelector": "Synthetic CT coronary calcium",
}


def placeholder_ui(path: str) -> bytes:
    """The .ui XML with Slicer widgets swapped for Qt ones; collapsed sections keep only their title."""
    tree = ET.parse(path)
    root = tree.getroot()
    for widget in root.iter("widget"):
        cls = widget.get("class")
        collapsed = any(p.get("name") == "collapsed" and p.findtext("bool") == "true" for p in widget.findall("property"))
        if cls == "ctkCollapsibleButton":
            for prop in widget.findall("property"):
                if prop.get("name") == "text":
                    prop.set("name", "title")
                    text = prop.find("string")
                    text.text = ("\u25b8 " if collapsed else "\u25be ") + text.text + (" (collapsed)" if collapsed else "")
            if collapsed:
                for child in list(widget):
                    if child.tag == "layout":
                        widget.remove(child)
                flat = ET.SubElement(widget, "property", name="flat")
                ET.SubElement(flat, "bool").text = "true"
                height = ET.SubElement(widget, "property", name="maximumHeight")
                ET.SubElement(height, "number").text = "24"
        if cls in PLACEHOLDERS:
            widget.set("class", PLACEHOLDERS[cls])
        for prop in list(widget.findall("property")):
            if prop.get("name") in SLICER_ONLY_PROPERTIES:
                widget.remove(prop)
    for tag in ("customwidgets", "connections"):
        for element in root.findall(tag):
            root.remove(element)
    return ET.tostring(root, encoding="utf-8")


def example_assessment():
    """Run the module's Logic on a small synthetic CT (stand-in Slicer scene); return (module, assessment, logic)."""

    sys.path.insert(0, os.path.join(REPO, "Testing"))
    sys.path.insert(0, os.path.join(REPO, "CoronaryCalcium"))
    from support import slicer_standins

    module = slicer_standins.load_module()
    with slicer_standins.active():
        return _run_example(module, slicer_standins)


def _run_example(module, slicer_standins):
    import numpy as np
    import slicer

    slicer_standins.reset_scene()
    ct = np.full((24, 96, 96), 40, dtype=np.int16)
    ct[:, :, :6] = -1000
    ct[:, :4, :] = -1000
    plaques = (((8, 12), (30, 36), (40, 46), 520), ((11, 13), (60, 64), (24, 28), 310), ((15, 16), (50, 53), (70, 73), 240))
    for (z0, z1), (y0, y1), (x0, x1), hu in plaques:
        ct[z0:z1, y0:y1, x0:x1] = hu
    volume = slicer.util.addVolumeFromArray(ct, np.diag([-0.6, -0.6, 3.0, 1.0]), "Synthetic CT")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Synthetic coronary arteries")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    boxes = {"LAD": (slice(None), slice(26, 40), slice(36, 50)), "LCX": (slice(None), slice(46, 58), slice(64, 80)),
             "RCA": (slice(None), slice(56, 68), slice(20, 32))}
    for artery, box in boxes.items():
        mask = np.zeros(ct.shape, dtype=np.uint8)
        mask[box] = 1
        segmentation.GetSegmentation().AddEmptySegment(artery, artery)
        slicer.util.updateSegmentBinaryLabelmapFromArray(mask, segmentation, artery, volume)
    from CoronaryCalciumLib.scoring.agatston import scoring_settings

    logic = module.CoronaryCalciumLogic()
    assessment = logic.process(volume, segmentation,
                               scoring=scoring_settings(kvp=120.0, calibration_factor=EXAMPLE_CALIBRATION),
                               model="shipped" if _shipped_model_available() else None)
    return module, assessment, logic


def _shipped_model_available() -> bool:
    """The classifier runs in the example when the shipped model is installed (and pyradiomics is)."""
    import importlib.util

    if importlib.util.find_spec("radiomics") is None:
        return False
    from CoronaryCalciumLib.errors import CoronaryCalciumError
    from CoronaryCalciumLib.classifier.model import shipped_model_path

    try:
        shipped_model_path("binary")
    except CoronaryCalciumError:
        return False
    return True


def fill_results(window, module, assessment, logic) -> None:
    from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem

    def child(cls, name):
        widget = window.findChild(cls, name)
        if widget is None:
            raise SystemExit("the panel has no %s named %s" % (cls.__name__, name))
        return widget

    from CoronaryCalciumLib.reporting import display

    texts = display.score_texts(assessment)
    verdict, model = display.classifier_texts(assessment)
    child(QLabel, "verdictLabel").setText(verdict)
    child(QLabel, "modelLabel").setText(model or "(no shipped classifier installed when this picture was made)")
    for name, key in (("agatstonLabel", "agatston"), ("volumeLabel", "volume"), ("massLabel", "mass"),
                      ("categoryLabel", "category"), ("cacDrsLabel", "cac_drs")):
        child(QLabel, name).setText(texts[key])
    artery_table = child(QTableWidget, "arteryTableView")
    table_node = logic.outputs.arteryTable
    artery_table.setColumnCount(table_node.GetNumberOfColumns())
    artery_table.setRowCount(table_node.GetNumberOfRows())
    artery_table.setHorizontalHeaderLabels([table_node.GetColumnName(c) for c in range(table_node.GetNumberOfColumns())])
    for r in range(table_node.GetNumberOfRows()):
        for c in range(table_node.GetNumberOfColumns()):
            text = table_node.GetCellText(r, c)
            artery_table.setItem(r, c, QTableWidgetItem("-" if text == "nan" else text))
    artery_table.resizeColumnsToContents()
    lesions = child(QTableWidget, "lesionTableWidget")
    rows = display.lesion_rows(assessment)
    lesions.setColumnCount(len(display.LESION_COLUMNS))
    lesions.setHorizontalHeaderLabels(list(display.LESION_COLUMNS))
    lesions.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(display.lesion_cells(row)):
            lesions.setItem(r, c, QTableWidgetItem(text))
    lesions.resizeColumnsToContents()
    lesions.selectRow(0)
    child(QLabel, "warningsLabel").setText("\n".join("\u26a0 " + w for w in assessment.warnings))
    child(QLabel, "statusLabel").setText("Done.")
    child(QProgressBar, "progressBar").setValue(100)
    child(QPushButton, "applyButton").setEnabled(True)
    child(QPushButton, "exportButton").setEnabled(True)
    features = display.top_features(assessment)
    child(QLabel, "featuresLabel").setText("\n".join("%s: %+.3g" % pair for pair in features) or "-")
    child(QPushButton, "showChartButton").setEnabled(bool(features))
    from PySide6.QtWidgets import QCheckBox

    child(QCheckBox, "classifierCheckBox").setChecked(assessment.classifier is not None)


def render(out_path: str, example: bool) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtUiTools import QUiLoader
    from PySide6.QtWidgets import QApplication, QComboBox

    global _APPLICATION
    app = QApplication.instance() or QApplication([])
    _APPLICATION = app  # keep it alive: Qt widgets made later in this process need it
    data = QByteArray(placeholder_ui(UI_FILE))
    buffer = QBuffer(data)
    buffer.open(QIODevice.ReadOnly)
    window = QUiLoader().load(buffer)
    if window is None:
        raise SystemExit("QUiLoader could not load %s" % UI_FILE)
    for name, text in SELECTOR_TEXT.items():
        combo = window.findChild(QComboBox, name)
        if combo is not None:
            combo.addItem(text)
    if example:
        module, assessment, logic = example_assessment()
        from CoronaryCalciumLib.region.source import RegionSource

        enum_combos = {"regionSourceComboBox": [source.label() for source in RegionSource],
                       "kvpComboBox": [v.label() for v in module.TubeVoltage],
                       "deviceComboBox": list(module.DEVICES), "connectivityComboBox": ["8", "4"]}
        for name, items in enum_combos.items():
            combo = window.findChild(QComboBox, name)
            if combo is not None:  # None inside a collapsed section
                combo.addItems(items)
        window.findChild(QComboBox, "regionSourceComboBox").setCurrentIndex(2)
        # as the Widget's _updateGui does for an existing segmentation
        from PySide6.QtWidgets import QPushButton

        window.findChild(QPushButton, "setLicenseButton").setVisible(False)
        from PySide6.QtWidgets import QLabel

        window.findChild(QLabel, "totalSegmentatorSegmentationLabel").setVisible(False)
        window.findChild(QComboBox, "totalSegmentatorSegmentationSelector").setVisible(False)
        from PySide6.QtWidgets import QCheckBox

        fast = window.findChild(QCheckBox, "fastCheckBox")
        fast.setChecked(True)  # the parameter node's default
        fast.setEnabled(False)
        window.findChild(QComboBox, "deviceComboBox").setEnabled(False)
        window.findChild(QComboBox, "kvpComboBox").setCurrentIndex(4)
        from PySide6.QtWidgets import QDoubleSpinBox

        window.findChild(QDoubleSpinBox, "calibrationSpinBox").setValue(EXAMPLE_CALIBRATION)
        fill_results(window, module, assessment, logic)
    window.resize(460, 10)
    window.adjustSize()
    window.resize(460, window.sizeHint().height())
    window.show()
    app.processEvents()
    image = window.grab()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    if not image.save(out_path):
        raise SystemExit("could not write %s" % out_path)
    window.close()
    return out_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="PNG to write (default Resources/Screenshots/panel.png)")
    parser.add_argument("--no-example", action="store_true", help="leave the Results section empty")
    args = parser.parse_args(argv)
    path = render(args.out, example=not args.no_example)
    print("wrote %s" % os.path.relpath(path, REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
