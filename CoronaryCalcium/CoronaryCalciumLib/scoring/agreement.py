"""Agreement of measured scores with a reference, as ``calcium-scoring.md`` ("Measuring agreement") asks.

Patient level: Agatston agreement by ICC (two-way random effects, absolute agreement, single measure: ICC(A,1) of
McGraw & Wong 1996, Shrout & Fleiss ICC(2,1)) with its F-based 95% CI, and Bland-Altman (bias and 95% limits of
agreement, in Agatston units); category agreement by linearly weighted kappa (classic bands and CAC-DRS A grades) with a
bootstrap 95% CI; zero versus non-zero accuracy, sensitivity, specificity, F1. Per artery: ICC where both sides have
per-artery scores.

Lesion level (when the reference is a phantom manifest, whose ``truth`` column names each case's truth JSON, and the
measured cases have ``result.json`` files): a measured 3D lesion matches a truth calcification when its centroid lies
within the calcification's largest semi-axis (plus half the sweep of cardiac motion in non-gated phantoms) plus a
tolerance (default 3 mm) of the calcification's centre. Sensitivity is the share of coronary calcifications matched,
by count and by physical volume; positive predictive value the share of measured lesions that match a coronary
calcification, by count and by measured volume. Measured lesions on non-coronary calcium (aorta, valve, mitral
annulus) are counted apart.

Categories are recomputed from the scores on both sides with the project's rules, so both use the same bands.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .categories import CAC_DRS_CODES, CLASSIC_CODES, cac_drs_grade, classic_category
from ..errors import InputError
from ..region.arteries import ARTERIES

DEFAULT_MATCH_TOLERANCE_MM = 3.0


@dataclass
class PairedCase:
    """One case scored on both sides (Agatston; per artery where known)."""

    id: str
    measured: float
    reference: float
    measured_per_artery: Dict[str, float] = field(default_factory=dict)
    reference_per_artery: Dict[str, float] = field(default_factory=dict)


@dataclass
class Pairing:
    """The cases of a measured and a reference table joined by ID, and those that could not be paired."""

    cases: List[PairedCase]
    not_assessed: List[Tuple[str, str]]  # (id, status or error) of measured cases that did not finish
    only_measured: List[str]
    only_reference: List[str]
    reference_rows: Dict[str, Dict[str, str]] = field(default_factory=dict)  # every reference row by id


@dataclass
class LesionAgreement:
    """Lesion-level detection against phantom truth: counts and volumes (mm3)."""

    tolerance_mm: float
    cases: int
    truth_lesions: int
    truth_detected: int
    truth_volume_mm3: float
    truth_detected_volume_mm3: float
    measured_lesions: int
    measured_true: int
    measured_on_extracoronary: int
    measured_volume_mm3: float
    measured_true_volume_mm3: float
    sensitivity_by_size: Dict[str, Dict[str, float]]

    @property
    def sensitivity(self) -> Optional[float]:
        return _ratio(self.truth_detected, self.truth_lesions)

    @property
    def sensitivity_by_volume(self) -> Optional[float]:
        return _ratio(self.truth_detected_volume_mm3, self.truth_volume_mm3)

    @property
    def ppv(self) -> Optional[float]:
        return _ratio(self.measured_true, self.measured_lesions)

    @property
    def ppv_by_volume(self) -> Optional[float]:
        return _ratio(self.measured_true_volume_mm3, self.measured_volume_mm3)

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data.update(sensitivity=self.sensitivity, sensitivity_by_volume=self.sensitivity_by_volume, ppv=self.ppv,
                    ppv_by_volume=self.ppv_by_volume)
        return data


@dataclass
class Agreement:
    """Everything ``agreement`` measures; ``None`` where a figure cannot be computed (the reason is in ``notes``)."""

    n: int
    icc: Optional[Dict[str, float]]
    bland_altman: Dict[str, float]
    classic_kappa: Optional[Dict[str, float]]
    cac_drs_kappa: Optional[Dict[str, float]]
    classic_confusion: List[List[int]]
    cac_drs_confusion: List[List[int]]
    zero_vs_nonzero: Dict[str, Optional[float]]
    per_artery_icc: Dict[str, Optional[Dict[str, float]]]
    lesions: Optional[LesionAgreement]
    not_assessed: List[Tuple[str, str]]
    only_measured: List[str]
    only_reference: List[str]
    notes: List[str]

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["lesions"] = self.lesions.to_dict() if self.lesions else None
        data["classic_labels"] = list(CLASSIC_CODES)
        data["cac_drs_labels"] = list(CAC_DRS_CODES)
        return data


def _ratio(numerator: float, denominator: float) -> Optional[float]:
    return float(numerator) / float(denominator) if denominator else None


def icc_absolute_agreement(ratings: np.ndarray, alpha: float = 0.05) -> Dict[str, float]:
    """ICC(A,1) of an (n subjects x k raters) array, with its (1 - alpha) CI (McGraw & Wong 1996, case 2A).

    Two-way ANOVA: ICC = (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)."""
    from scipy.stats import f as f_distribution

    x = np.asarray(ratings, dtype=float)
    n, k = x.shape
    if n < 3 or k < 2:
        raise InputError("ICC needs at least 3 cases scored by 2 methods (got %d x %d)" % (n, k))
    grand = x.mean()
    ss_rows = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    ss_error = float(((x - grand) ** 2).sum()) - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_error / ((n - 1) * (k - 1))
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    if denominator <= 0:
        raise InputError("ICC is undefined: every case has the same score on both sides")
    icc = (msr - mse) / denominator
    if mse <= 0 or icc >= 1:  # perfect agreement: no interval
        return {"icc": float(icc), "ci_low": float(icc), "ci_high": float(icc), "n": int(n)}
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    f_low = f_distribution.ppf(1 - alpha / 2, n - 1, v)
    f_high = f_distribution.ppf(1 - alpha / 2, v, n - 1)
    low = n * (msr - f_low * mse) / (f_low * (k * msc + (k * n - k - n) * mse) + n * msr)
    high = n * (f_high * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_high * msr)
    return {"icc": float(icc), "ci_low": float(low), "ci_high": float(high), "n": int(n)}


def bland_altman(measured: Sequence[float], reference: Sequence[float]) -> Dict[str, float]:
    """Bias (mean of measured - reference) and 95% limits of agreement (bias +- 1.96 SD), in the scores' units."""
    difference = np.asarray(measured, dtype=float) - np.asarray(reference, dtype=float)
    bias = float(difference.mean())
    sd = float(difference.std(ddof=1)) if difference.size > 1 else 0.0
    return {"bias": bias, "sd": sd, "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd,
            "n": int(difference.size)}


def weighted_kappa(reference: Sequence[str], measured: Sequence[str], labels: Sequence[str], n_boot: int = 1000,
                   seed: int = 0) -> Optional[Dict[str, float]]:
    """Linearly weighted Cohen's kappa of two ordinal ratings with a percentile bootstrap 95% CI (cases resampled).
    None when every case falls in one category on both sides (kappa is undefined)."""
    from sklearn.metrics import cohen_kappa_score

    reference = np.asarray(reference)
    measured = np.asarray(measured)
    if len(set(reference.tolist()) | set(measured.tolist())) < 2:
        return None
    value = float(cohen_kappa_score(reference, measured, labels=list(labels), weights="linear"))
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_boot):
        pick = rng.integers(0, reference.size, reference.size)
        if len(set(reference[pick].tolist()) | set(measured[pick].tolist())) < 2:
            continue
        sample = cohen_kappa_score(reference[pick], measured[pick], labels=list(labels), weights="linear")
        if np.isfinite(sample):
            samples.append(sample)
    low, high = (float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))) if samples else (None, None)
    return {"kappa": value, "ci_low": low, "ci_high": high}


def confusion(reference: Sequence[str], measured: Sequence[str], labels: Sequence[str]) -> List[List[int]]:
    """Counts: rows are the reference category, columns the measured one, in ``labels`` order."""
    index = {label: i for i, label in enumerate(labels)}
    table = [[0] * len(labels) for _ in labels]
    for r, m in zip(reference, measured):
        table[index[r]][index[m]] += 1
    return table


def zero_vs_nonzero(reference: Sequence[float], measured: Sequence[float]) -> Dict[str, Optional[float]]:
    """Detection of any calcium (score > 0): accuracy, sensitivity, specificity, F1, with the reference as truth."""
    truth = np.asarray(reference, dtype=float) > 0
    found = np.asarray(measured, dtype=float) > 0
    tp, tn = int((truth & found).sum()), int((~truth & ~found).sum())
    fp, fn = int((~truth & found).sum()), int((truth & ~found).sum())
    precision = _ratio(tp, tp + fp)
    sensitivity = _ratio(tp, tp + fn)
    f1 = (2 * precision * sensitivity / (precision + sensitivity)
          if precision is not None and sensitivity is not None and precision + sensitivity > 0 else None)
    return {"accuracy": _ratio(tp + tn, truth.size), "sensitivity": sensitivity, "specificity": _ratio(tn, tn + fp),
            "f1": f1, "tp": tp, "tn": tn, "fp": fp, "fn": fn}


def _read_csv(path: str) -> List[Dict[str, str]]:
    if not os.path.isfile(path):
        raise InputError("%s: no such file" % path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError("%s: cannot read as CSV (%s)" % (path, error)) from error
    if not rows:
        raise InputError("%s: no rows" % path)
    for column in ("id", "agatston"):
        if column not in rows[0]:
            raise InputError("%s: no '%s' column (columns: %s)" % (path, column, ", ".join(rows[0])))
    return rows


def _number(text: Optional[str], path: str, case_id: str, column: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError("%s: case %s has no number in '%s' (%r)" % (path, case_id, column, text)) from None
    if not math.isfinite(value) or value < 0:
        raise InputError("%s: case %s has an invalid score in '%s' (%r)" % (path, case_id, column, text))
    return value


def _per_artery(row: Mapping[str, str], path: str, case_id: str) -> Dict[str, float]:
    columns = ["agatston_%s" % artery for artery in ARTERIES]
    if not all(row.get(column) not in (None, "") for column in columns):
        return {}
    return {artery: _number(row["agatston_%s" % artery], path, case_id, "agatston_%s" % artery) for artery in ARTERIES}


def pair_tables(measured_csv: str, reference_csv: str) -> Pairing:
    """Join a measured table (``assess``'s summary.csv, or any CSV with ``id`` and ``agatston``) with a reference table
    (a phantom cohort's manifest.csv, or scores from other software) by ``id``. Measured rows whose ``status`` is not
    ``ok`` are set aside as not assessed; per-artery columns ``agatston_LM`` ... ``agatston_RCA`` are used when both
    sides have them."""
    measured_rows = _read_csv(measured_csv)
    reference_rows = _read_csv(reference_csv)
    reference = {}
    for row in reference_rows:
        if row["id"] in reference:
            raise InputError("%s: case %s appears twice" % (reference_csv, row["id"]))
        reference[row["id"]] = row
    cases, not_assessed, only_measured, seen = [], [], [], set()
    for row in measured_rows:
        case_id = row["id"]
        if case_id in seen:
            raise InputError("%s: case %s appears twice" % (measured_csv, case_id))
        seen.add(case_id)
        status = row.get("status", "ok") or "ok"
        if status != "ok":
            not_assessed.append((case_id, row.get("error") or status))
            continue
        if case_id not in reference:
            only_measured.append(case_id)
            continue
        other = reference[case_id]
        cases.append(PairedCase(
            id=case_id, measured=_number(row["agatston"], measured_csv, case_id, "agatston"),
            reference=_number(other["agatston"], reference_csv, case_id, "agatston"),
            measured_per_artery=_per_artery(row, measured_csv, case_id),
            reference_per_artery=_per_artery(other, reference_csv, case_id)))
    only_reference = [case_id for case_id in reference if case_id not in seen]
    if not cases:
        raise InputError("no case of %s is in %s with a finished assessment: the tables share no IDs"
                         % (measured_csv, reference_csv))
    return Pairing(cases, not_assessed, only_measured, only_reference, reference)


def match_lesions(truth_objects: Sequence[Mapping[str, object]], measured_lesions: Sequence[Mapping[str, object]],
                  tolerance_mm: float = DEFAULT_MATCH_TOLERANCE_MM) -> Tuple[List[bool], List[str]]:
    """(for each truth object: matched by a measured lesion; for each measured lesion: 'coronary', 'extracoronary' or
    'none'). A lesion matches an object when its centroid lies within the object's largest semi-axis plus half its
    motion sweep (``motion_mm``) plus ``tolerance_mm`` of the object's centre (LPS mm); coronary objects win over the
    others."""
    centres = np.array([o["position_lps_mm"] for o in truth_objects], dtype=float).reshape(-1, 3)
    reach = np.array([max(o["semi_axes_mm"]) + 0.5 * float(np.linalg.norm(o.get("motion_mm") or [0.0])) + tolerance_mm
                      for o in truth_objects], dtype=float)
    coronary = np.array([bool(o.get("coronary")) for o in truth_objects], dtype=bool)
    detected = np.zeros(len(truth_objects), dtype=bool)
    kinds = []
    for lesion in measured_lesions:
        if not len(truth_objects):
            kinds.append("none")
            continue
        distance = np.linalg.norm(centres - np.asarray(lesion["centroid_lps_mm"], dtype=float), axis=1)
        hit = distance <= reach
        detected |= hit
        kinds.append("coronary" if (hit & coronary).any() else "extracoronary" if hit.any() else "none")
    return detected.tolist(), kinds


def lesion_agreement(pairing: Pairing, measured_dir: str, reference_dir: str,
                     tolerance_mm: float = DEFAULT_MATCH_TOLERANCE_MM) -> Optional[LesionAgreement]:
    """Lesion-level detection over the paired cases, or None when the reference has no ``truth`` column (paths
    relative to ``reference_dir``) or the measured folder has no ``<id>/result.json``."""
    totals = dict(cases=0, truth_lesions=0, truth_detected=0, truth_volume_mm3=0.0, truth_detected_volume_mm3=0.0,
                  measured_lesions=0, measured_true=0, measured_on_extracoronary=0, measured_volume_mm3=0.0,
                  measured_true_volume_mm3=0.0)
    by_size: Dict[str, List[int]] = {}
    for case_id in (c.id for c in pairing.cases):
        truth_path = pairing.reference_rows[case_id].get("truth")
        result_path = os.path.join(measured_dir, case_id, "result.json")
        if not truth_path or not os.path.isfile(result_path):
            return None
        truth_path = truth_path if os.path.isabs(truth_path) else os.path.join(reference_dir, truth_path)
        try:
            with open(truth_path, encoding="utf-8") as stream:
                objects = json.load(stream)["objects"]
            with open(result_path, encoding="utf-8") as stream:
                lesions = json.load(stream)["lesions"]
        except (OSError, ValueError, KeyError) as error:
            raise InputError("case %s: cannot read its truth or result (%s)" % (case_id, error)) from error
        detected, kinds = match_lesions(objects, lesions, tolerance_mm)
        totals["cases"] += 1
        for obj, found in zip(objects, detected):
            if not obj.get("coronary"):
                continue
            totals["truth_lesions"] += 1
            totals["truth_detected"] += int(found)
            totals["truth_volume_mm3"] += float(obj["volume_mm3"])
            totals["truth_detected_volume_mm3"] += float(obj["volume_mm3"]) if found else 0.0
            size = by_size.setdefault(str(obj.get("size_class", "all")), [0, 0])
            size[0] += 1
            size[1] += int(found)
        for lesion, kind in zip(lesions, kinds):
            totals["measured_lesions"] += 1
            totals["measured_volume_mm3"] += float(lesion["volume_mm3"])
            if kind == "coronary":
                totals["measured_true"] += 1
                totals["measured_true_volume_mm3"] += float(lesion["volume_mm3"])
            elif kind == "extracoronary":
                totals["measured_on_extracoronary"] += 1
    sizes = {name: {"count": count, "detected": found, "sensitivity": _ratio(found, count)}
             for name, (count, found) in by_size.items()}
    return LesionAgreement(tolerance_mm=tolerance_mm, sensitivity_by_size=sizes, **totals)


def measure_agreement(pairing: Pairing, lesions: Optional[LesionAgreement] = None) -> Agreement:
    """Every patient-level figure over the paired cases (and the lesion-level figures, when given)."""
    cases = pairing.cases
    measured = np.array([c.measured for c in cases])
    reference = np.array([c.reference for c in cases])
    notes = []
    icc = _icc_or_note(np.column_stack([reference, measured]), "Agatston", notes)
    per_artery: Dict[str, Optional[Dict[str, float]]] = {}
    with_arteries = [c for c in cases if c.measured_per_artery and c.reference_per_artery]
    if with_arteries:
        for artery in ARTERIES:
            pairs = np.array([[c.reference_per_artery[artery], c.measured_per_artery[artery]] for c in with_arteries])
            per_artery[artery] = _icc_or_note(pairs, "Agatston %s" % artery, notes)
    else:
        notes.append("per-artery agreement: one side has no per-artery scores")
    classic_reference = [classic_category(v)[0] for v in reference]
    classic_measured = [classic_category(v)[0] for v in measured]
    drs_reference = [cac_drs_grade(v) for v in reference]
    drs_measured = [cac_drs_grade(v) for v in measured]
    classic_kappa = weighted_kappa(classic_reference, classic_measured, CLASSIC_CODES)
    drs_kappa = weighted_kappa(drs_reference, drs_measured, CAC_DRS_CODES)
    if classic_kappa is None:
        notes.append("kappa: every case is in one category on both sides")
    return Agreement(
        n=len(cases), icc=icc, bland_altman=bland_altman(measured, reference), classic_kappa=classic_kappa,
        cac_drs_kappa=drs_kappa, classic_confusion=confusion(classic_reference, classic_measured, CLASSIC_CODES),
        cac_drs_confusion=confusion(drs_reference, drs_measured, CAC_DRS_CODES),
        zero_vs_nonzero=zero_vs_nonzero(reference, measured), per_artery_icc=per_artery, lesions=lesions,
        not_assessed=pairing.not_assessed, only_measured=pairing.only_measured,
        only_reference=pairing.only_reference, notes=notes)


def _icc_or_note(ratings: np.ndarray, what: str, notes: List[str]) -> Optional[Dict[str, float]]:
    try:
        return icc_absolute_agreement(ratings)
    except InputError as error:
        notes.append("%s ICC: %s" % (what, error))
        return None


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return "n/a" if value is None else "%.*f" % (digits, value)


def _interval(estimate: Optional[Mapping[str, float]], key: str) -> str:
    if not estimate:
        return "n/a"
    return "%s (95%% CI %s to %s)" % (_fmt(estimate[key]), _fmt(estimate.get("ci_low")), _fmt(estimate.get("ci_high")))


def agreement_markdown(agreement: Agreement, title: str = "Agreement with the reference") -> str:
    """A readable report: the headline figures, the confusion table, lesion detection and what was left out."""
    ba, z = agreement.bland_altman, agreement.zero_vs_nonzero
    lines = ["# %s" % title, "", "%d paired cases." % agreement.n, "",
             "| measure | value |", "|---|---|",
             "| Agatston ICC(A,1), absolute agreement | %s |" % _interval(agreement.icc, "icc"),
             "| Bland-Altman bias (measured - reference) | %s |" % _fmt(ba["bias"], 2),
             "| 95%% limits of agreement | %s to %s |" % (_fmt(ba["loa_low"], 2), _fmt(ba["loa_high"], 2)),
             "| classic category, linearly weighted kappa | %s |" % _interval(agreement.classic_kappa, "kappa"),
             "| CAC-DRS A grade, linearly weighted kappa | %s |" % _interval(agreement.cac_drs_kappa, "kappa"),
             "| zero vs non-zero: accuracy / sensitivity / specificity / F1 | %s / %s / %s / %s |"
             % tuple(_fmt(z[k]) for k in ("accuracy", "sensitivity", "specificity", "f1"))]
    for artery, estimate in agreement.per_artery_icc.items():
        lines.append("| %s Agatston ICC(A,1) | %s |" % (artery, _interval(estimate, "icc")))
    lines += ["", "Classic categories (rows: reference, columns: measured):", "",
              "| | %s |" % " | ".join(CLASSIC_CODES), "|---|%s" % ("---:|" * len(CLASSIC_CODES))]
    for name, row in zip(CLASSIC_CODES, agreement.classic_confusion):
        lines.append("| %s | %s |" % (name, " | ".join(str(v) for v in row)))
    lesions = agreement.lesions
    if lesions is not None:
        lines += ["", "Lesions against phantom truth (%d cases; match within semi-axis + %.1f mm):"
                  % (lesions.cases, lesions.tolerance_mm), "",
                  "- sensitivity: %s by count (%d of %d calcifications), %s by volume"
                  % (_fmt(lesions.sensitivity), lesions.truth_detected, lesions.truth_lesions,
                     _fmt(lesions.sensitivity_by_volume)),
                  "- positive predictive value: %s by count (%d of %d lesions), %s by volume; "
                  "%d on non-coronary calcium"
                  % (_fmt(lesions.ppv), lesions.measured_true, lesions.measured_lesions, _fmt(lesions.ppv_by_volume),
                     lesions.measured_on_extracoronary)]
        for size, entry in sorted(lesions.sensitivity_by_size.items()):
            lines.append("- %s calcifications: %d of %d found" % (size, entry["detected"], entry["count"]))
    left_out = ["%s (%s)" % (case_id, reason) for case_id, reason in agreement.not_assessed]
    if left_out or agreement.only_measured or agreement.only_reference:
        lines += ["", "Left out:"]
        if left_out:
            lines.append("- not assessed: %s" % "; ".join(left_out))
        if agreement.only_measured:
            lines.append("- no reference: %s" % ", ".join(agreement.only_measured))
        if agreement.only_reference:
            lines.append("- not measured: %s" % ", ".join(agreement.only_reference))
    if agreement.notes:
        lines += ["", "Notes:"] + ["- %s" % note for note in agreement.notes]
    return "\n".join(lines) + "\n"


def plot_bland_altman(path: str, pairing: Pairing, agreement: Agreement) -> None:
    """Two panels: measured against reference Agatston (with the identity line), and the Bland-Altman plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..io.atomic import atomic_path

    measured = np.array([c.measured for c in pairing.cases])
    reference = np.array([c.reference for c in pairing.cases])
    figure = Figure(figsize=(9.0, 4.0), dpi=110)
    FigureCanvasAgg(figure)
    scatter = figure.add_subplot(1, 2, 1)
    top = max(1.0, float(max(measured.max(), reference.max())) * 1.05)
    scatter.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    scatter.scatter(reference, measured, s=14)
    scatter.set_xlabel("reference Agatston")
    scatter.set_ylabel("measured Agatston")
    icc = agreement.icc
    scatter.set_title("ICC(A,1) %s" % (_fmt(icc["icc"]) if icc else "n/a"), fontsize=10)
    ba = agreement.bland_altman
    panel = figure.add_subplot(1, 2, 2)
    panel.scatter((measured + reference) / 2, measured - reference, s=14)
    for value, style in ((ba["bias"], "-"), (ba["loa_low"], "--"), (ba["loa_high"], "--")):
        panel.axhline(value, color="tab:red", lw=0.9, ls=style)
    panel.set_xlabel("mean of measured and reference")
    panel.set_ylabel("measured - reference")
    panel.set_title("Bland-Altman: bias %.1f, 95%% LoA %.1f to %.1f" % (ba["bias"], ba["loa_low"], ba["loa_high"]),
                    fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")


def write_agreement(measured_csv: str, reference_csv: str, out_dir: str,
                    tolerance_mm: float = DEFAULT_MATCH_TOLERANCE_MM) -> Tuple[Agreement, Dict[str, str]]:
    """Measure and write agreement.md, agreement.json, pairs.csv and bland_altman.png into ``out_dir``."""
    from ..io.atomic import atomic_path, plain_json, write_text_atomic

    pairing = pair_tables(measured_csv, reference_csv)
    lesions = lesion_agreement(pairing, os.path.dirname(os.path.abspath(measured_csv)),
                               os.path.dirname(os.path.abspath(reference_csv)), tolerance_mm)
    agreement = measure_agreement(pairing, lesions)
    if lesions is None:
        agreement.notes.append("lesion level: needs a reference with a 'truth' column (phantom manifest) and "
                               "<id>/result.json beside the measured table")
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, name)
             for name in ("agreement.md", "agreement.json", "pairs.csv", "bland_altman.png")}
    write_text_atomic(paths["agreement.md"], agreement_markdown(agreement))
    write_text_atomic(paths["agreement.json"], json.dumps(plain_json(agreement.to_dict()), indent=1) + "\n")
    with atomic_path(paths["pairs.csv"]) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["id", "reference", "measured", "difference", "reference_classic", "measured_classic"])
            for c in pairing.cases:
                writer.writerow([c.id, c.reference, c.measured, c.measured - c.reference,
                                 classic_category(c.reference)[0], classic_category(c.measured)[0]])
    plot_bland_altman(paths["bland_altman.png"], pairing, agreement)
    return agreement, paths
