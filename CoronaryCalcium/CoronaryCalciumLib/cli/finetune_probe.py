"""``coronary-calcium finetune-probe MANIFEST --out DIR``: does fine-tuning CT-FM's last stage(s) beat its frozen
embedding? Cross-validated on your cohort (see finetune_probe for the protocol)."""

from __future__ import annotations

import argparse
import os
import sys

from ..classifier.nested_cv import TASKS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "finetune-probe",
        help="cross-validated probe: CT-FM last stage(s) fine-tuned vs its frozen embedding (needs torch, MONAI)",
        description="For every case of MANIFEST (CSV: image, mask, label or agatston), crop and preprocess the region "
                    "as the ctfm features do; then, per stratified outer fold, fine-tune CT-FM's last stage(s) with a "
                    "linear head on the training cases only and compare with a linear probe on the frozen embedding. "
                    "Writes finetune_report.md/.json and out-of-fold predictions to DIR.",
    )
    parser.add_argument("manifest", help="cohort manifest CSV")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--task", choices=TASKS, default="binary")
    parser.add_argument("--ctfm-weights", metavar="PATH",
                        help="CT-FM weights file or folder (default: $CORONARY_CALCIUM_CTFM_WEIGHTS, then the "
                             "weights folder); from huggingface.co/project-lighter/ct_fm_feature_extractor")
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument("--unfreeze-stages", type=int, default=1, choices=(1, 2, 3),
                        help="CT-FM stages to fine-tune, counted from the last (default 1)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs per fold (default 30)")
    parser.add_argument("--lr", type=float, default=1e-3, help="head learning rate; stages get x0.1 (default 1e-3)")
    parser.add_argument("--batch-size", type=int, default=4, help="cases per optimiser step (default 4)")
    parser.add_argument("--outer-folds", type=int, default=5, metavar="K", help="CV folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and training (default 0)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    parser.add_argument("--note", default=None, help="a line for the top of the report (e.g. synthetic data)")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..classifier.cohort import SkippedCase, labels_for_task
    from ..io.manifest import read_manifest
    from ..io.ct import load_ct
    from ..features.embeddings.ctfm import CTFMExtractor, load_encoder
    from ..errors import CoronaryCalciumError, InputError
    from ..classifier.finetune_probe import ProbeConfig, run_probe, write_probe_report
    from ..region.mask import load_region
    from ..features.embeddings.torch_runtime import resolve_device
    from .train import ProgressPrinter
    from ..io.atomic import check_output_folder

    check_output_folder(args.out, "--out")
    progress = ProgressPrinter(args.quiet)
    cases = read_manifest(args.manifest)
    labels_for_task(cases, args.task)
    extractor = CTFMExtractor(weights=args.ctfm_weights, device=args.device)
    device = resolve_device(args.device)
    model = load_encoder(extractor.weights_file(), device)
    volumes, kept, skipped = [], [], []
    for index, case in enumerate(cases):
        progress(0.3 * index / len(cases), "preparing %s (%d of %d)" % (case.case_id, index + 1, len(cases)))
        try:
            ct = load_ct(case.image)
            volumes.append(extractor.prepare(ct, load_region(case.mask, ct)).data)
            kept.append(case)
        except CoronaryCalciumError as error:
            skipped.append(SkippedCase(case.case_id, str(error)))
    if not kept:
        raise InputError("no case could be prepared; first reason: %s" % (skipped[0].reason if skipped else "none"))
    config = ProbeConfig(unfreeze_stages=args.unfreeze_stages, epochs=args.epochs, learning_rate=args.lr,
                         batch_size=args.batch_size, outer_folds=args.outer_folds, seed=args.seed,
                         n_boot=args.bootstrap)
    result = run_probe(model, volumes, [c.case_id for c in kept], labels_for_task(kept, args.task), args.task,
                       config, device, progress=lambda f, m: progress(0.3 + 0.7 * f, m))
    paths = write_probe_report(result, args.out, skipped=skipped, note=args.note)
    if not args.quiet:
        for method, metrics in result.summary.items():
            text = ", ".join("%s %s" % (name, "n/a" if e["value"] is None else "%.3f" % e["value"])
                             for name, e in metrics.items())
            print("%-14s %s" % (method, text))
        if skipped:
            print("%d case(s) left out, listed in the report" % len(skipped), file=sys.stderr)
        print("report: %s" % os.path.abspath(paths["finetune_report.md"]))
    return 0
