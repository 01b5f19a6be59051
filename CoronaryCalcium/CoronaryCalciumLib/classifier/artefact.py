"""Turning a training result into files: the model (``model_file``: no pickle), its card (JSON + Markdown) and, on
request, trust."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from .explanations import global_importances
from ..features.table import FeatureTable
from ..io.atomic import write_text_atomic
from .model import MODEL_FILE, build_artefact, save_artefact
from .card import build_card, card_markdown
from .trust import add_trusted
from .nested_cv import TrainingResult


@dataclass
class SavedModel:
    model_path: str
    card_json_path: str
    card_md_path: str
    sha256: str
    card: Dict[str, Any]
    trusted_in: Optional[str] = None


def save_training_result(result: TrainingResult, table: FeatureTable, directory: str, name: str,
                         extractor_settings: Mapping[str, Any], synthetic: bool = False, description: str = "",
                         command: str = "", skipped: Sequence[Any] = (), manifest: Optional[Mapping[str, Any]] = None,
                         trust: bool = False, registry_path: Optional[str] = None,
                         model_file: str = MODEL_FILE, card_stem: str = "model_card") -> SavedModel:
    """Write ``<directory>/<model_file>`` and the card; ``trust`` records the file's hash in the user's registry (or
    ``registry_path``). ``table`` is the training feature table (for global importances)."""
    final = result.final
    if final is None:
        raise ValueError("training result has no final model to save")
    subset = table.select(final.feature_set).rows(result.case_ids)
    importances, units = global_importances(final.pipeline, subset.values, subset.columns)
    used = {name_: settings for name_, settings in extractor_settings.items() if name_ in subset.groups}
    card = build_card(result, name, used, synthetic, description, command, importances, units, skipped, manifest)
    artefact = build_artefact(name=name, task=result.task, class_names=result.class_names,
                              feature_set=final.feature_set, columns=final.columns, extractors=used,
                              estimator=final.estimator, pipeline=final.pipeline, model_family=final.model,
                              global_importances=importances, importance_units=units, synthetic=synthetic, card=card)
    os.makedirs(directory, exist_ok=True)
    model_path = os.path.join(directory, model_file)
    sha256 = save_artefact(artefact, model_path)
    card = dict(card)
    card["artefact"] = {"file": model_file, "sha256": sha256, "bytes": os.path.getsize(model_path)}
    card_json = os.path.join(directory, card_stem + ".json")
    card_md = os.path.join(directory, card_stem + ".md")
    write_text_atomic(card_json, json.dumps(card, indent=2) + "\n")
    write_text_atomic(card_md, card_markdown(card))
    trusted_in = None
    if trust:
        add_trusted(model_path, sha256, name=name, task=result.task, note="trained locally",
                    registry_path=registry_path)
        trusted_in = registry_path or "user registry"
    return SavedModel(model_path=model_path, card_json_path=card_json, card_md_path=card_md, sha256=sha256, card=card,
                      trusted_in=trusted_in)
