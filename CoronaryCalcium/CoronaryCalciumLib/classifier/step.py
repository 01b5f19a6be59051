"""The classifier step of an assessment: pyradiomics features in the region -> trusted model -> verdict in the result.

``classifier_step(spec)`` turns a model choice into the ``classify(ct, region, assessment)`` callable the pipeline
takes: ``"shipped"`` (the model in models/, trained on synthetic phantoms), a path to a trusted model file or folder,
or ``None``/``"none"`` for no classifier. The scores never depend on it: when the classifier cannot run (the shipped
model is not installed, pyradiomics is missing, the region is too small for texture features) the scores stand and
the reason goes into ``assessment.classifier_not_run`` (and a warning line). A model the user names explicitly that cannot be loaded (missing, untrusted) is an
error, so a typo is never silently ignored.
"""

from __future__ import annotations

from typing import Optional

from ..errors import CoronaryCalciumError
from ..pipeline import Classify
from ..progress import Progress
from .prediction import ClassifierNotRun

NO_CLASSIFIER = ("none", "off", "")
SHIPPED = "shipped"


def load_model(spec: Optional[str], trust: bool = False):
    """The TrainedModel for ``spec`` ("shipped", a path) or None for no classifier. Raises UntrustedModelError or
    InputError with the reason."""
    if spec is None or spec.lower() in NO_CLASSIFIER:
        return None
    from .model import load_shipped, load_trusted

    if spec == SHIPPED:
        return load_shipped("binary")
    return load_trusted(spec, trust=trust)


def classifier_step(spec: Optional[str], trust: bool = False, top: int = 5, progress: Optional[Progress] = None,
                    strict: Optional[bool] = None) -> Optional[Classify]:
    """A ``classify(ct, region, assessment)`` callable for the pipeline, or None for no classifier.

    ``strict`` (default: True for a model path, False for the shipped model) makes a model that cannot be loaded an
    error instead of a warning.
    """
    if spec is None or spec.lower() in NO_CLASSIFIER:
        return None
    strict = (spec != SHIPPED) if strict is None else strict
    try:
        model = load_model(spec, trust=trust)
        failure = None
    except (CoronaryCalciumError, ImportError) as error:
        if strict:
            raise
        model, failure = None, error

    def classify(ct, region, assessment) -> None:
        if model is None:
            _not_run(assessment, failure)
            return
        from .model import predict_case

        try:
            prediction = predict_case(model, ct, region, progress=progress, top=top)
        except (CoronaryCalciumError, ImportError) as error:
            _not_run(assessment, error)
            return
        assessment.classifier = prediction
        assessment.extra_warnings.extend("classifier: %s" % warning for warning in prediction.warnings)

    return classify


def _not_run(assessment, error) -> None:
    assessment.classifier_not_run = ClassifierNotRun(reason=str(error))
    assessment.extra_warnings.append(assessment.classifier_not_run.warning())
