"""``coronary-calcium convert-model OLD.joblib OUT.model.zip``: an old joblib (pickle) model to a file without pickle."""

from __future__ import annotations

import argparse
import sys

from ..io.atomic import check_output_file


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert-model",
        help="convert an old joblib model file to the pickle-free model format",
        description="Load an old joblib model (the only command that opens a pickle: its SHA-256 must be in a trusted "
                    "registry, or pass --trust), write it as a .model.zip (JSON, skops and the boosters' own formats), "
                    "check that both give identical probabilities, and record the new file's hash in your trusted-model "
                    "registry.",
    )
    parser.add_argument("old", help="the joblib model file (or a train output folder holding model.joblib)")
    parser.add_argument("out", help="the new model file, e.g. model.zip or NAME.model.zip")
    parser.add_argument("--trust", action="store_true",
                        help="convert even though OLD's hash is in no registry (a pickle can run any code it holds: "
                             "only for files you made or trust)")
    parser.add_argument("--registry", metavar="JSON", help="record the new hash in this registry instead of yours")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..classifier.convert import convert_joblib

    check_output_file(args.out, "OUT")
    converted = convert_joblib(args.old, args.out, trust=args.trust, registry_path=args.registry,
                               warn=lambda text: print("warning: %s" % text, file=sys.stderr))
    print("converted %s (SHA-256 %s)" % (converted.source, converted.source_sha256))
    print("  -> %s (SHA-256 %s), trusted in %s" % (converted.path, converted.sha256, converted.registry))
    print("  probabilities identical on %d probe rows" % converted.probe_rows)
    return 0
