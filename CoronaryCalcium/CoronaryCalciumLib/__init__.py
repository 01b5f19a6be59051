"""CoronaryCalciumLib: the Slicer-free core of CoronaryCalcium, a package per pipeline stage.

    io (load) -> region -> scoring -> features -> classifier -> result.Assessment -> reporting

``pipeline.assess`` runs one case through the stages; ``batch`` runs many; ``cli`` is the command line; ``phantom``
makes synthetic CTs with known truth. Nothing here imports Slicer; the Slicer module, the CLI and the reports are thin
doors onto this package. Each stage package names its public API in its ``__init__`` (imported on first use).
"""

__version__ = "0.1.0"
