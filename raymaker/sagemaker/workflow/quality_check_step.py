"""``sagemaker.workflow.quality_check_step``: compute a data or model quality baseline (a
BaselineJob) and, unless ``skip_check``, check it against the supplied baseline: a violation
fails the step (``fail_on_violation``)."""

from __future__ import annotations

from raymaker.sagemaker.workflow.steps import StepTypeEnum, _CheckStep


class QualityCheckConfig:
    def __init__(
        self,
        baseline_dataset,
        dataset_format=None,
        output_s3_uri=None,
        post_analytics_processor_script=None,
    ):
        self.baseline_dataset = baseline_dataset
        self.dataset_format = dataset_format
        self.output_s3_uri = output_s3_uri

    monitor_type = "DataQuality"

    def arguments(self) -> dict:
        fmt = self.dataset_format or {"csv": {"header": True}}
        kind, options = next(iter(fmt.items()))
        dataset = {"uri": self.baseline_dataset, "format": kind}
        if kind == "csv":
            dataset["header"] = bool((options or {}).get("header", True))
        out = {"monitor_type": self.monitor_type, "dataset": dataset}
        if self.output_s3_uri is not None:
            out["output_uri"] = self.output_s3_uri
        return out


class DataQualityCheckConfig(QualityCheckConfig):
    def __init__(
        self,
        baseline_dataset,
        dataset_format=None,
        output_s3_uri=None,
        record_preprocessor_script=None,
        post_analytics_processor_script=None,
    ):
        super().__init__(baseline_dataset, dataset_format, output_s3_uri)


class ModelQualityCheckConfig(QualityCheckConfig):
    monitor_type = "ModelQuality"

    def __init__(
        self,
        baseline_dataset,
        dataset_format=None,
        output_s3_uri=None,
        problem_type=None,
        inference_attribute=None,
        probability_attribute=None,
        ground_truth_attribute=None,
        probability_threshold_attribute=None,
        post_analytics_processor_script=None,
    ):
        super().__init__(baseline_dataset, dataset_format, output_s3_uri)
        self.quality = {
            "problem_type": problem_type,
            "inference_attribute": inference_attribute,
            "probability_attribute": probability_attribute,
            "ground_truth_attribute": ground_truth_attribute,
            "probability_threshold_attribute": probability_threshold_attribute,
        }

    def arguments(self) -> dict:
        return {**super().arguments(), **{k: v for k, v in self.quality.items() if v is not None}}


class QualityCheckStep(_CheckStep):
    step_type = StepTypeEnum.QUALITY_CHECK
    _kind = "BaselineJob"

    def __init__(
        self,
        name: str,
        quality_check_config: QualityCheckConfig,
        check_job_config=None,
        skip_check: bool = False,
        fail_on_violation: bool = True,
        register_new_baseline: bool = False,
        model_package_group_name=None,
        supplied_baseline_statistics=None,
        supplied_baseline_constraints=None,
        display_name=None,
        description=None,
        cache_config=None,
        depends_on=None,
    ):
        super().__init__(
            name, self.step_type, None, display_name, description, cache_config, depends_on, None
        )
        self.config = quality_check_config
        self.check = {
            "CheckType": self.config.monitor_type,
            "SkipCheck": skip_check,
            "FailOnViolation": fail_on_violation,
            "RegisterNewBaseline": register_new_baseline,
            "ModelPackageGroupName": model_package_group_name,
            "SuppliedBaselineStatistics": supplied_baseline_statistics,
            "SuppliedBaselineConstraints": supplied_baseline_constraints,
        }
