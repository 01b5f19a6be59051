"""Fine-tuning probe for CT-FM (the source study's open question): does unfreezing CT-FM's last stage(s) help?

Per outer fold of a stratified K-fold split (the same split ``train`` uses for the same cohort, seed and fold count),
on the training cases only:
  * fine-tuned: CT-FM's last ``unfreeze_stages`` stage(s) (1: the 512-channel stage, 4 residual blocks; 2: also the
    256-channel stage and the downsampling between them) plus a linear head on the global-average-pooled 512 features,
    trained with AdamW for a fixed number of epochs (head learning rate ``learning_rate``, unfrozen stages x0.1),
    class-balanced cross-entropy, batch-norm statistics frozen at their pretrained values (batches of a few 3D crops
    cannot estimate them);
  * baseline: a linear probe on the frozen 512-d embedding (standardisation + logistic regression, class-balanced,
    C=1), fitted on the same training cases.
Both then predict the held-out fold. Nothing is tuned on a test fold (epochs, learning rates and C are fixed by the
caller), so the out-of-fold metrics are an unbiased estimate of each procedure; paired t-tests over the folds compare
them (plain and Nadeau-Bengio corrected). The frozen stages run once per case (their output is cached), so only the
unfrozen stages are trained. Small and honest: a probe, not a tuned fine-tuning recipe.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..errors import InputError
from ..progress import Progress, silent




@dataclass
class ProbeConfig:
    """Settings of the probe (fixed in advance: nothing is selected on test folds)."""

    unfreeze_stages: int = 1
    epochs: int = 30
    learning_rate: float = 1e-3
    backbone_lr_factor: float = 0.1
    weight_decay: float = 1e-4
    batch_size: int = 4
    outer_folds: int = 5
    seed: int = 0
    n_boot: int = 1000

    def check(self) -> None:
        if self.unfreeze_stages not in (1, 2, 3):
            raise InputError("unfreeze_stages must be 1, 2 or 3 (CT-FM has 5 stages; the first ones stay frozen)")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise InputError("epochs and batch size must be >= 1 and the learning rate > 0")


@dataclass
class ProbeResult:
    """Out-of-fold probabilities and metrics of the fine-tuned model and of the frozen linear probe."""

    config: ProbeConfig
    class_names: List[str]
    case_ids: List[str]
    y: np.ndarray
    fold_of_case: np.ndarray
    probabilities: Dict[str, np.ndarray]
    summary: Dict[str, Dict[str, Any]]
    fold_metrics: Dict[str, List[Dict[str, float]]]
    paired_tests: List[Any]
    seconds: float
    notes: List[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------- network pieces

def split_encoder(model, unfreeze_stages: int):
    """(frozen prefix function, trainable stages as a ModuleList) of a SegResEncoder."""
    import torch

    first_trainable = len(model.layers) - unfreeze_stages

    def prefix(x):
        x = model.conv_init(x)
        for level in model.layers[:first_trainable]:
            x = level["downsample"](level["blocks"](x))
        return x

    return prefix, torch.nn.ModuleList(model.layers[first_trainable:])


def run_stages(stages, x):
    for level in stages:
        x = level["blocks"](x)
        last = x
        x = level["downsample"](x)
    return last


class ProbeNetwork:
    """Trainable CT-FM stages + linear head (torch modules), built from the pretrained stages."""

    def __init__(self, stages, n_classes: int, torch):
        self.stages = copy.deepcopy(stages)
        self.head = torch.nn.Linear(512, n_classes)
        self.torch = torch

    def to(self, device):
        self.stages.to(device)
        self.head.to(device)
        return self

    def logits(self, cached):
        pooled = self.torch.nn.functional.adaptive_avg_pool3d(run_stages(self.stages, cached), 1).flatten(1)
        return self.head(pooled)

    def train_mode(self):
        self.stages.train()
        for module in self.stages.modules():  # pretrained batch-norm statistics stay as they are
            if isinstance(module, self.torch.nn.modules.batchnorm._BatchNorm):
                module.eval()
        self.head.train()

    def eval_mode(self):
        self.stages.eval()
        self.head.eval()

    def state(self) -> Dict[str, np.ndarray]:
        merged = {"stages." + k: v for k, v in self.stages.state_dict().items()}
        merged.update({"head." + k: v for k, v in self.head.state_dict().items()})
        return {k: v.detach().cpu().numpy().copy() for k, v in merged.items()}


def frozen_inputs(model, volumes: Sequence[np.ndarray], unfreeze_stages: int, device,
                  progress: Progress = silent):
    """Per case: the cached input of the trainable stages (torch tensor on CPU) and the frozen 512-d embedding."""
    from ..features.embeddings.torch_runtime import deterministic

    prefix, stages = split_encoder(model, unfreeze_stages)
    cached, embeddings = [], np.zeros((len(volumes), 512))
    with deterministic() as torch:
        with torch.no_grad():
            model.eval()
            for i, volume in enumerate(volumes):
                x = prefix(torch.from_numpy(np.ascontiguousarray(volume)[None, None]).to(device))
                cached.append(x.cpu())
                last = run_stages(stages, x)
                embeddings[i] = torch.nn.functional.adaptive_avg_pool3d(last, 1).flatten(1)[0].double().cpu().numpy()
                progress((i + 1) / len(volumes), "CT-FM frozen stages: case %d of %d" % (i + 1, len(volumes)))
    return cached, embeddings, stages


def train_fold(stages, cached_train: Sequence[Any], y_train: np.ndarray, n_classes: int, config: ProbeConfig,
               device, seed: int) -> ProbeNetwork:
    """Fine-tune a copy of ``stages`` + a new linear head on the training cases only; returns the trained network."""
    from ..features.embeddings.torch_runtime import deterministic

    with deterministic(seed) as torch:
        network = ProbeNetwork(stages, n_classes, torch).to(device)
        counts = np.bincount(y_train, minlength=n_classes).astype(float)
        weights = np.where(counts > 0, len(y_train) / (n_classes * np.maximum(counts, 1)), 0.0)
        loss_function = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device))
        optimiser = torch.optim.AdamW([
            {"params": network.stages.parameters(), "lr": config.learning_rate * config.backbone_lr_factor},
            {"params": network.head.parameters(), "lr": config.learning_rate}], weight_decay=config.weight_decay)
        generator = np.random.default_rng(seed)
        targets = torch.tensor(np.asarray(y_train), dtype=torch.long)
        for _epoch in range(config.epochs):
            network.train_mode()
            order = generator.permutation(len(cached_train))
            for start in range(0, len(order), config.batch_size):
                batch = order[start:start + config.batch_size]
                optimiser.zero_grad()
                for index in batch:  # crops differ in size: one case per forward, gradients accumulated
                    logits = network.logits(cached_train[index].to(device))
                    loss = loss_function(logits, targets[index:index + 1].to(device)) / len(batch)
                    loss.backward()
                optimiser.step()
        network.eval_mode()
    return network


def predict(network: ProbeNetwork, cached: Sequence[Any], device) -> np.ndarray:
    from ..features.embeddings.torch_runtime import deterministic

    rows = []
    with deterministic() as torch:
        with torch.no_grad():
            for x in cached:
                rows.append(torch.softmax(network.logits(x.to(device)), dim=1)[0].double().cpu().numpy())
    return np.array(rows)


def linear_probe(embeddings_train: np.ndarray, y_train: np.ndarray, seed: int):
    """Standardisation + class-balanced logistic regression, fitted on training rows only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()),
                     ("logistic", LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000,
                                                     random_state=seed))]).fit(embeddings_train, y_train)


# -------------------------------------------------------------------------------------------------------- protocol

def run_probe(model, volumes: Sequence[np.ndarray], case_ids: Sequence[str], labels: Sequence[str], task: str,
              config: ProbeConfig, device, progress: Progress = silent) -> ProbeResult:
    """The probe on prepared CT-FM volumes (``CTFMExtractor.prepare(...).data``) with class-name ``labels``."""
    from .metrics import compute_metrics, paired_t_test, summarise
    from .nested_cv import TrainingConfig, check_class_counts, encode_labels, outer_splits

    config.check()
    start = time.perf_counter()
    y, class_names = encode_labels(list(labels), task)
    split_config = TrainingConfig(task=task, outer_folds=config.outer_folds, inner_folds=2, calibration="none",
                                  random_state=config.seed)
    check_class_counts(y, class_names, split_config)
    fold_of_case = outer_splits(y, split_config)
    n_classes = len(class_names)
    cached, embeddings, stages = frozen_inputs(model, volumes, config.unfreeze_stages, device,
                                               lambda f, m: progress(0.3 * f, m))
    probabilities = {"fine-tuned": np.full((len(y), n_classes), np.nan), "linear probe": np.full((len(y), n_classes),
                                                                                                 np.nan)}
    fold_metrics: Dict[str, List[Dict[str, float]]] = {name: [] for name in probabilities}
    for fold in range(config.outer_folds):
        progress(0.3 + 0.7 * fold / config.outer_folds, "fine-tuning fold %d of %d" % (fold + 1, config.outer_folds))
        train = np.flatnonzero(fold_of_case != fold)
        test = np.flatnonzero(fold_of_case == fold)
        network = train_fold(stages, [cached[i] for i in train], y[train], n_classes, config, device,
                             seed=config.seed + fold)
        probabilities["fine-tuned"][test] = predict(network, [cached[i] for i in test], device)
        probe = linear_probe(embeddings[train], y[train], config.seed)
        probabilities["linear probe"][test] = _all_classes(probe, embeddings[test], n_classes)
        for name in probabilities:
            fold_metrics[name].append(compute_metrics(y[test], probabilities[name][test]))
    summary = {name: summarise(y, p, fold_of_case, n_boot=config.n_boot, seed=config.seed)
               for name, p in probabilities.items()}
    metrics = list(fold_metrics["fine-tuned"][0])
    tests = [paired_t_test("fine-tuning", "CT-FM fine-tuned (%d stage%s)" % (config.unfreeze_stages,
                                                                           "s" if config.unfreeze_stages > 1 else ""),
                           "CT-FM frozen linear probe", metric,
                           [f[metric] for f in fold_metrics["fine-tuned"]],
                           [f[metric] for f in fold_metrics["linear probe"]], 1.0 / config.outer_folds)
             for metric in metrics]
    progress(1.0, "fine-tuning probe done")
    return ProbeResult(config=config, class_names=class_names, case_ids=list(case_ids), y=y,
                       fold_of_case=fold_of_case, probabilities=probabilities,
                       summary={k: {m: e.to_dict() for m, e in v.items()} for k, v in summary.items()},
                       fold_metrics=fold_metrics, paired_tests=tests, seconds=time.perf_counter() - start)


def _all_classes(probe, X: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with a column for every class (a class absent from a training fold gets probability 0)."""
    raw = probe.predict_proba(X)
    full = np.zeros((len(X), n_classes))
    full[:, probe.classes_] = raw
    return full


def write_probe_report(result: ProbeResult, directory: str, skipped: Sequence[Any] = (),
                       note: Optional[str] = None) -> Dict[str, str]:
    """finetune_report.md / .json and finetune_predictions.csv in ``directory``."""
    import csv
    import json
    import math
    import os

    from ..io.atomic import atomic_path, write_text_atomic

    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in
             ("finetune_report.md", "finetune_report.json", "finetune_predictions.csv")}

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            return clean(value.item())
        return value

    data = {"task_classes": result.class_names, "cases": len(result.case_ids), "config": asdict(result.config),
            "metrics": result.summary, "fold_metrics": result.fold_metrics,
            "paired_tests": [t.to_dict() for t in result.paired_tests], "seconds": round(result.seconds, 1),
            "skipped_cases": [{"case_id": s.case_id, "reason": s.reason} for s in skipped], "note": note}
    write_text_atomic(paths["finetune_report.json"], json.dumps(clean(data), indent=2) + "\n")
    with atomic_path(paths["finetune_predictions.csv"]) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["case_id", "label", "fold", "method"] + ["p_%s" % c for c in result.class_names])
            for method, probabilities in result.probabilities.items():
                for i, case in enumerate(result.case_ids):
                    writer.writerow([case, result.class_names[result.y[i]], int(result.fold_of_case[i]), method] +
                                    [float(p) for p in probabilities[i]])
    config = result.config
    lines = ["# CT-FM fine-tuning probe", ""]
    if note:
        lines += ["> **%s**" % note, ""]
    lines += ["- %d cases, stratified %d-fold CV (seed %d: the folds `train` uses for the same cohort and seed)."
              % (len(result.case_ids), config.outer_folds, config.seed),
              "- Fine-tuned: last %d CT-FM stage(s) + linear head, AdamW %d epochs, lr %g (stages x%g), weight decay "
              "%g, batch %d, class-balanced loss, batch-norm statistics frozen. Baseline: logistic regression on the "
              "frozen 512-d embedding. Nothing tuned on test folds." % (
                  config.unfreeze_stages, config.epochs, config.learning_rate, config.backbone_lr_factor,
                  config.weight_decay, config.batch_size),
              "", "| method | " + " | ".join(next(iter(result.summary.values()))) + " |",
              "|---|" + "---|" * len(next(iter(result.summary.values())))]
    for method, metrics in result.summary.items():
        cells = []
        for estimate in metrics.values():
            value = estimate.get("value")
            text = "n/a" if value is None else "%.3f" % value
            if value is not None and estimate.get("ci_low") is not None:
                text += " (%.3f-%.3f)" % (estimate["ci_low"], estimate["ci_high"])
            cells.append(text)
        lines.append("| %s | %s |" % (method, " | ".join(cells)))
    lines += ["", "## Paired tests over the folds (fine-tuned - linear probe)", "",
              "| metric | mean fine-tuned | mean linear probe | difference | p | p (corrected) |",
              "|---|---|---|---|---|---|"]
    for t in result.paired_tests:
        lines.append("| %s | %s | %s | %s | %s | %s |" % tuple(
            [t.metric] + ["n/a" if not math.isfinite(v) else "%.4f" % v for v in
                          (t.mean_a, t.mean_b, t.mean_difference, t.p_value, t.p_value_corrected)]))
    if skipped:
        lines += ["", "## Cases left out", ""] + ["- %s: %s" % (s.case_id, s.reason) for s in skipped]
    write_text_atomic(paths["finetune_report.md"], "\n".join(lines) + "\n")
    return paths
