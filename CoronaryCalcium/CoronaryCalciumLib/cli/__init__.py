"""The ``coronary-calcium`` command line: ``main`` (argv -> exit code), one module per subcommand, shared options."""

from .main import main

__all__ = ["main"]
