"""``sagemaker.model_monitor.clarify_model_monitoring``: ``ModelBiasMonitor`` and
``ModelExplainabilityMonitor``, whose baselines are Clarify jobs' analysis.json."""

from __future__ import annotations

from raymaker.sagemaker.model_monitor.model_monitoring import (
    BaseliningJob,
    ModelMonitor,
    batch_input,
    file_uri,
    generated_name,
    quality_fields,
)


class _ClarifyMonitor(ModelMonitor):
    """A monitor whose baseline is a Clarify job's analysis.json."""

    analyses: list[str] = []

    def suggest_baseline(self, data_config, bias_config=None, model_config=None,
                         model_predicted_label_config=None, explainability_config=None,
                         wait: bool = True, logs: bool = True, job_name: str | None = None,
                         **_ignored) -> BaseliningJob:  # fmt: skip
        """Run a Clarify job on the baseline data; its analysis.json is the baseline."""
        from raymaker.sagemaker.clarify import SageMakerClarifyProcessor

        processor = SageMakerClarifyProcessor(session=self._session(),
                                              job_name_prefix=self.base_job_name)  # fmt: skip
        handle = processor._run(self.analyses, data_config, bias_config, model_config,
                                model_predicted_label_config, explainability_config, "all",
                                wait, logs, job_name)  # fmt: skip
        self.latest_baselining_job = BaseliningJob(handle, self._session())
        self._baseline_config = {"bias": bias_config, "model": model_config,
                                 "predicted": model_predicted_label_config}  # fmt: skip
        return self.latest_baselining_job

    def _analysis(self) -> str:
        return self._baselining().handle.result()["analysis"]

    def create_monitoring_schedule(self, endpoint_input=None, ground_truth_input=None,
                                   analysis_config=None, output_s3_uri=None, constraints=None,
                                   monitor_schedule_name=None, schedule_cron_expression=None,
                                   batch_transform_input=None, data_analysis_start_time=None,
                                   data_analysis_end_time=None, *, features=None,
                                   bias_config=None, model_config=None, webhook=None,
                                   ground_truth_attribute=None, **_ignored) -> None:  # fmt: skip
        """Schedule bias or attribution checks of an endpoint's traffic (or a batch input)
        against the baseline's analysis.json. Raises SpecError before submitting."""
        base = getattr(self, "_baseline_config", {})
        spec: dict = {
            "kind": "MonitoringSchedule", "monitor_type": self.monitor_type,
            "name": monitor_schedule_name or generated_name(self.base_job_name or "monitoring"),
            "baseline_constraints": file_uri(constraints) or (
                self._analysis() if self.latest_baselining_job else None),
        }  # fmt: skip
        if batch_transform_input is not None:
            spec["batch_transform_input"] = batch_input(batch_transform_input)
        elif endpoint_input is not None:
            spec["endpoint"] = getattr(endpoint_input, "endpoint_name", endpoint_input)
        bias_config = bias_config or base.get("bias")
        model_config = model_config or base.get("model")
        optional = {
            "ground_truth_uri": ground_truth_input, "output_uri": output_s3_uri,
            "schedule_cron_expression": schedule_cron_expression,
            "data_analysis_start_time": data_analysis_start_time,
            "data_analysis_end_time": data_analysis_end_time, "features": features,
            "webhook": webhook,
            "bias": bias_config.to_spec() if bias_config is not None else None,
            "model_data": model_config.uri() if model_config is not None else None,
            "ground_truth_attribute": ground_truth_attribute,
        }  # fmt: skip
        spec.update({k: v for k, v in optional.items() if v})
        spec.update(quality_fields(endpoint_input, batch_transform_input, {}))
        self._session().monitors.apply(spec)
        self.monitoring_schedule_name = spec["name"]
        self.last_spec = spec


class ModelBiasMonitor(_ClarifyMonitor):
    """Bias drift: Clarify's post-training metrics on captured answers and their ground
    truth, against the baseline's (``bias_drift_check``)."""

    monitor_type = "ModelBias"
    analyses = ["post_training_bias"]


class ModelExplainabilityMonitor(_ClarifyMonitor):
    """Feature attribution drift: the nDCG of the window's global SHAP ranking against the
    baseline's (``feature_attribution_drift_check`` below 0.90)."""

    monitor_type = "ModelExplainability"
    analyses = ["explainability"]
