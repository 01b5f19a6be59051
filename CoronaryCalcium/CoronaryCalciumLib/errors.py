"""Errors the user can act on. Each carries a one-line message; the CLI prints it without a traceback."""


class CoronaryCalciumError(Exception):
    """Base class: a problem with the input or the request, explained in one line."""


class InputError(CoronaryCalciumError):
    """The image or mask cannot be read, or is not a CT in HU that can be scored."""


class RegionError(CoronaryCalciumError):
    """The region of interest is missing, empty or unusable (a segmentation failure, never a zero score)."""


class ContrastError(CoronaryCalciumError):
    """The CT looks contrast-enhanced, so the 130 HU calcium threshold would fire on blood."""


class CalibrationError(CoronaryCalciumError):
    """The calibration phantom or its reference regions could not be measured."""


class UntrustedModelError(CoronaryCalciumError):
    """A model file whose SHA-256 is in no trusted registry (or no longer matches): it is not loaded."""
