"""The panel's .ui loads in Qt (PySide6, offscreen) once Slicer's widgets are replaced by plain Qt ones, every widget
the module uses survives, and tools/render_panel.py draws it with the Logic's results on a synthetic CT."""

from __future__ import annotations

import os
import re
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_FILE = os.path.join(REPO, "CoronaryCalcium", "CoronaryCalcium.py")

pytest.importorskip("PySide6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.join(REPO, "tools"))
import render_panel  # noqa: E402

sys.path.pop(0)


def test_panel_renders_with_the_logics_results(tmp_path):
    from PIL import Image
    from PySide6.QtWidgets import QApplication, QLabel, QWidget

    out = tmp_path / "panel.png"
    render_panel.render(str(out), example=True)
    image = Image.open(out)
    assert image.width >= 400 and image.height >= 900, image.size

    # the widgets the module drives exist in the loaded panel, under the names it uses
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtUiTools import QUiLoader

    app = QApplication.instance() or QApplication([])
    data = QByteArray(render_panel.placeholder_ui(render_panel.UI_FILE))
    buffer = QBuffer(data)
    buffer.open(QIODevice.ReadOnly)
    window = QUiLoader().load(buffer)
    with open(MODULE_FILE, encoding="utf-8") as stream:
        used = set(re.findall(r"self\.ui\.(\w+)", stream.read()))
    names = {widget.objectName() for widget in window.findChildren(QWidget)}
    collapsed = {"connectivityComboBox", "minAreaSpinBox", "coronaryMarginSpinBox", "allowContrastCheckBox",
                 "regionSegmentationSelector", "calciumSegmentationSelector", "logTextEdit"}  # hidden when collapsed
    assert used - collapsed <= names, sorted(used - collapsed - names)
    assert window.findChild(QLabel, "verdictLabel") is not None
    window.close()
    assert app is not None


def test_example_numbers_come_from_the_logic():
    """The screenshot's numbers are the module's own output on the synthetic CT, not typed in."""
    from CoronaryCalciumLib.reporting import display

    module, assessment, logic = render_panel.example_assessment()
    texts = display.score_texts(assessment)
    assert float(texts["agatston"]) == pytest.approx(assessment.score.agatston, abs=0.05)
    assert assessment.score.mass_mg is not None and texts["mass"].endswith("mg")
    assert len(display.lesion_rows(assessment)) == 3
    assert assessment.score.category.cac_drs == "CAC-DRS A2/N3"
