"""Reports of training (nested CV) and evaluation runs: Markdown, JSON, CSV tables and ROC / calibration plots.

Files written into the output folder:
  report.md, report.json       summary for people / for programs
  metrics.csv                  one row per pipeline x metric: value, 95% CI, fold mean and SD
  folds.csv                    (training) one row per pipeline x outer fold: metrics, tuned settings, features kept
  paired_tests.csv             (training) paired t-tests between models and between feature sets
  predictions.csv              out-of-fold (training) or model (evaluation) probabilities per case
  roc.png, calibration.png     plots (matplotlib, Agg backend: no display needed)
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..classifier.metrics import METRIC_LABELS, MetricEstimate, summarise
from ..classifier.pipelines import MODEL_LABELS
from ..io.atomic import atomic_path, plain_json, write_text_atomic
from ..classifier.nested_cv import TASK_TITLES, TrainingResult
from ..classifier.contrast_protocol import final_training_cases


def _write_csv(path: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(list(header))
            for row in rows:
                writer.writerow(["" if (isinstance(v, float) and not math.isfinite(v)) else v for v in row])


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else ("%." + str(digits) + "f") % value


def _pipeline_label(feature_set: str, model: str, arm: str = "") -> str:
    return ("%s: " % arm if arm else "") + "%s / %s" % (feature_set, MODEL_LABELS.get(model, model))


# --------------------------------------------------------------------------------------------------------- plots

def _figure():
    """A figure on the Agg canvas, without pyplot (no global backend switch, no display; safe inside Slicer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5.0), dpi=110)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _save(figure, path: str) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")


def plot_roc(path: str, curves: Sequence[Dict[str, Any]], title: str) -> None:
    """ROC curves: each item has ``label``, ``y`` (0/1) and ``score``."""
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, axis = _figure()
    for curve in curves:
        y, score = np.asarray(curve["y"]), np.asarray(curve["score"])
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, score)
        axis.plot(fpr, tpr, lw=1.6, label="%s (AUC %.3f)" % (curve["label"], roc_auc_score(y, score)))
    axis.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    axis.set_xlabel("1 - specificity")
    axis.set_ylabel("sensitivity")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="lower right", fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.01)
    figure.tight_layout()
    _save(figure, path)


def plot_calibration(path: str, y: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
                     title: str) -> None:
    """Reliability diagram: predicted probability vs observed frequency (one line per class; binary: positive)."""
    from sklearn.calibration import calibration_curve

    figure, axis = _figure()
    classes = [1] if len(class_names) == 2 else range(len(class_names))
    for k in classes:
        target = (np.asarray(y) == k).astype(int)
        if target.min() == target.max():
            continue
        observed, predicted = calibration_curve(target, probabilities[:, k], n_bins=8, strategy="quantile")
        axis.plot(predicted, observed, marker="o", lw=1.4, label=class_names[k])
    axis.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    axis.set_xlabel("predicted probability")
    axis.set_ylabel("observed frequency")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    _save(figure, path)


def _roc_curves(y: np.ndarray, entries: Sequence[Dict[str, Any]], class_names: Sequence[str]) -> List[Dict[str, Any]]:
    """Binary: one curve per entry. Multi-class: one-vs-rest curves of the first entry."""
    if len(class_names) == 2:
        return [{"label": e["label"], "y": (y == 1).astype(int), "score": e["probabilities"][:, 1]} for e in entries]
    first = entries[0]
    return [{"label": "%s vs rest" % name, "y": (y == k).astype(int), "score": first["probabilities"][:, k]}
            for k, name in enumerate(class_names)]


# ------------------------------------------------------------------------------------------------ training report

def _training_counts(result: TrainingResult, arm: str, fold: int):
    """(training cases, of which contrast-enhanced) of ``arm`` in outer ``fold`` of the contrast protocol."""
    from ..classifier.contrast_protocol import arm_splits

    train, _test = arm_splits(result.fold_of_case, result.contrast, arm)[fold]
    return int(train.sum()), int((train & np.asarray(result.contrast, dtype=bool)).sum())


def write_training_report(result: TrainingResult, directory: str, skipped: Sequence[Any] = (),
                          saved: Optional[Any] = None, extra: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
    """Write every report file of a nested-CV run; returns {kind: path}."""
    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in
             ("report.md", "report.json", "metrics.csv", "folds.csv", "paired_tests.csv", "predictions.csv",
              "roc.png", "calibration.png")}
    metrics = list(result.candidates[0].summary)
    arms = result.contrast is not None  # the contrast protocol: an arm column (training data) at the end
    _write_csv(paths["metrics.csv"], ["feature_set", "model", "metric", "value", "ci_low", "ci_high", "fold_mean",
                                      "fold_sd"] + (["arm"] if arms else []),
               [[c.feature_set, c.model, m, e.value, e.ci_low, e.ci_high, e.fold_mean, e.fold_sd] +
                ([c.arm] if arms else []) for c in result.candidates for m, e in c.summary.items()])
    _write_csv(paths["folds.csv"], ["feature_set", "model", "fold", "test_cases"] + metrics +
               ["inner_score", "features_kept", "best_params"] +
               (["arm", "training_cases", "training_contrast_cases"] if arms else []),
               [[c.feature_set, c.model, f.fold, result.test_count(f.fold)] +
                [f.metrics.get(m, float("nan")) for m in metrics] +
                [f.inner_score, len(f.selected_features), json.dumps(f.best_params, sort_keys=True)] +
                ([c.arm] + list(_training_counts(result, c.arm, f.fold)) if arms else [])
                for c in result.candidates for f in c.folds])
    _write_csv(paths["paired_tests.csv"], ["comparison", "a", "b", "metric", "mean_a", "mean_b", "mean_difference",
                                           "t_statistic", "p_value", "p_value_corrected", "n_folds"],
               [[t.comparison, t.a, t.b, t.metric, t.mean_a, t.mean_b, t.mean_difference, t.t_statistic, t.p_value,
                 t.p_value_corrected, t.n_folds] for t in result.paired_tests])
    tested = result.tested()  # the contrast protocol never tests a contrast case: no prediction to list
    _write_csv(paths["predictions.csv"], ["case_id", "label", "fold", "feature_set", "model", "predicted"] +
               ["p_%s" % name for name in result.class_names] + (["arm"] if arms else []),
               [[case, result.class_names[result.y[i]], int(result.fold_of_case[i]), c.feature_set, c.model,
                 result.class_names[int(np.argmax(c.probabilities[i]))]] + [float(p) for p in c.probabilities[i]] +
                ([c.arm] if arms else [])
                for c in result.candidates for i, case in enumerate(result.case_ids) if tested[i]])
    best = result.best_candidate()
    entries = [{"label": _pipeline_label(c.feature_set, c.model, c.arm), "probabilities": c.probabilities[tested]}
               for c in ([best] + [c for c in result.candidates if c is not best])]
    title = "%s: nested-CV out-of-fold ROC" % TASK_TITLES[result.task]
    plot_roc(paths["roc.png"], _roc_curves(result.y[tested], entries, result.class_names), title)
    plot_calibration(paths["calibration.png"], result.y[tested], best.probabilities[tested], result.class_names,
                     "calibration, %s (out-of-fold)" % _pipeline_label(best.feature_set, best.model, best.arm))
    data = training_report_data(result, skipped, saved, extra)
    write_text_atomic(paths["report.json"], json.dumps(plain_json(data), indent=2) + "\n")
    write_text_atomic(paths["report.md"], training_report_markdown(result, skipped, saved, extra))
    return paths


def training_report_data(result: TrainingResult, skipped: Sequence[Any] = (), saved: Optional[Any] = None,
                         extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    best = result.best_candidate()
    data: Dict[str, Any] = {
        "task": result.task,
        "classes": result.class_names,
        "cases": len(result.case_ids),
        "class_counts": result.class_counts(),
        "skipped_cases": [{"case_id": s.case_id, "reason": s.reason} for s in skipped],
        "protocol": result.config.to_dict(),
        "selection_metric": result.config.selection_metric(),
        "best_pipeline": {"feature_set": best.feature_set, "model": best.model, **({"arm": best.arm} if best.arm else {})},
        "pipelines": [{
            "feature_set": c.feature_set, "model": c.model, "seconds": round(c.seconds, 2),
            **({"arm": c.arm} if c.arm else {}),
            "metrics": {k: v.to_dict() for k, v in c.summary.items()},
            "folds": [{"fold": f.fold, "metrics": f.metrics, "inner_score": f.inner_score,
                       "best_params": f.best_params, "features_kept": f.selected_features} for f in c.folds],
            "feature_stability": c.feature_stability(),
        } for c in result.candidates],
        "paired_tests": [t.to_dict() for t in result.paired_tests],
        "seconds": round(result.seconds, 1),
        "notes": list(result.notes),
    }
    if result.final is not None:
        data["final_model"] = {"feature_set": result.final.feature_set, "model": result.final.model,
                               "best_params": result.final.best_params, "inner_score": result.final.inner_score,
                               "features_kept": result.final.selected_features}
        if result.final_arm:
            data["final_model"]["arm"] = result.final_arm
    if result.contrast is not None:
        data["contrast_protocol"] = contrast_protocol_data(result)
    if saved is not None:
        data["model_file"] = {"path": saved.model_path, "sha256": saved.sha256, "card": saved.card_md_path}
    data.update(dict(extra or {}))
    return data


def contrast_protocol_data(result: TrainingResult) -> Dict[str, Any]:
    """The contrast protocol's design and per-fold scores: the same test cases for both arms, fold by fold."""
    arms = [arm for arm in ("noncontrast", "mixed") if any(c.arm == arm for c in result.candidates)]
    contrast = np.asarray(result.contrast, dtype=bool)
    folds = []
    for fold in range(result.config.outer_folds):
        entry: Dict[str, Any] = {"fold": fold, "test_cases": result.test_count(fold),
                                 "test_contrast_cases": int(np.sum((result.fold_of_case == fold) & contrast &
                                                                   result.tested()))}
        for arm in arms:
            cases, enhanced = _training_counts(result, arm, fold)
            entry[arm] = {"training_cases": cases, "training_contrast_cases": enhanced,
                          "metrics": {c.key: c.folds[fold].metrics for c in result.candidates if c.arm == arm}}
        folds.append(entry)
    return {"train_on": arms, "test_on": "noncontrast", "contrast_cases": int(contrast.sum()),
            "non_contrast_cases": int((~contrast).sum()), "folds": folds,
            "stratified_on": "label x contrast", "final_arm": result.final_arm}


def _contrast_markdown(result: TrainingResult, extra: Optional[Mapping[str, Any]]) -> List[str]:
    """The contrast protocol's section: design, the per-fold table of both arms, and how each case's contrast was
    decided."""
    from ..classifier.contrast_protocol import ARM_COMPARISON, ARM_TITLES

    design = contrast_protocol_data(result)
    headline = "accuracy"
    lines = ["## Contrast protocol: test on non-contrast scans only", "",
             "%d non-contrast and %d contrast-enhanced cases. Outer folds stratified on label x contrast; each test "
             "fold holds only the fold's non-contrast cases, and is the same for every arm (%s). The non-contrast "
             "arm trains on the other folds' non-contrast cases; the mixed arm on all of the other folds' cases, "
             "the contrast cases included. A contrast case is never tested."
             % (design["non_contrast_cases"], design["contrast_cases"],
                "; ".join("%s: %s" % (arm, ARM_TITLES[arm]) for arm in design["train_on"])), ""]
    header = "| fold | test cases (non-contrast) |"
    rule = "|---|---|"
    for arm in design["train_on"]:
        header += " %s: training cases (contrast) | %s: %s |" % (arm, arm, headline)
        rule += "---|---|"
    lines += [header, rule]
    best_key = {arm: [c for c in result.candidates if c.arm == arm] for arm in design["train_on"]}
    for entry in design["folds"]:
        row = "| %d | %d |" % (entry["fold"] + 1, entry["test_cases"])
        for arm in design["train_on"]:
            scores = ", ".join("%s %s" % (c.model, _fmt(c.folds[entry["fold"]].metrics.get(headline, float("nan"))))
                               for c in best_key[arm])
            row += " %d (%d) | %s |" % (entry[arm]["training_cases"], entry[arm]["training_contrast_cases"], scores)
        lines.append(row)
    between = [t for t in result.paired_tests if t.comparison == ARM_COMPARISON]
    if between:
        lines += ["", "Paired tests between the arms (matching folds; difference = non-contrast arm - mixed arm):", "",
                  "| pipeline | metric | non-contrast arm | mixed arm | difference | p | p (corrected) |",
                  "|---|---|---|---|---|---|---|"]
        for t in between:
            lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                t.a.split(": ", 1)[-1], METRIC_LABELS.get(t.metric, t.metric), _fmt(t.mean_a), _fmt(t.mean_b),
                _fmt(t.mean_difference), _fmt(t.p_value, 4), _fmt(t.p_value_corrected, 4)))
    cases = list((extra or {}).get("contrast_cases") or [])
    detected = [c for c in cases if c.get("source", "").startswith("detected")]
    disagreeing = [c for c in cases if "disagrees" in c.get("source", "")]
    if cases:
        lines += ["", "Contrast status: %d case(s) from the manifest, %d decided by the contrast detection%s "
                  "(every case in `report.json`, `contrast_cases`)."
                  % (len(cases) - len(detected), len(detected),
                     "; the detection disagrees with the manifest on %s" % ", ".join(c["case_id"] for c in disagreeing)
                     if disagreeing else "")]
    return lines + [""]


def _metric_table(rows: Sequence[tuple], metrics: Sequence[str]) -> List[str]:
    lines = ["| pipeline | " + " | ".join(METRIC_LABELS.get(m, m) for m in metrics) + " |",
             "|---|" + "---|" * len(metrics)]
    for label, summary in rows:
        cells = []
        for m in metrics:
            e: MetricEstimate = summary[m]
            text = _fmt(e.value)
            if math.isfinite(e.ci_low):
                text += " (%s-%s)" % (_fmt(e.ci_low), _fmt(e.ci_high))
            if math.isfinite(e.fold_mean):
                text += "<br>folds %s ± %s" % (_fmt(e.fold_mean), _fmt(e.fold_sd))
            cells.append(text)
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return lines


def training_report_markdown(result: TrainingResult, skipped: Sequence[Any] = (), saved: Optional[Any] = None,
                             extra: Optional[Mapping[str, Any]] = None) -> str:
    config = result.config
    best = result.best_candidate()
    metrics = list(best.summary)
    counts = ", ".join("%s %d" % kv for kv in result.class_counts().items())
    lines = ["# Training report: %s" % TASK_TITLES[result.task], ""]
    if extra and extra.get("warning"):
        lines += ["> **%s**" % extra["warning"], ""]
    lines += ["- Cohort: %d cases (%s)%s" % (len(result.case_ids), counts,
                                             "; %d left out, listed below" % len(skipped) if skipped else ""),
              "- Protocol: stratified %d-fold outer CV shared by all pipelines; grid search (%s grid) with stratified "
              "%d-fold inner CV on the outer-training cases, scoring %s; correlation filter |r| <= %g (%s) fitted "
              "inside each training fold; probabilities calibrated (%s, %d-fold); seed %d."
              % (config.outer_folds, config.grid, config.inner_folds, config.resolved_scoring(),
                 config.correlation_threshold, config.correlation_method, config.calibration,
                 config.resolved_calibration_folds(), config.random_state),
              "- Why the estimate is unbiased: every case is predicted by a pipeline tuned, filtered, fitted and "
              "calibrated without it (nested CV); the numbers describe the procedure, tuning included.",
              "- Run time: %.0f s" % result.seconds, "",
              "## Out-of-fold metrics (pooled; 95% percentile bootstrap CI over cases; mean ± SD over outer folds)", ""]
    lines += _metric_table([(_pipeline_label(c.feature_set, c.model, c.arm), c.summary) for c in result.candidates],
                           metrics)
    lines += ["", "Best pipeline by mean outer-fold %s: **%s**." % (
        config.selection_metric(), _pipeline_label(best.feature_set, best.model, best.arm)), "",
              "![ROC](roc.png) ![calibration](calibration.png)", ""]
    if result.contrast is not None:
        lines += _contrast_markdown(result, extra)
    if result.paired_tests:
        lines += ["## Paired t-tests over the %d outer folds" % config.outer_folds, "",
                  "p: paired t-test as in the source study; p (corrected): Nadeau-Bengio corrected resampled t-test "
                  "(accounts for overlapping training sets; prefer it).", "",
                  "| comparison | a | b | metric | mean a | mean b | t | p | p (corrected) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for t in result.paired_tests:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                t.comparison, t.a, t.b, t.metric, _fmt(t.mean_a), _fmt(t.mean_b), _fmt(t.t_statistic, 2),
                _fmt(t.p_value, 4), _fmt(t.p_value_corrected, 4)))
        lines.append("")
    stability = best.feature_stability()
    n_inputs = len(result.final.columns) if result.final else None
    lines += ["## Correlation filter (best pipeline)", "",
              "Features kept per outer fold: %s%s." % (", ".join(str(len(f.selected_features)) for f in best.folds),
                                                       " of %d" % n_inputs if n_inputs else ""),
              "Kept in every fold: %s." % (", ".join(n for n, k in stability.items() if k == len(best.folds))
                                           or "none"), ""]
    if result.final is not None:
        final = result.final
        lines += ["## Final model", "",
                  "%s, tuned on all %d cases%s: `%s` (inner-CV %s %.3f); %d features kept by the filter."
                  % (_pipeline_label(final.feature_set, final.model, result.final_arm),
                     len(final_training_cases(result)), " of the %s arm" % result.final_arm if result.final_arm else "",
                     json.dumps(final.best_params, sort_keys=True), config.resolved_scoring(), final.inner_score,
                     len(final.selected_features))]
        if saved is not None:
            lines += ["", "Model file `%s`, SHA-256 `%s`; model card `%s`." % (
                os.path.basename(saved.model_path), saved.sha256, os.path.basename(saved.card_md_path))]
        lines.append("")
    if skipped:
        lines += ["## Cases left out", ""] + ["- %s: %s" % (s.case_id, s.reason) for s in skipped] + [""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- evaluation report

def write_evaluation_report(directory: str, model: Any, case_ids: Sequence[str], y: np.ndarray,
                            probabilities: np.ndarray, skipped: Sequence[Any] = (), n_boot: int = 1000,
                            source: str = "") -> Dict[str, Any]:
    """Metrics (95% bootstrap CI) of a trained model on a labelled cohort, with predictions and plots."""
    os.makedirs(directory, exist_ok=True)
    class_names = model.class_names
    summary = summarise(y, probabilities, np.zeros(len(y), dtype=int), n_boot=n_boot)
    for estimate in summary.values():  # a single "fold": fold statistics are meaningless here
        estimate.fold_mean = estimate.fold_sd = float("nan")
    _write_csv(os.path.join(directory, "metrics.csv"), ["metric", "value", "ci_low", "ci_high"],
               [[m, e.value, e.ci_low, e.ci_high] for m, e in summary.items()])
    _write_csv(os.path.join(directory, "predictions.csv"), ["case_id", "label", "predicted"] +
               ["p_%s" % name for name in class_names],
               [[case, class_names[y[i]], class_names[int(np.argmax(probabilities[i]))]] +
                [float(p) for p in probabilities[i]] for i, case in enumerate(case_ids)])
    entries = [{"label": model.name, "probabilities": probabilities}]
    title = "%s on %s" % (model.name, source or "evaluation cohort")
    plot_roc(os.path.join(directory, "roc.png"), _roc_curves(np.asarray(y), entries, class_names), title)
    plot_calibration(os.path.join(directory, "calibration.png"), np.asarray(y), probabilities, class_names,
                     "calibration, " + title)
    data = {
        "model": {"name": model.name, "path": model.path, "sha256": model.sha256, "task": model.task,
                  "feature_set": model.feature_set, "family": model.model_family,
                  "synthetic_training_data": model.synthetic},
        "source": source,
        "cases": len(case_ids),
        "class_counts": {name: int(np.sum(np.asarray(y) == k)) for k, name in enumerate(class_names)},
        "metrics": {k: v.to_dict() for k, v in summary.items()},
        "skipped_cases": [{"case_id": s.case_id, "reason": s.reason} for s in skipped],
    }
    write_text_atomic(os.path.join(directory, "report.json"), json.dumps(plain_json(data), indent=2) + "\n")
    lines = ["# Evaluation of %s" % model.name, ""]
    if model.synthetic:
        lines += ["> **The model was trained on synthetic phantoms only and is not clinically validated.**", ""]
    lines += ["- Model: `%s` (SHA-256 `%s`), task %s, %s on %s features" % (
        os.path.basename(model.path), model.sha256, model.task, MODEL_LABELS.get(model.model_family,
                                                                                 model.model_family),
        model.feature_set),
        "- Cohort: %s, %d cases (%s)" % (source or "given manifest", len(case_ids),
                                         ", ".join("%s %d" % kv for kv in data["class_counts"].items())), "",
        "| metric | value (95% bootstrap CI) |", "|---|---|"]
    for name, estimate in summary.items():
        lines.append("| %s | %s |" % (METRIC_LABELS.get(name, name), estimate.text()))
    lines += ["", "![ROC](roc.png) ![calibration](calibration.png)", ""]
    if skipped:
        lines += ["## Cases left out", ""] + ["- %s: %s" % (s.case_id, s.reason) for s in skipped] + [""]
    write_text_atomic(os.path.join(directory, "report.md"), "\n".join(lines))
    return data
