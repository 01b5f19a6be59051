"""Subcommands of the ``coronary-calcium`` command line (see ``cli.py``)."""
