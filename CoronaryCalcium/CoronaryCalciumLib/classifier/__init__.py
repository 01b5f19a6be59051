"""Stage 5, classifier: the tree-ensemble models (correlation filter, RandomForest / XGBoost / LightGBM), the nested cross-validation protocol, trusted model files without pickle and the step that runs a model on one case."""

from .._lazy import lazy_api

_API = {
    "TrainedModel": ".model",
    "Prediction": ".prediction",
    "ClassifierNotRun": ".prediction",
    "convert_joblib": ".convert",
    "load_trusted": ".model",
    "load_shipped": ".model",
    "classifier_step": ".step",
    "load_model": ".step",
    "find_trusted": ".trust",
    "add_trusted": ".trust",
    "TrainingConfig": ".nested_cv",
    "TrainingResult": ".nested_cv",
    "run_protocol": ".nested_cv",
    "extract_cohort": ".cohort",
    "CorrelationFilter": ".correlation_filter",
    "make_pipeline": ".pipelines",
    "param_grid": ".pipelines",
    "Explanation": ".explanations",
    "FeatureContribution": ".explanations",
    "compute_metrics": ".metrics",
    "summarise": ".metrics",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_api(__name__, _API)
