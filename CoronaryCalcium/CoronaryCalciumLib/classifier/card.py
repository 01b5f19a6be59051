"""Model cards: what a model file is, what it was trained on, how, how well it did in nested CV, and its SHA-256."""

from __future__ import annotations

import datetime
import platform
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .metrics import METRIC_LABELS
from ..io.atomic import plain_json
from .pipelines import MODEL_LABELS
from .nested_cv import TASK_TITLES, TrainingResult
from .contrast_protocol import training_contrast

PACKAGES = ("coronary-calcium", "numpy", "scipy", "scikit-learn", "xgboost", "lightgbm", "joblib", "shap",
            "pyradiomics", "SimpleITK")
SYNTHETIC_WARNING = ("Trained on SYNTHETIC phantom CT scans only. NOT CLINICALLY VALIDATED: its accuracy on real "
                     "patients is unknown. For research and software testing only; not for diagnosis or treatment. "
                     "Retrain on your own labelled cohort (coronary-calcium train) before drawing any conclusion.")
RESEARCH_WARNING = ("Research model. Not a medical device; not for diagnosis or treatment. Its cross-validated metrics "
                    "describe the cohort it was trained on and may not transfer to other scanners or populations.")


def package_versions(names: Sequence[str] = PACKAGES) -> Dict[str, Optional[str]]:
    from importlib.metadata import PackageNotFoundError, version

    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def build_card(result: TrainingResult, name: str, extractor_settings: Mapping[str, Any], synthetic: bool,
               description: str, command: str, importances: Sequence[Any], importance_units: str,
               skipped: Sequence[Any] = (), manifest: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The card of the final model of ``result`` (everything except the artefact's own hash, added when saved)."""
    final = result.final
    if final is None:
        raise ValueError("training result has no final model")
    best = result.candidate(final.feature_set, final.model)
    title = "%s (%s + %s)" % (TASK_TITLES[result.task].capitalize(), final.feature_set,
                              MODEL_LABELS.get(final.model, final.model))
    card: Dict[str, Any] = {
        "name": name,
        "title": title,
        "task": result.task,
        "classes": list(result.class_names),
        "synthetic_training_data": bool(synthetic),
        "clinically_validated": False,
        "warning": SYNTHETIC_WARNING if synthetic else RESEARCH_WARNING,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "how_made": {
            "command": command,
            "protocol": result.config.to_dict(),
            "description": ("Nested cross-validation: stratified %d-fold outer split shared by all pipelines; in each "
                            "outer fold a grid search with stratified %d-fold inner CV (scoring %s) tunes the pipeline "
                            "impute -> correlation filter (|r| <= %g) -> classifier on the outer-training cases only, "
                            "probabilities are calibrated (%s), and the held-out fold is predicted. The final model is "
                            "the best pipeline by mean outer-fold %s, tuned and calibrated on all cases."
                            % (result.config.outer_folds, result.config.inner_folds, result.config.resolved_scoring(),
                               result.config.correlation_threshold, result.config.calibration,
                               result.config.selection_metric())),
            "training_seconds": round(result.seconds, 1),
        },
        "training_data": {
            "description": description,
            "cases": len(result.case_ids),
            "class_counts": result.class_counts(),
            "skipped_cases": [{"case_id": s.case_id, "reason": s.reason} for s in skipped],
            "manifest": dict(manifest or {}),
            "contrast": training_contrast(result),
        },
        "features": {
            "feature_set": final.feature_set,
            "extractors": dict(extractor_settings),
            "input_features": len(final.columns),
            "kept_by_correlation_filter": list(final.selected_features),
        },
        "model": {
            "family": final.model,
            "hyperparameters": dict(final.best_params),
            "inner_cv_score": final.inner_score,
            "calibration": result.config.calibration,
        },
        "cross_validation": {
            "selection_metric": result.config.selection_metric(),
            "final_pipeline_metrics": {k: v.to_dict() for k, v in best.summary.items()},
            "all_pipelines": [
                {"feature_set": c.feature_set, "model": c.model,
                 "metrics": {k: v.to_dict() for k, v in c.summary.items()}} for c in result.candidates],
            "paired_tests": [t.to_dict() for t in result.paired_tests],
        },
        "global_importances": [{"feature": imp.feature, "importance": imp.importance} for imp in importances[:25]],
        "importance_units": "mean |TreeSHAP| on training cases (%s)" % importance_units,
        "package_versions": package_versions(),
    }
    return plain_json(card)


def card_markdown(card: Mapping[str, Any]) -> str:
    """The card as Markdown (what a person reads next to the model file)."""
    lines: List[str] = ["# Model card: %s" % card["name"], "", "**%s**" % card["title"], ""]
    lines += ["> **%s**" % card["warning"], ""]
    artefact = card.get("artefact", {})
    if artefact:
        lines += ["- File: `%s` (%s bytes)" % (artefact.get("file"), artefact.get("bytes")),
                  "- SHA-256: `%s`" % artefact.get("sha256")]
    lines += ["- Task: %s; classes: %s" % (card["task"], ", ".join(card["classes"])),
              "- Created: %s" % card["created"],
              "- Synthetic training data: %s; clinically validated: no" % ("yes" if card["synthetic_training_data"]
                                                                          else "no"), ""]
    data = card["training_data"]
    lines += ["## Training data", "", data.get("description") or "(no description given)", "",
              "- Cases: %d (%s)" % (data["cases"], ", ".join("%s %d" % kv for kv in data["class_counts"].items()))]
    if data.get("skipped_cases"):
        lines.append("- Left out (features could not be extracted): %d" % len(data["skipped_cases"]))
    if data.get("contrast"):
        lines.append("- Contrast: %s; %s" % (data["contrast"]["statement"], data["contrast"]["protocol"]))
    if data.get("manifest"):
        lines.append("- Manifest: `%s` (SHA-256 `%s`)" % (data["manifest"].get("file"), data["manifest"].get("sha256")))
    how = card["how_made"]
    lines += ["", "## How it was made", "", how["description"], "", "Command: `%s`" % how["command"], ""]
    if how.get("reproduce"):
        lines += ["Reproduce: `%s`" % how["reproduce"], ""]
    lines += ["Protocol settings: `%s`" % _inline(how["protocol"]), ""]
    features = card["features"]
    lines += ["## Features", "",
              "Feature set `%s`: %d input features, %d kept by the correlation filter on the whole cohort."
              % (features["feature_set"], features["input_features"], len(features["kept_by_correlation_filter"]))]
    for name, settings in features["extractors"].items():
        if name == "radiomics":
            params = settings.get("params", {})
            lines.append("pyradiomics %s settings: `%s`; classes %s."
                         % (settings.get("pyradiomics") or "", _inline(params.get("setting", {})),
                            ", ".join(params.get("featureClass", {}))))
    model = card["model"]
    lines += ["", "## Model", "",
              "%s, hyper-parameters `%s` (inner-CV score %.3f), probabilities calibrated: %s."
              % (MODEL_LABELS.get(model["family"], model["family"]), _inline(model["hyperparameters"]),
                 model["inner_cv_score"] or float("nan"), model["calibration"]), ""]
    cv = card["cross_validation"]
    lines += ["## Nested cross-validation (out-of-fold; 95% bootstrap CI)", "",
              "| pipeline | " + " | ".join(METRIC_LABELS.get(m, m) for m in cv["final_pipeline_metrics"]) + " |",
              "|---|" + "---|" * len(cv["final_pipeline_metrics"])]
    for entry in cv["all_pipelines"]:
        cells = [_estimate_text(entry["metrics"][m]) for m in cv["final_pipeline_metrics"]]
        lines.append("| %s / %s | %s |" % (entry["feature_set"], entry["model"], " | ".join(cells)))
    lines += ["", "Selection metric: %s." % cv["selection_metric"], "", "## Global feature importance", "",
              "%s." % card["importance_units"], "", "| feature | importance |", "|---|---|"]
    for item in card["global_importances"][:15]:
        lines.append("| %s | %.4g |" % (item["feature"], item["importance"]))
    lines += ["", "## Package versions", "", ", ".join("%s %s" % (k, v) for k, v in card["package_versions"].items()
                                                      if v), ""]
    return "\n".join(lines)


def _estimate_text(estimate: Mapping[str, Any]) -> str:
    value = estimate.get("value")
    if value is None:
        return "n/a"
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    if low is None or high is None:
        return "%.3f" % value
    return "%.3f (%.3f-%.3f)" % (value, low, high)


def _inline(mapping: Mapping[str, Any]) -> str:
    return ", ".join("%s=%s" % (k, v) for k, v in mapping.items())
