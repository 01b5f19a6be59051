"""Slice and 3D views rendered by Slicer's displayable managers (trame-slicer, offscreen EGL) from the Logic's own
output nodes: calcium shows in its artery's colour at the lesion's centroid, tissue beside it does not, and each
artery's calcium surfaces in 3D have that artery's hue."""

from __future__ import annotations

import numpy as np

from support import slicer_views

# the calcium fill is opaque: the rendered colour is the segment colour up to 8-bit rounding and blending at edges
TOLERANCE = 6


def _lesion_voxel_values(run):
    """The artery label volume of the assessment (k, j, i) and the values of each artery in it."""
    from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED

    values = {artery: index for index, artery in enumerate(ARTERIES_AND_UNASSIGNED, start=1)}
    return run.assessment.score.artery_label_volume(values), values


def _voxel_of(run, ras):
    import vtk

    matrix = vtk.vtkMatrix4x4()
    run.case.ct.GetRASToIJKMatrix(matrix)
    i, j, k = (int(round(value)) for value in matrix.MultiplyPoint(list(ras) + [1.0])[:3])
    return k, j, i


def test_views_render_offscreen_with_egl(rendered):
    assert rendered.views.renderWindowClass() == "vtkEGLRenderWindow"


def test_the_axial_view_shows_a_lesion_centroid_in_its_artery_colour_and_tissue_beside_it_in_grey(rendered):
    from CoronaryCalciumLib.region.arteries import ARTERY_COLORS

    run, views = rendered.run, rendered.views
    labels, values = _lesion_voxel_values(run)
    lesions = sorted(run.assessment.score.lesions, key=lambda lesion: -lesion.volume_mm3)
    checked = set()
    for lesion in lesions:
        ras = run.module.lpsToRas(lesion.centroid_lps_mm)
        if labels[_voxel_of(run, ras)] != values[lesion.artery]:
            continue  # a curved lesion's centroid can lie outside it
        image = views.axial(run.case.ct, run.logic.outputs.calciumSegmentation, run.case.segmentation, ras, 120.0)
        row, column = views.pixelOfRas(ras)
        pixel = image[row, column].astype(int)
        expected = slicer_views.color255(ARTERY_COLORS[lesion.artery])
        assert np.abs(pixel - expected).max() <= TOLERANCE, (lesion.id, lesion.artery, pixel, expected)
        checked.add(lesion.artery)

        # 15 mm to the side, in the CT's tissue, away from calcium: grey, and no artery's colour
        beside = (ras[0] + 15.0, ras[1], ras[2])
        assert labels[_voxel_of(run, beside)] == 0
        row, column = views.pixelOfRas(beside)
        grey = image[row, column].astype(int)
        assert grey.max() - grey.min() <= 2, grey
        for color in ARTERY_COLORS.values():
            assert np.abs(grey - slicer_views.color255(color)).max() > 3 * TOLERANCE, grey
    assert len(checked) >= 2, checked


def _chromaticity(pixels: np.ndarray) -> np.ndarray:
    """r, g, b / (r + g + b): the same for a colour however brightly it is shaded."""
    pixels = np.asarray(pixels, dtype=float)
    return pixels / np.maximum(pixels.sum(axis=-1, keepdims=True), 1.0)


def test_the_3d_view_shows_each_artery_s_calcium_in_its_artery_s_hue(rendered):
    from CoronaryCalciumLib.region.arteries import ARTERY_COLORS

    run, views = rendered.run, rendered.views
    calcium = run.logic.outputs.calciumSegmentation
    views.threeD.set_background_gradient_color([0, 0, 0], [0, 0, 0])  # black: edges blend to darker, not another hue
    views.threeDimensional(calcium)
    display, segments = calcium.GetDisplayNode(), calcium.GetSegmentation()
    # lesions one slice thick are flat discs seen edge-on from the front: only arteries with thicker calcium are checked
    thick = {lesion.artery for lesion in run.assessment.score.lesions if lesion.last_slice > lesion.first_slice}
    segmentIds = {segments.GetSegment(segments.GetNthSegmentID(index)).GetName().split()[0]:
                  segments.GetNthSegmentID(index) for index in range(segments.GetNumberOfSegments())}
    assert len(thick) >= 2 and thick <= set(segmentIds), (thick, segmentIds)

    def image(visible):
        for artery, segmentId in segmentIds.items():
            display.SetSegmentVisibility3D(segmentId, artery == visible)
        views.threeD.render()
        return slicer_views.imageOfWindow(views.threeD.render_window()).astype(int)

    empty = image(None)
    assert empty.max() <= 2  # nothing but the black background without calcium
    names = list(ARTERY_COLORS)
    references = _chromaticity([ARTERY_COLORS[name] for name in names])
    for artery in sorted(thick):
        shown = image(artery)
        drawn = shown.max(axis=2) > 40
        assert drawn.sum() >= 10, artery
        median = np.median(_chromaticity(shown[drawn]), axis=0)
        nearest = names[int(np.argmin(((references - median) ** 2).sum(axis=1)))]
        assert nearest == artery, (artery, median)
