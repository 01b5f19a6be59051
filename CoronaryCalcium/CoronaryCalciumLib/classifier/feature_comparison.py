"""The feature-set comparison of a training run (e.g. radiomics vs CT-FM vs RadImageNet): one table and one plot of
every feature set x classifier, and the paired tests between feature sets.

Works on the data of a nested-CV report (``training_report.training_report_data(result)``, or the ``report.json`` that
``train`` writes), so a finished run can be compared again without retraining. Files written:
  comparison.md    the table (pooled out-of-fold value with 95% bootstrap CI, per metric) and the paired tests
  comparison.csv   one row per feature set x classifier x metric
  comparison.png   grouped bars per classifier, one bar per feature set, 95% CI as error bars (two metrics)
The paired tests are those of the protocol: the same outer folds for every pipeline, a paired t-test over the folds as
the source study reports, and the Nadeau-Bengio corrected p-value, which accounts for overlapping training sets.
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .metrics import METRIC_LABELS as LABELS
from .pipelines import MODEL_LABELS
from ..errors import InputError

HEADLINE = {"binary": ("accuracy", "roc_auc"), "risk_category": ("accuracy", "f1_macro")}


def read_report(path: str) -> Dict[str, Any]:
    """``report.json`` of a training run (a folder holding one is accepted)."""
    if os.path.isdir(path):
        path = os.path.join(path, "report.json")
    if not os.path.isfile(path):
        raise InputError("training report not found: %s (train writes DIR/<task>/report.json)" % path)
    with open(path, "r", encoding="utf-8") as stream:
        try:
            data = json.load(stream)
        except ValueError as error:
            raise InputError("%s is not a JSON training report: %s" % (path, error)) from None
    if not isinstance(data, dict) or "pipelines" not in data:
        raise InputError("%s is not a training report (no pipelines)" % path)
    return data


def _order(values: Sequence[str]) -> List[str]:
    seen: List[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def comparison_grid(report: Mapping[str, Any]) -> Tuple[List[str], List[str], Dict[Tuple[str, str], Dict[str, Any]]]:
    """(feature sets, models, {(feature set, model): {metric: {value, ci_low, ci_high, fold_mean, fold_sd}}}).

    In a contrast-protocol run with both arms (``train --train-on both``) each arm's feature set is its own row,
    named as the paired tests name it ("mixed: radiomics"), so the arms are never merged into one cell."""
    pipelines = list(report.get("pipelines", []))
    if not pipelines:
        raise InputError("the training report lists no pipelines")
    feature_sets = _order([_row(p) for p in pipelines])
    models = _order([p["model"] for p in pipelines])
    grid = {(_row(p), p["model"]): dict(p["metrics"]) for p in pipelines}
    return feature_sets, models, grid


def _row(pipeline: Mapping[str, Any]) -> str:
    """A pipeline's row: its feature set, after its contrast-protocol arm when it has one."""
    return ("%s: " % pipeline["arm"] if pipeline.get("arm") else "") + str(pipeline["feature_set"])


def headline_metrics(report: Mapping[str, Any]) -> Tuple[str, str]:
    first, second = HEADLINE.get(str(report.get("task", "binary")), HEADLINE["binary"])
    selection = report.get("selection_metric")
    if selection and selection != first:
        second = selection
    return first, second


def feature_set_tests(report: Mapping[str, Any], metrics: Sequence[str]) -> List[Dict[str, Any]]:
    """The protocol's paired tests between feature sets (same classifier), for ``metrics``."""
    return [t for t in report.get("paired_tests", []) if t.get("comparison") == "feature sets"
            and t.get("metric") in metrics]


def _number(value: Optional[float], digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return ("%." + str(digits) + "f") % value


def _cell(estimate: Optional[Mapping[str, Any]]) -> str:
    if not estimate or estimate.get("value") is None:
        return "n/a"
    text = _number(estimate["value"])
    if estimate.get("ci_low") is not None and estimate.get("ci_high") is not None:
        text += " (%s-%s)" % (_number(estimate["ci_low"]), _number(estimate["ci_high"]))
    return text


def comparison_markdown(report: Mapping[str, Any], synthetic_note: Optional[str] = None) -> str:
    feature_sets, models, grid = comparison_grid(report)
    first, second = headline_metrics(report)
    cases = report.get("cases")
    lines = ["# Feature-set comparison", ""]
    if synthetic_note:
        lines += ["> **%s**" % synthetic_note, ""]
    lines += ["%s cases, same stratified outer folds for every pipeline (nested CV). Cells: pooled out-of-fold value "
              "(95%% bootstrap CI)." % (cases if cases is not None else "?"), ""]
    metrics = [first, second]
    header = ["feature set"] + ["%s: %s" % (MODEL_LABELS.get(m, m), LABELS.get(k, k)) for m in models for k in metrics]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for feature_set in feature_sets:
        cells = [_cell(grid.get((feature_set, model), {}).get(metric)) for model in models for metric in metrics]
        lines.append("| %s | %s |" % (feature_set, " | ".join(cells)))
    best = max(((fs, m) for fs in feature_sets for m in models if (fs, m) in grid),
               key=lambda key: _finite((grid[key].get(second) or {}).get("fold_mean")))
    lines += ["", "Best by mean outer-fold %s: **%s / %s**." % (LABELS.get(second, second), best[0],
                                                                 MODEL_LABELS.get(best[1], best[1])), "",
              "![comparison](comparison.png)", ""]
    tests = feature_set_tests(report, metrics)
    lines += ["## Paired tests between feature sets (same classifier, over the outer folds)", ""]
    if not tests:
        lines += ["Only one feature set was evaluated: nothing to compare.", ""]
    else:
        lines += ["p: paired t-test as in the source study; p (corrected): Nadeau-Bengio corrected resampled t-test "
                  "(prefer it: the folds share training cases).", "",
                  "| classifier | a | b | metric | mean a | mean b | a - b | p | p (corrected) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for t in tests:
            set_a, _, model = str(t["a"]).rpartition(" / ")
            set_b = str(t["b"]).rpartition(" / ")[0]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                MODEL_LABELS.get(model, model), set_a, set_b, LABELS.get(t["metric"], t["metric"]),
                _number(t.get("mean_a")), _number(t.get("mean_b")), _number(t.get("mean_difference")),
                _number(t.get("p_value"), 4), _number(t.get("p_value_corrected"), 4)))
        lines.append("")
    return "\n".join(lines)


def _finite(value: Optional[float]) -> float:
    return float(value) if value is not None and math.isfinite(float(value)) else -math.inf


def comparison_rows(report: Mapping[str, Any]) -> List[List[Any]]:
    feature_sets, models, grid = comparison_grid(report)
    rows = []
    for feature_set in feature_sets:
        for model in models:
            for metric, e in grid.get((feature_set, model), {}).items():
                rows.append([feature_set, model, metric, e.get("value"), e.get("ci_low"), e.get("ci_high"),
                             e.get("fold_mean"), e.get("fold_sd")])
    return rows


def plot_comparison(path: str, report: Mapping[str, Any]) -> None:
    """Grouped bars: classifiers on the x axis, one bar per feature set, 95% CI error bars; one panel per headline
    metric."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..io.atomic import atomic_path

    feature_sets, models, grid = comparison_grid(report)
    metrics = headline_metrics(report)
    figure = Figure(figsize=(4.2 * len(metrics) + 0.8, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    width = 0.8 / max(1, len(feature_sets))
    for panel, metric in enumerate(metrics):
        axis = figure.add_subplot(1, len(metrics), panel + 1)
        for k, feature_set in enumerate(feature_sets):
            xs, heights, low, high = [], [], [], []
            for i, model in enumerate(models):
                e = grid.get((feature_set, model), {}).get(metric) or {}
                value = e.get("value")
                if value is None:
                    continue
                xs.append(i - 0.4 + width * (k + 0.5))
                heights.append(value)
                low.append(value - e["ci_low"] if e.get("ci_low") is not None else 0.0)
                high.append(e["ci_high"] - value if e.get("ci_high") is not None else 0.0)
            axis.bar(xs, heights, width=width * 0.92, yerr=[low, high], capsize=2, label=feature_set)
        axis.set_xticks(range(len(models)))
        axis.set_xticklabels([MODEL_LABELS.get(m, m) for m in models], fontsize=8)
        axis.set_ylim(0, 1.05)
        axis.set_title(LABELS.get(metric, metric), fontsize=10)
        axis.axhline(0.5, color="grey", lw=0.6, ls="--")
        if panel == 0:
            axis.legend(fontsize=7, loc="lower left")
    figure.suptitle("feature sets x classifiers (out-of-fold, 95% CI)", fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")


def write_feature_comparison(report: Mapping[str, Any], directory: str,
                             synthetic_note: Optional[str] = None) -> Dict[str, str]:
    """Write comparison.md / .csv / .png into ``directory``; returns {kind: path}."""
    from ..io.atomic import atomic_path, write_text_atomic

    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in ("comparison.md", "comparison.csv", "comparison.png")}
    with atomic_path(paths["comparison.csv"]) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["feature_set", "model", "metric", "value", "ci_low", "ci_high", "fold_mean", "fold_sd"])
            for row in comparison_rows(report):
                writer.writerow(["" if v is None else v for v in row])
    plot_comparison(paths["comparison.png"], report)
    write_text_atomic(paths["comparison.md"], comparison_markdown(report, synthetic_note))
    return paths
