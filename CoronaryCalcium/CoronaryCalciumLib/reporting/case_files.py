"""Per-case output files: result.json, lesions.csv, region.seg.nrrd, calcium.seg.nrrd, lesion_ids.nrrd (lesion ids on
the CT grid: what a review needs) and report.html.

``write_case_outputs`` fills a folder; callers that need all-or-nothing (batch runs) give it a temporary folder and
rename it when it is complete.
"""

from __future__ import annotations

import csv
import os
from typing import Dict, List

from ..result import Assessment
from ..region.arteries import ARTERIES, ARTERIES_AND_UNASSIGNED, ARTERY_COLORS
from ..io.seg_nrrd import Segment, write_segmentation
from ..region.terminology import calcium_terminology, region_terminology

LESION_COLUMNS = ("id", "artery", "agatston", "volume_mm3", "mass_mg", "peak_hu", "mean_hu", "voxel_count",
                  "centroid_x_lps_mm", "centroid_y_lps_mm", "centroid_z_lps_mm", "first_slice", "last_slice",
                  "integrated_mass_mg")
CASE_FILES = ("result.json", "lesions.csv", "region.seg.nrrd", "calcium.seg.nrrd", "lesion_ids.nrrd", "report.html")
REVIEWED_FILES = ("result.json", "lesions.csv", "calcium.seg.nrrd", "lesion_ids.nrrd", "report.html")


def write_lesions_csv(path: str, case: Assessment) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(LESION_COLUMNS)
        for lesion in case.score.lesions:
            x, y, z = lesion.centroid_lps_mm
            writer.writerow([lesion.id, lesion.artery, "%.4f" % lesion.agatston, "%.4f" % lesion.volume_mm3,
                             "" if lesion.mass_mg is None else "%.4f" % lesion.mass_mg, "%.1f" % lesion.peak_hu,
                             "%.2f" % lesion.mean_hu, lesion.voxel_count, "%.3f" % x, "%.3f" % y, "%.3f" % z,
                             lesion.first_slice, lesion.last_slice,
                             "" if lesion.integrated_mass_mg is None else "%.4f" % lesion.integrated_mass_mg])


def region_segments(case: Assessment) -> List[Segment]:
    """One segment per region label: per-artery labels by artery name, a binary region as 'coronary region'."""
    region = case.region_of_interest
    segments = []
    for value, name in sorted(region.names.items()):
        label = "%s region" % name if name in ARTERIES else "coronary region"
        if sum(1 for n in region.names.values() if n == name) > 1:
            label += " %d" % value
        color = ARTERY_COLORS.get(name, (0.85, 0.65, 0.55)) if name in ARTERIES else (0.85, 0.65, 0.55)
        segments.append(Segment(label, region.labels == value, color, region_terminology(name)))
    return segments


def calcium_segments(case: Assessment) -> List[Segment]:
    """One segment per artery that has calcium, coloured by artery."""
    artery_map = case.score.artery_label_volume()
    segments = []
    for index, name in enumerate(ARTERIES_AND_UNASSIGNED, start=1):
        mask = artery_map == index
        if mask.any():
            segments.append(Segment("%s calcium" % name, mask, ARTERY_COLORS[name], calcium_terminology(name)))
    return segments


def write_lesion_ids(path: str, case: Assessment) -> None:
    """Lesion ids (counted and excluded; 0 = none) on the CT grid, uint16, compressed NRRD."""
    import SimpleITK as sitk

    from ..io.geometry import apply_geometry
    from ..io.integrity import itk_writable_path

    image = sitk.GetImageFromArray(case.score.lesion_label_volume())
    apply_geometry(image, case.ct_volume.geometry)
    with itk_writable_path(path) as writable:  # ITK cannot open every name (non-UTF-8 bytes)
        sitk.WriteImage(image, writable, True)


def write_case_outputs(folder: str, case: Assessment, include_phi: bool = False, report: bool = True,
                       names=CASE_FILES) -> Dict[str, str]:
    """Write the per-case files ``names`` (default: all) into ``folder``; returns {file name: path}."""
    from .html_report import write_report

    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name) for name in names}
    with open(paths["result.json"], "w", encoding="utf-8") as stream:
        stream.write(case.to_json(include_phi=include_phi) + "\n")
    write_lesions_csv(paths["lesions.csv"], case)
    write_lesion_ids(paths["lesion_ids.nrrd"], case)
    if "region.seg.nrrd" in paths:
        write_segmentation(paths["region.seg.nrrd"], case.ct_volume.geometry, region_segments(case))
    calcium = calcium_segments(case)
    if calcium:
        write_segmentation(paths["calcium.seg.nrrd"], case.ct_volume.geometry, calcium)
    else:  # no calcium: an empty segmentation still opens in Slicer and says so by having no segments
        write_segmentation(paths["calcium.seg.nrrd"], case.ct_volume.geometry, [])
    if report:
        write_report(paths["report.html"], case, include_phi=include_phi)
    else:
        del paths["report.html"]
    return paths

