"""``sagemaker.clarify``: bias and explainability as ClarifyJob jobs.

``SageMakerClarifyProcessor(...).run_pre_training_bias(data_config, data_bias_config)``,
``run_post_training_bias(..., model_config, model_predicted_label_config)``, ``run_bias``
and ``run_explainability(data_config, model_config, explainability_config)`` write Clarify's
``analysis.json`` (and a report page) to ``data_config.s3_output_path``. ``ModelConfig`` names
the model by ``model_data`` (an artifact URI or ``registry://``) or ``model_name`` (a
registered model group's latest approved version); AWS-only arguments are accepted.
"""

from __future__ import annotations

from raymaker.sagemaker.session import UsesSession


class DataConfig:
    """The data Clarify analyses."""

    def __init__(self, s3_data_input_path: str, s3_output_path: str | None = None,
                 label: str | None = None, headers: list[str] | None = None,
                 features: str | None = None, dataset_type: str = "text/csv",
                 **_ignored):  # fmt: skip
        self.s3_data_input_path = s3_data_input_path
        self.s3_output_path = s3_output_path
        self.label = label
        self.headers = headers
        self.features = features
        self.dataset_type = dataset_type

    def dataset(self) -> dict:
        fmt = {"text/csv": "csv", "application/jsonlines": "json",
               "application/x-parquet": "parquet"}.get(self.dataset_type)  # fmt: skip
        if fmt is None:
            from raymaker.errors import SpecError

            raise SpecError(f"dataset_type {self.dataset_type!r} is not supported; allowed: "
                            "text/csv, application/jsonlines, application/x-parquet")  # fmt: skip
        return {"uri": self.s3_data_input_path, "format": fmt}


class BiasConfig:
    """Which facet is sensitive and which label is the positive outcome."""

    def __init__(self, label_values_or_threshold, facet_name, facet_values_or_threshold=None,
                 group_name: str | None = None):  # fmt: skip
        self.label_values_or_threshold = _listed(label_values_or_threshold)
        self.facet_name = facet_name
        self.facet_values_or_threshold = (
            None if facet_values_or_threshold is None else _listed(facet_values_or_threshold)
        )
        self.group_name = group_name

    def to_spec(self) -> dict:
        if isinstance(self.facet_name, list):
            from raymaker.errors import SpecError

            raise SpecError("facet_name: one facet a job in this version (give a string)")
        return {
            "label_values_or_threshold": self.label_values_or_threshold,
            "facet_name": self.facet_name,
            "facet_values_or_threshold": self.facet_values_or_threshold,
            "group_name": self.group_name,
        }


class ModelConfig:
    """The model to ask: ``model_data`` (raymaker) or ``model_name``."""

    def __init__(self, model_name: str | None = None, instance_count: int = 1,
                 instance_type: str = "ml.m5.xlarge", *, model_data: str | None = None,
                 **_ignored):  # fmt: skip
        self.model_name = model_name
        self.model_data = model_data
        self.instance_count = instance_count
        self.instance_type = instance_type

    def uri(self) -> str:
        if self.model_data:
            return self.model_data
        if self.model_name:
            return self.model_name if "://" in self.model_name else f"registry://{self.model_name}"
        from raymaker.errors import SpecError

        raise SpecError("ModelConfig needs model_data (a model URI) or model_name")


class ModelPredictedLabelConfig:
    """How a score becomes a label: at or above ``probability_threshold``, the positive one."""

    def __init__(self, label=None, probability=None, probability_threshold: float | None = None,
                 label_headers=None):  # fmt: skip
        self.label = label
        self.probability = probability
        self.probability_threshold = probability_threshold


class SHAPConfig:
    """Clarify's SHAP settings (``baseline`` rows are sampled from the data)."""

    def __init__(self, baseline=None, num_samples: int | None = None,
                 agg_method: str = "mean_abs", use_logit: bool = False, save_local_shap_values=True,
                 seed: int | None = None, num_clusters: int | None = None, **_ignored):  # fmt: skip
        self.num_samples = num_samples
        self.agg_method = agg_method
        self.seed = seed
        self.num_clusters = num_clusters

    def to_spec(self) -> dict:
        out = {"agg_method": self.agg_method}
        if self.num_samples:
            out["num_samples"] = self.num_samples
        if self.seed is not None:
            out["seed"] = self.seed
        if self.num_clusters:
            out["baseline_rows"] = self.num_clusters
        return out


class SageMakerClarifyProcessor(UsesSession):
    """Runs ClarifyJob jobs; ``latest_job`` is the last one's handle."""

    def __init__(self, role=None, instance_count: int = 1, instance_type: str = "ml.m5.xlarge",
                 volume_size_in_gb: int = 30, sagemaker_session=None, job_name_prefix=None,
                 *, session=None, **_ignored):  # fmt: skip
        self.role = role
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.session = sagemaker_session or session
        self.job_name_prefix = job_name_prefix
        self.latest_job = None

    def run_pre_training_bias(self, data_config, data_bias_config, methods="all", wait=True,
                              logs=True, job_name=None, **_ignored):  # fmt: skip
        return self._run(["pre_training_bias"], data_config, data_bias_config, None, None,
                         None, methods, wait, logs, job_name)  # fmt: skip

    def run_post_training_bias(self, data_config, data_bias_config, model_config,
                               model_predicted_label_config=None, methods="all", wait=True,
                               logs=True, job_name=None, **_ignored):  # fmt: skip
        return self._run(["post_training_bias"], data_config, data_bias_config, model_config,
                         model_predicted_label_config, None, methods, wait, logs,
                         job_name)  # fmt: skip

    def run_bias(self, data_config, bias_config, model_config, model_predicted_label_config=None,
                 pre_training_methods="all", post_training_methods="all", wait=True, logs=True,
                 job_name=None, **_ignored):  # fmt: skip
        methods = "all" if "all" in (pre_training_methods, post_training_methods) else [
            *pre_training_methods, *post_training_methods]  # fmt: skip
        return self._run(["pre_training_bias", "post_training_bias"], data_config, bias_config,
                         model_config, model_predicted_label_config, None, methods, wait, logs,
                         job_name)  # fmt: skip

    def run_explainability(self, data_config, model_config, explainability_config,
                           model_scores=None, wait=True, logs=True, job_name=None,
                           **_ignored):  # fmt: skip
        return self._run(["explainability"], data_config, None, model_config, None,
                         explainability_config, "all", wait, logs, job_name)  # fmt: skip

    def _run(self, analyses, data, bias_config, model, predicted, shap, methods, wait, logs,
             job_name):  # fmt: skip
        spec = clarify_job_spec(analyses, data, bias_config, model, predicted, shap, methods,
                                job_name or None, self.job_name_prefix)  # fmt: skip
        self.latest_job = self._session().jobs.submit(spec, wait=wait, logs=logs)
        return self.latest_job


def clarify_job_spec(analyses, data, bias_config, model, predicted, shap, methods,
                     job_name=None, prefix=None) -> dict:  # fmt: skip
    """The ClarifyJob spec of a Clarify run (a processor's, or a ClarifyCheckStep's)."""
    if not data.label:
        from raymaker.errors import SpecError

        raise SpecError("DataConfig.label: Clarify needs the label column")
    spec: dict = {"kind": "ClarifyJob", "dataset": data.dataset(), "label": data.label,
                  "analyses": analyses, "methods": methods}  # fmt: skip
    if job_name or prefix:
        from raymaker.jobs.records import generate_name

        spec["name"] = job_name or generate_name(prefix)
    if data.s3_output_path:
        spec["output_uri"] = data.s3_output_path
    if bias_config is not None:
        spec["bias"] = bias_config.to_spec()
    if model is not None:
        spec["model_data"] = model.uri()
    if predicted is not None and predicted.probability_threshold is not None:
        spec["probability_threshold"] = predicted.probability_threshold
    if shap is not None:
        spec["shap"] = shap.to_spec()
    return spec


def _listed(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]
