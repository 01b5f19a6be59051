"""What the classifier said about one case, as typed values: ``Prediction`` when a model ran, ``ClassifierNotRun`` (the
reason) when one was asked for and could not run. ``Assessment.classifier`` / ``Assessment.classifier_not_run`` hold
them; panel, text summary and reports read these fields, never the warning strings.

Both read back from an assessment's JSON (``from_dict``), including files written before ``classifier_not_run`` existed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from .explanations import FeatureContribution

LABEL_TEXT = {"zero": "zero CAC", "non-zero": "non-zero CAC", "none": "no calcium (0)", "minimal": "minimal (1-10)",
              "mild": "mild (11-100)", "moderate": "moderate (101-400)", "severe": "severe (>400)"}
NOT_RUN_PREFIX = "classifier not run: "


@dataclass
class Prediction:
    """Classifier output for one case. ``probability`` is the calibrated probability of ``label``; the contributions
    explain the model's score for ``label`` (units in ``contribution_units``)."""

    label: str
    probability: float
    probabilities: Dict[str, float]
    task: str
    top_contributions: List[FeatureContribution]
    base_value: float
    contribution_units: str
    model_name: str
    model_family: str
    model_sha256: str
    feature_set: str
    synthetic_training: bool
    warnings: List[str] = field(default_factory=list)

    @property
    def label_text(self) -> str:
        return LABEL_TEXT.get(self.label, self.label)

    def summary(self) -> str:
        """One line, e.g. ``non-zero CAC (probability 0.93; model cac_binary_synthetic, synthetic training data)``."""
        text = "%s (probability %.2f; model %s" % (self.label_text, self.probability, self.model_name)
        return text + (", trained on synthetic data only)" if self.synthetic_training else ")")

    def to_dict(self) -> Dict[str, Any]:
        return {
            "label": self.label,
            "label_text": self.label_text,
            "probability": _round(self.probability),
            "probabilities": {k: _round(v) for k, v in self.probabilities.items()},
            "task": self.task,
            "top_contributions": [c.to_dict() for c in self.top_contributions],
            "base_value": _round(self.base_value),
            "contribution_units": self.contribution_units,
            "model_name": self.model_name,
            "model_family": self.model_family,
            "model_sha256": self.model_sha256,
            "feature_set": self.feature_set,
            "synthetic_training": self.synthetic_training,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> Optional["Prediction"]:
        """The prediction of an assessment's JSON ``classifier`` entry (None for null). Numbers come back as written
        (rounded to 6 decimals); an undefined number (null) comes back as NaN."""
        if not data:
            return None
        return cls(
            label=str(data["label"]), probability=_number(data.get("probability")),
            probabilities={str(k): _number(v) for k, v in dict(data.get("probabilities") or {}).items()},
            task=str(data.get("task", "")),
            top_contributions=[FeatureContribution(feature=str(item["feature"]), value=_number(item.get("value")),
                                                   contribution=_number(item.get("contribution")))
                               for item in data.get("top_contributions") or []],
            base_value=_number(data.get("base_value")), contribution_units=str(data.get("contribution_units", "")),
            model_name=str(data.get("model_name", "")), model_family=str(data.get("model_family", "")),
            model_sha256=str(data.get("model_sha256", "")), feature_set=str(data.get("feature_set", "")),
            synthetic_training=bool(data.get("synthetic_training", False)),
            warnings=[str(w) for w in data.get("warnings") or []])


@dataclass
class ClassifierNotRun:
    """A classifier was asked for and did not run; ``reason`` says why in one line (no model installed, region too
    small for texture features, pyradiomics missing...). The scores stand without it."""

    reason: str

    def warning(self) -> str:
        """The assessment's warning line for it."""
        return NOT_RUN_PREFIX + self.reason

    def to_dict(self) -> Dict[str, Any]:
        return {"reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Optional["ClassifierNotRun"]:
        """From an assessment's JSON: its ``classifier_not_run`` entry, or, in a file written before that key existed,
        the warning the step wrote (the one place the old wording is read)."""
        if "classifier_not_run" in data:
            entry = data["classifier_not_run"]
            return cls(reason=str(entry["reason"])) if entry else None
        for warning in data.get("warnings") or []:
            if str(warning).startswith(NOT_RUN_PREFIX):
                return cls(reason=str(warning)[len(NOT_RUN_PREFIX):])
        return None


def _round(value: float, digits: int = 6):
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)
