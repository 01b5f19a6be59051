"""The ``coronary-calcium`` command line: one subcommand per job, errors as one line without a traceback.

Each subcommand lives in ``CoronaryCalciumLib/commands/<name>.py`` and exposes ``register(subparsers)``, which adds its
parser and sets ``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from typing import List, Optional

from .. import __version__
from ..errors import CoronaryCalciumError
from ..io.integrity import DEBUG_ENV

COMMANDS = ("score", "assess", "calibrate", "phantom", "train", "evaluate", "compare_features", "finetune_probe",
            "agreement", "convert_model", "review")

EXIT_OK = 0
EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coronary-calcium",
        description="Coronary artery calcium assessment on CT (research software, not for diagnosis).",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module("%s.%s" % (__package__, name)).register(subparsers)
    return parser


def _printable_streams() -> None:
    """Paths whose bytes are not UTF-8 print escaped instead of raising UnicodeEncodeError mid-message."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text stream we can reconfigure
            pass


def main(argv: Optional[List[str]] = None) -> int:
    _printable_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT_ERROR
    if args.debug:
        os.environ[DEBUG_ENV] = "1"  # native (ITK, GDCM) diagnostics are shown, not captured
    try:
        return int(args.func(args) or EXIT_OK)
    except CoronaryCalciumError as error:
        print("error: %s" % error, file=sys.stderr)
        return EXIT_INPUT_ERROR
    except BrokenPipeError:  # output piped into head & co.
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # an unexpected failure is still reported in one line unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print("internal error: %s: %s (rerun with --debug for details and please report it)"
                  % (type(error).__name__, error), file=sys.stderr)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
