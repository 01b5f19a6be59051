"""CoronaryCalciumLib: the Slicer-free core of CoronaryCalcium.

Pipeline: ``ct.load_ct`` -> ``roi`` -> ``scoring.score`` -> (features -> model) -> ``result.Assessment``.
Nothing here imports Slicer; the Slicer module, the CLI and the reports are thin doors onto this package.
"""

__version__ = "0.1.0"
