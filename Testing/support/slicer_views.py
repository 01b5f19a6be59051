"""Real Slicer views rendered offscreen with trame-slicer (``make figures-slicer`` / ``make test-figures``, venv
``.venv-figures``).

trame-slicer's ``SliceView`` and ``ThreeDView`` are Slicer's displayable managers (volume slices, 2D and 3D segmentation
display) in an offscreen VTK render window (EGL, Mesa here). They are attached to the scene made by
``support/slicer_real.py``, so they show the Logic's own output nodes in the scene the Logic wrote them into.

    views = slicer_views.Views(width=640, height=640)
    image = views.axial(ctNode, calciumNode, regionNode, sliceOffsetMm)   # (height, width, 3) uint8, row 0 at the top
"""

from __future__ import annotations

import importlib.util
import os
from typing import Optional, Sequence, Tuple

import numpy as np

# region outlines in one light grey, so that only the calcium fill shows artery colours
REGION_OUTLINE_COLOR = (0.85, 0.85, 0.85)
# a mediastinal window: soft tissue grey, contrast-free blood pool mid grey, calcium white (HU)
WINDOW_HU, LEVEL_HU = 600.0, 100.0


def trame_slicer_installed() -> bool:
    """Whether trame-slicer can be imported here (without importing it)."""
    return importlib.util.find_spec("trame_slicer") is not None


def imageOfWindow(renderWindow) -> np.ndarray:
    """The render window's pixels, (rows, columns, RGB) uint8, row 0 at the top (as in a PNG)."""
    import vtk
    from vtkmodules.util.numpy_support import vtk_to_numpy

    capture = vtk.vtkWindowToImageFilter()
    capture.SetInput(renderWindow)
    capture.ReadFrontBufferOff()
    capture.Update()
    image = capture.GetOutput()
    columns, rows, _ = image.GetDimensions()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(rows, columns, -1)[:, :, :3]
    return np.ascontiguousarray(pixels[::-1])  # VTK's row 0 is the bottom


class Views:
    """An axial slice view and a 3D view on ``slicer.mrmlScene`` (``slicer_real.install()`` first)."""

    def __init__(self, width: int = 640, height: int = 640):
        # offscreen without a display: VTK's EGL render window (read when a render window is made)
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        import slicer
        from vtkmodules.vtkCommonCore import vtkCollection
        from trame_slicer.views import SliceView, ThreeDView
        from trame_slicer.views.render_scheduler import DirectRendering

        scene = slicer.mrmlScene
        applicationLogic = slicer.app.applicationLogic()
        # what trame-slicer's SlicerApp sets up for its views (its own scene is not used: the glue's scene holds the
        # module logics the Logic runs with)
        if applicationLogic.GetSliceLogics() is None:
            applicationLogic.SetSliceLogics(vtkCollection())
            applicationLogic.SetViewLogics(vtkCollection())
        slicer.vtkMRMLThreeDViewDisplayableManagerFactory.GetInstance().SetMRMLApplicationLogic(applicationLogic)
        slicer.vtkMRMLSliceViewDisplayableManagerFactory.GetInstance().SetMRMLApplicationLogic(applicationLogic)
        slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene, True)
        self.size = (width, height)
        self.slice = SliceView(scene, applicationLogic, "Red", scheduled_render_strategy=DirectRendering())
        self.threeD = ThreeDView(scene, applicationLogic, "1", scheduled_render_strategy=DirectRendering())
        for view in (self.slice, self.threeD):
            view.render_window().SetSize(width, height)
            view.interactor().UpdateSize(width, height)

    def renderWindowClass(self) -> str:
        """The VTK render window class in use (vtkEGLRenderWindow when offscreen EGL works)."""
        return self.slice.render_window().GetClassName()

    @staticmethod
    def _showRegionOutline(regionNode) -> None:
        display = regionNode.GetDisplayNode()
        display.SetVisibility2DFill(0)
        display.SetVisibility2DOutline(1)
        display.SetSliceIntersectionThickness(2)
        segments = regionNode.GetSegmentation()
        for index in range(segments.GetNumberOfSegments()):
            display.SetSegmentOverrideColor(segments.GetNthSegmentID(index), *REGION_OUTLINE_COLOR)

    def axial(self, ctNode, calciumNode, regionNode, centreRas: Sequence[float], fieldOfViewMm: float = 0.0
              ) -> np.ndarray:
        """The axial slice through ``centreRas`` (RAS, mm), centred on it: the CT, the calcium segments filled in their
        own colours, the region's outline; ``fieldOfViewMm`` > 0 zooms to that width (mm)."""
        ctDisplay = ctNode.GetDisplayNode()
        ctDisplay.SetAutoWindowLevel(0)
        ctDisplay.SetWindowLevel(WINDOW_HU, LEVEL_HU)
        self._showRegionOutline(regionNode)
        calcium = calciumNode.GetDisplayNode()
        calcium.SetVisibility2DFill(1)
        calcium.SetOpacity2DFill(1.0)
        calcium.SetVisibility2DOutline(0)
        view = self.slice
        view.set_background_volume_id(ctNode.GetID())
        view.set_orientation("Axial")
        view.fit_view_to_content()
        if fieldOfViewMm > 0:
            sliceNode = view.get_view_node()
            fov = sliceNode.GetFieldOfView()
            sliceNode.SetFieldOfView(fieldOfViewMm, fieldOfViewMm * fov[1] / fov[0], fov[2])
        view.get_view_node().JumpSliceByCentering(*centreRas[:3])
        view.render()
        return imageOfWindow(view.render_window())

    def pixelOfRas(self, ras: Sequence[float]) -> Tuple[int, int]:
        """(row, column) in the last axial image (row 0 at the top) of an RAS point (mm) on the slice."""
        import vtk

        rasToXy = vtk.vtkMatrix4x4()
        rasToXy.DeepCopy(self.slice.get_view_node().GetXYToRAS())
        rasToXy.Invert()
        x, y = rasToXy.MultiplyPoint(list(ras) + [1.0])[:2]
        return self.size[1] - 1 - int(round(y)), int(round(x))

    def threeDimensional(self, calciumNode, regionNode: Optional[object] = None, regionOpacity: float = 0.2
                         ) -> np.ndarray:
        """The calcium segments as closed surfaces in their own colours (and the region, faint grey), from the front."""
        calciumNode.CreateClosedSurfaceRepresentation()
        calciumNode.GetDisplayNode().SetVisibility3D(1)
        calciumNode.GetDisplayNode().SetOpacity3D(1.0)
        if regionNode is not None:
            regionNode.CreateClosedSurfaceRepresentation()
            display = regionNode.GetDisplayNode()
            display.SetVisibility3D(1)
            display.SetOpacity3D(regionOpacity)
            segments = regionNode.GetSegmentation()
            for index in range(segments.GetNumberOfSegments()):  # the 2D override colour is not used in 3D
                segments.GetNthSegment(index).SetColor(*REGION_OUTLINE_COLOR)
        view = self.threeD
        # with depth peeling (trame-slicer's default) Mesa's EGL renderer here drew no translucent surface at all
        view.renderer().SetUseDepthPeeling(False)
        view.set_box_visible(False)
        view.fit_view_to_content()
        view.render()
        return imageOfWindow(view.render_window())


def color255(rgb: Sequence[float]) -> np.ndarray:
    """A 0-1 RGB colour as 0-255 integers (as the render writes it)."""
    return np.round(np.asarray(rgb, dtype=float) * 255.0).astype(int)


# the README's case: a small severe phantom (256 x 256 x 40, 3 mm slices) with calcium in the LAD, LCX and RCA
PHANTOM_SEED, PHANTOM_BURDEN = 21, "severe"


def assessedPhantom(folder: str, seed: int = PHANTOM_SEED, burden: str = PHANTOM_BURDEN):
    """A phantom written to ``folder``, its CT read by Slicer's volume reader, its coronary mask imported as a plain
    labelmap, and the module's Logic run on them (no classifier) in the real scene.

    :returns: a namespace with ``module``, ``case`` (``ct``, ``segmentation``), ``logic`` (its ``outputs`` are the nodes
      to render) and ``assessment``.
    """
    import types

    from CoronaryCalciumLib.phantom import generate_case, small_config
    from CoronaryCalciumLib.phantom.writer import write_case

    from support import slicer_real

    module = slicer_real.load_module()
    write_case(generate_case(seed, small_config(burden=burden, noise_sd_hu=20.0)), folder)
    case = slicer_real.types_case(folder)
    logic = module.CoronaryCalciumLogic()
    assessment = logic.process(case.ct, case.segmentation, model=None)
    return types.SimpleNamespace(module=module, case=case, logic=logic, assessment=assessment)


def largestLesion(assessment):
    """The lesion with the largest volume (mm3)."""
    return max(assessment.score.lesions, key=lambda lesion: lesion.volume_mm3)
