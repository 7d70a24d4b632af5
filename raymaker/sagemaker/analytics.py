"""``sagemaker.analytics``: ``ExperimentAnalytics`` over MLflow (and the job analytics the
estimator and tuner already give, re-exported where SageMaker's SDK has them)."""

from __future__ import annotations

from raymaker.sagemaker.estimator import TrainingJobAnalytics
from raymaker.sagemaker.session import default_session
from raymaker.sagemaker.tuner import HyperparameterTuningJobAnalytics


class ExperimentAnalytics:
    """An experiment's runs as a table: ``dataframe()`` has a row a run with
    ``TrialComponentName`` (the run id), ``DisplayName``, parameters, and per metric
    ``<name> - Min/Max/Avg/StdDev/Last/Count`` over its whole history."""

    def __init__(self, experiment_name: str | None = None, search_expression=None,
                 sort_by: str | None = None, sort_order: str | None = None,
                 metric_names: list[str] | None = None,
                 parameter_names: list[str] | None = None, sagemaker_session=None,
                 input_artifact_names=None, output_artifact_names=None, *,
                 session=None):  # fmt: skip
        self.experiment_name = experiment_name
        self.sort_by, self.sort_order = sort_by, sort_order or "Descending"
        self.metric_names, self.parameter_names = metric_names, parameter_names
        self._sess = session or sagemaker_session or default_session()
        self._frame = None

    def dataframe(self, force_refresh: bool = False):
        import pandas as pd

        from raymaker.tracking import queries

        if self._frame is None or force_refresh:
            rows = queries.analytics(
                self._sess.settings.tracking_uri(), self.experiment_name,
                metric_names=self.metric_names, parameter_names=self.parameter_names,
                sort_by=self.sort_by, sort_order=self.sort_order,
            )  # fmt: skip
            self._frame = pd.DataFrame(rows)
        return self._frame

    def clear_cache(self) -> None:
        self._frame = None


__all__ = ["ExperimentAnalytics", "HyperparameterTuningJobAnalytics", "TrainingJobAnalytics"]
