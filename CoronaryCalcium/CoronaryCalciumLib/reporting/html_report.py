"""A self-contained HTML report for one case: key axial slices with lesions outlined by artery, the score table, the
categories, the classifier's verdict with its top features, settings, warnings and a not-for-diagnosis disclaimer.

Pictures are PNGs embedded as data URIs, so the report is one file that can be filed or mailed.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import List, Sequence

import numpy as np

from ..classifier.explanations import FeatureContribution
from ..result import Assessment
from ..region.arteries import ARTERIES_AND_UNASSIGNED, ARTERY_COLORS
from .display import capitalised, classifier_wording, image_quality, mass, number, review_status

DISCLAIMER = ("Research software, not a medical device. Not for diagnosis: results must be reviewed by a qualified "
              "reader before any clinical use.")
WINDOW_HU = (-250.0, 650.0)
KEY_SLICES = 4
CROP_MARGIN_MM = 15.0


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _matplotlib().close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def key_slices(case: Assessment, count: int = KEY_SLICES) -> List[int]:
    """Axial slices showing the largest lesions (the slice of each lesion's largest cross-section), or the middle
    slice of the region when there is no calcium."""
    score = case.score
    if not score.lesions:
        z = np.flatnonzero(case.region_of_interest.labels.any(axis=(1, 2)))
        return [int(z[len(z) // 2])] if len(z) else []
    lesion_map = score.lesion_labels
    offset = score.bounding_box[0].start
    chosen: List[int] = []
    for lesion in sorted(score.lesions, key=lambda l: -l.agatston):
        areas = (lesion_map == lesion.id).sum(axis=(1, 2))
        z = int(np.argmax(areas)) + offset
        if z not in chosen:
            chosen.append(z)
        if len(chosen) == count:
            break
    return sorted(chosen)


def _crop(case: Assessment):
    box = case.score.bounding_box
    spacing = case.ct_volume.geometry.spacing
    margins = (int(CROP_MARGIN_MM / spacing[1]), int(CROP_MARGIN_MM / spacing[0]))
    shape = case.ct_volume.array.shape
    return (slice(max(0, box[1].start - margins[0]), min(shape[1], box[1].stop + margins[0])),
            slice(max(0, box[2].start - margins[1]), min(shape[2], box[2].stop + margins[1])))


def slice_figures(case: Assessment, slices: Sequence[int]) -> List[str]:
    """One PNG per slice: CT in a calcium window, region outline (white) and calcium outlined by artery colour."""
    plt = _matplotlib()
    rows, cols = _crop(case)
    artery_map = case.score.artery_label_volume()
    spacing = case.ct_volume.geometry.spacing
    extent = (0, (cols.stop - cols.start) * spacing[0], (rows.stop - rows.start) * spacing[1], 0)
    xs = (np.arange(cols.stop - cols.start) + 0.5) * spacing[0]  # pixel centres in mm, matching imshow's extent
    ys = (np.arange(rows.stop - rows.start) + 0.5) * spacing[1]
    images = []
    for z in slices:
        figure, axis = plt.subplots(figsize=(4.2, 4.2))
        axis.imshow(case.ct_volume.array[z, rows, cols], cmap="gray", vmin=WINDOW_HU[0], vmax=WINDOW_HU[1],
                    extent=extent, interpolation="nearest")
        region = case.region_of_interest.labels[z, rows, cols] > 0
        if region.any():
            axis.contour(xs, ys, region, levels=[0.5], colors=["#ffffff"], linewidths=0.6, alpha=0.6)
        for index, name in enumerate(ARTERIES_AND_UNASSIGNED, start=1):
            calcium = artery_map[z, rows, cols] == index
            if calcium.any():
                axis.contour(xs, ys, calcium, levels=[0.5], colors=[ARTERY_COLORS[name]], linewidths=1.4)
        axis.set_title("slice %d (z = %.1f mm)" % (z, case.ct_volume.geometry.index_to_lps((z, 0, 0))[2]), fontsize=9)
        axis.set_xlabel("mm", fontsize=8)
        axis.tick_params(labelsize=7)
        images.append(_png(figure))
    return images


def feature_figure(features: Sequence[FeatureContribution], axis_label: str) -> str:
    """Horizontal bars of the TreeSHAP contributions (defined ones), largest at the top."""
    from ..classifier.explanations import display_name

    plt = _matplotlib()
    features = [item for item in features if math.isfinite(item.contribution)]
    names = [display_name(item.feature) for item in features][::-1]
    values = [float(item.contribution) for item in features][::-1]
    figure, axis = plt.subplots(figsize=(6.5, 0.35 * len(names) + 0.8))
    axis.barh(names, values, color=["#c0392b" if v > 0 else "#2e86c1" for v in values])
    axis.axvline(0, color="black", linewidth=0.6)
    axis.set_xlabel(axis_label, fontsize=8)
    axis.tick_params(labelsize=7)
    return _png(figure)


def _row(cells, header=False) -> str:
    tag = "th" if header else "td"
    return "<tr>%s</tr>" % "".join("<%s>%s</%s>" % (tag, html.escape(str(c)), tag) for c in cells)


def review_section(case: Assessment) -> List[str]:
    """HTML: automatic or reviewed by whom and when; the edits; automatic and reviewed scores side by side."""
    status = review_status(case)
    parts = ["<h2>Review</h2><p>%s.</p>" % html.escape(capitalised(status))]
    if not case.reviewed:
        return parts
    parts.append("<ol>%s</ol>" % "".join("<li>%s (%s, %s)</li>" % (html.escape(edit.describe()),
                                                                    html.escape(edit.reader or "unnamed reader"),
                                                                    html.escape(edit.time))
                                          for edit in case.review.edits))
    automatic, reviewed = case.review.automatic, case.score
    rows = [("Agatston score", automatic.agatston, reviewed.agatston),
            ("Volume score (mm3)", automatic.volume_mm3, reviewed.volume_mm3),
            ("Mass score (mg)", automatic.mass_mg, reviewed.mass_mg)]
    rows += [("Agatston %s" % name, automatic.per_artery[name].agatston, reviewed.per_artery[name].agatston)
             for name in ARTERIES_AND_UNASSIGNED]
    changed = [(label, before, after) for label, before, after in rows if number(before) != number(after)]
    if automatic.category.cac_drs != reviewed.category.cac_drs or automatic.category.classic != reviewed.category.classic:
        changed.append(("Category", "%s, %s" % (automatic.category.classic, automatic.category.cac_drs),
                        "%s, %s" % (reviewed.category.classic, reviewed.category.cac_drs)))
    if changed:
        parts.append('<table class="review">')
        parts.append(_row(["", "automatic", "reviewed"], header=True))
        for label, before, after in changed:
            parts.append(_row([label] + [value if isinstance(value, str) else number(value)
                                         for value in (before, after)]))
        parts.append("</table>")
    else:
        parts.append("<p>The review left every score as the automatic result gave it.</p>")
    return parts


def render_report(case: Assessment, include_phi: bool = False) -> str:
    """The report as an HTML string."""
    data = case.to_dict(include_phi=include_phi)
    score = case.score
    parts: List[str] = []
    title = "Coronary calcium report: %s" % data["case_id"]
    parts.append("<h1>%s</h1>" % html.escape(title))
    parts.append('<p class="disclaimer">%s</p>' % html.escape(DISCLAIMER))
    category = data["category"]
    parts.append("<h2>Result</h2><table>")
    parts.append(_row(["Agatston score", number(score.agatston)]))
    parts.append(_row(["Volume score (mm3)", number(score.volume_mm3)]))
    parts.append(_row(["Mass score (mg)", mass(score.mass_mg, unit="")]))
    parts.append(_row(["Integrated-intensity mass (mg)", mass(score.integrated_mass_mg, unit="")]))
    parts.append(_row(["Category", "%s (%s)" % (category["classic"], category["classic_range"])]))
    parts.append(_row(["CAC-DRS", category["cac_drs"]]))
    quality = image_quality(case)
    if quality:
        parts.append(_row(["Image quality", quality]))
    parts.append("</table>")
    parts.extend(review_section(case))

    classifier = classifier_wording(case, redact=case.redact)
    parts.append("<h2>Classifier</h2>")
    if classifier.ran:
        prediction = case.classifier
        parts.append("<p>Verdict: <b>%s</b>. Model: %s.</p>" % (html.escape(classifier.verdict),
                                                                 html.escape(classifier.model)))
        if prediction.top_contributions:
            label = "TreeSHAP contribution to '%s' (%s)" % (prediction.label_text, prediction.contribution_units)
            parts.append("<p>Features that pushed this verdict most:</p>")
            parts.append('<img alt="top features" src="%s">' % feature_figure(prediction.top_contributions, label))
        if classifier.note:
            parts.append("<p><b>%s.</b></p>" % html.escape(capitalised(classifier.note)))
    else:
        parts.append("<p>%s.</p>" % html.escape(capitalised(classifier.verdict)))

    parts.append("<h2>Per artery</h2><table>")
    parts.append(_row(["artery", "Agatston", "volume mm3", "mass mg", "integrated mass mg", "lesions"], header=True))
    for name, entry in data["per_artery"].items():
        parts.append(_row([name, number(entry["agatston"]), number(entry["volume_mm3"]),
                           number(entry["mass_mg"]), number(entry["integrated_mass_mg"]), entry["lesion_count"]]))
    parts.append("</table>")

    parts.append("<h2>Key slices</h2><p>Calcium outlined by artery: %s; region of interest in white.</p>" % ", ".join(
        '<span style="color:rgb(%d,%d,%d)">&#9632; %s</span>' % (tuple(int(255 * c) for c in ARTERY_COLORS[n]) + (n,))
        for n in ARTERIES_AND_UNASSIGNED))
    parts.append('<div class="slices">%s</div>' % "".join(
        '<img alt="axial slice" src="%s">' % image for image in slice_figures(case, key_slices(case))))

    parts.append("<h2>Lesions</h2><table>")
    parts.append(_row(["id", "artery", "Agatston", "volume mm3", "mass mg", "integrated mass mg", "peak HU", "slices",
                       "centroid LPS mm"], header=True))
    for lesion in sorted(score.lesions, key=lambda l: -l.agatston):
        parts.append(_row([lesion.id, lesion.artery, number(lesion.agatston), number(lesion.volume_mm3),
                           number(lesion.mass_mg), number(lesion.integrated_mass_mg), "%.0f" % lesion.peak_hu,
                           "%d-%d" % (lesion.first_slice, lesion.last_slice),
                           "(%.1f, %.1f, %.1f)" % lesion.centroid_lps_mm]))
    parts.append("</table>")
    if score.excluded_lesions:
        parts.append("<h2>Lesions left out (not coronary calcium)</h2><p>Not in any score; a reader may restore them "
                     "(<code>--lesion-filters off</code>).</p><table>")
        parts.append(_row(["id", "Agatston", "peak HU", "slices", "centroid LPS mm", "reason"], header=True))
        for lesion in sorted(score.excluded_lesions, key=lambda l: -l.agatston):
            parts.append(_row([lesion.id, number(lesion.agatston), "%.0f" % lesion.peak_hu,
                               "%d-%d" % (lesion.first_slice, lesion.last_slice),
                               "(%.1f, %.1f, %.1f)" % lesion.centroid_lps_mm, lesion.excluded]))
        parts.append("</table>")

    parts.append("<h2>Warnings</h2>")
    parts.append("<ul>%s</ul>" % "".join("<li>%s</li>" % html.escape(w) for w in data["warnings"])
                 if data["warnings"] else "<p>None.</p>")
    parts.append("<h2>Settings</h2><table>")
    for key, value in data["settings"].items():
        parts.append(_row([key, value]))
    parts.append("</table><h2>Input</h2><table>")
    for key, value in data["input"].items():
        if value is not None:
            parts.append(_row([key, value]))
    parts.append("</table>")
    parts.append('<p class="footer">%s %s, result schema %d. %s</p>' % (
        html.escape(data["software"]["name"]), html.escape(data["software"]["version"]), data["schema_version"],
        html.escape(DISCLAIMER)))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "font-size:0.9em;text-align:left}.disclaimer{background:#fff3cd;padding:0.6em;border:1px solid #e0c36c}"
             ".slices img{margin:4px}.footer{color:#777;font-size:0.8em}")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style></head>"
            "<body>%s</body></html>\n" % (html.escape(title), style, "\n".join(parts)))


def write_report(path: str, case: Assessment, include_phi: bool = False) -> None:
    # backslashreplace: a file name that is not UTF-8 (shown only with include_phi) appears escaped, not as a crash
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as stream:
        stream.write(render_report(case, include_phi=include_phi))
