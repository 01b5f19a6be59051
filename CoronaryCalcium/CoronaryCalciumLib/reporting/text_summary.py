"""Readable plain-text summary of an assessment for terminals and logs (no patient data)."""

from __future__ import annotations

from typing import List

from ..result import Assessment
from ..region.arteries import ARTERIES_AND_UNASSIGNED
from .display import classifier_wording, image_quality, mass, number, review_status


def _total_mass(value) -> str:
    """A total mass in mg right-aligned with the scores above it, or the no-calibration phrase."""
    return "%10s mg" % number(value) if value is not None else mass(None)


def format_summary(assessment: Assessment, max_lesions: int = 20) -> str:
    score = assessment.score
    lines: List[str] = []
    lines.append("Coronary calcium: %s" % assessment.case_id)
    lines.append("  Agatston score   %10.1f" % score.agatston)
    lines.append("  Volume score     %10.1f mm3" % score.volume_mm3)
    lines.append("  Mass score       %s" % _total_mass(score.mass_mg))
    lines.append("  Integrated mass  %s" % _total_mass(score.integrated_mass_mg))
    lines.append("  Category         %s (%s); %s" % (score.category.classic, score.category.classic_range,
                                                     score.category.cac_drs))
    quality = image_quality(assessment)
    if quality:
        lines.append("  Image quality    %s" % quality)
    lines.append("  Status           %s" % review_status(assessment))
    classifier = classifier_wording(assessment)
    lines.append("  Classifier       %s" % classifier.verdict)
    if classifier.ran:
        lines.append("  Model            %s" % classifier.model)
        if classifier.note:
            lines.append("                   %s" % classifier.note)
        top = assessment.classifier.top_contributions
        if top:
            lines.append("    top features: %s" % ", ".join("%s %+.2f" % (c.feature, c.contribution) for c in top[:3]))
    lines.append("")
    lines.append("  %-11s %10s %12s %10s %10s %8s" % ("artery", "Agatston", "volume mm3", "mass mg", "integr. mg",
                                                      "lesions"))
    for name in ARTERIES_AND_UNASSIGNED:
        entry = score.per_artery[name]
        lines.append("  %-11s %10.1f %12.1f %10s %10s %8d" % (name, entry.agatston, entry.volume_mm3,
                                                            number(entry.mass_mg), number(entry.integrated_mass_mg),
                                                            entry.lesion_count))
    if score.lesions:
        lines.append("")
        lines.append("  %4s %-10s %9s %10s %8s %10s %7s %7s  %s" % ("id", "artery", "Agatston", "vol mm3", "mass mg",
                                                                  "integr. mg", "peak HU", "slices",
                                                                  "centroid LPS mm"))
        ranked = sorted(score.lesions, key=lambda lesion: -lesion.agatston)
        for lesion in ranked[:max_lesions]:
            lines.append("  %4d %-10s %9.1f %10.1f %8s %10s %7.0f %7s  (%.1f, %.1f, %.1f)" % (
                lesion.id, lesion.artery, lesion.agatston, lesion.volume_mm3, number(lesion.mass_mg),
                number(lesion.integrated_mass_mg), lesion.peak_hu,
                "%d-%d" % (lesion.first_slice, lesion.last_slice), *lesion.centroid_lps_mm))
        if len(ranked) > max_lesions:
            lines.append("  ... %d more lesions (see the JSON output)" % (len(ranked) - max_lesions))
    if score.excluded_lesions:
        lines.append("")
        lines.append("  left out as not coronary calcium (not in any total):")
        for lesion in sorted(score.excluded_lesions, key=lambda lesion: -lesion.agatston)[:max_lesions]:
            lines.append("  %4d %9.1f Agatston at (%.1f, %.1f, %.1f): %s" % (
                lesion.id, lesion.agatston, *lesion.centroid_lps_mm, lesion.excluded))
    settings = score.settings
    lines.append("")
    lines.append("  settings: threshold %g HU (%s), min area %g mm2, %d-connected, increment %.3g mm (x%.3g)" % (
        settings["threshold_hu"], settings["weight_rule"], settings["min_area_mm2"], settings["connectivity_2d"],
        settings["slice_increment_mm"], settings["increment_factor"]))
    for warning in assessment.warnings:
        lines.append("  warning: %s" % warning)
    return "\n".join(lines)
