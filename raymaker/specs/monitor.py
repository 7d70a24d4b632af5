"""The specs of Model Monitor: a baselining job, a monitoring schedule and one execution of it.

Names follow SageMaker's where it has them (``baseline_statistics``, ``baseline_constraints``,
``schedule_cron_expression``, ``data_analysis_start_time``/``end_time`` as ISO-8601 offsets
like ``-PT1H``). A schedule's column roles are explicit: ``features`` names the request's
columns in order and ``prediction`` the answer's, never inferred from column order alone.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from raymaker.specs.base import Name, ResourceSpec, SpecModel, Uri
from raymaker.specs.cron import parse_schedule
from raymaker.specs.jobs import Resources

DatasetFormat = Literal["csv", "json", "parquet"]
MonitorType = Literal["DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"]
ProblemType = Literal["Regression", "BinaryClassification", "MulticlassClassification"]
OFFSET = re.compile(r"^-?PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")
# monitoringConfigOverrides a feature may set (raymaker's own: drift_method, drift_threshold)
OVERRIDES = (
    "datatype_check_threshold",
    "domain_content_threshold",
    "comparison_threshold",
    "categorical_comparison_threshold",
    "comparison_method",
    "drift_method",
    "drift_threshold",
    "perform_comparison",
)


def offset_seconds(text: str) -> float:
    """``-PT1H`` → -3600.0 (SageMaker's data_analysis offsets). Raises ValueError."""
    m = OFFSET.match(text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not an ISO-8601 offset like -PT1H, -PT30M or PT0H")
    h, mi, s = (int(g or 0) for g in m.groups())
    seconds = h * 3600 + mi * 60 + s
    return -float(seconds) if text.strip().startswith("-") else float(seconds)


class Dataset(SpecModel):
    """A dataset read as a whole: a baseline, or a batch transform's input."""

    uri: Uri = Field(description="A file, prefix or glob in the store (or a local path).")
    format: DatasetFormat | None = Field(None, description="Default: from the file names.")
    header: bool = Field(True, description="CSV: the first line names the columns.")


class QualityFields(SpecModel):
    """What a model quality monitor compares: the answer's columns and the label's."""

    problem_type: ProblemType | None = Field(None, description="ModelQuality: the problem type.")
    inference_attribute: str | None = Field(
        None, description="ModelQuality: the predicted label's column (default: prediction)."
    )
    probability_attribute: str | None = Field(
        None, description="ModelQuality: the predicted probability's column (binary: AUC)."
    )
    probability_threshold_attribute: float = Field(
        0.5, ge=0, le=1, description="ModelQuality: a probability at or above it is label 1."
    )
    ground_truth_attribute: str | None = Field(
        None, description="ModelQuality: the label's column in a dataset (baseline, batch)."
    )

    def _check_quality(self, needs_label_column: bool) -> None:
        if self.monitor_type != "ModelQuality":
            return
        if self.problem_type is None:
            raise ValueError("monitor_type ModelQuality needs problem_type (Regression, "
                             "BinaryClassification or MulticlassClassification)")  # fmt: skip
        if needs_label_column and not self.ground_truth_attribute:
            raise ValueError("monitor_type ModelQuality over a dataset needs "
                             "ground_truth_attribute: the column of true labels")  # fmt: skip


class BaselineJob(ResourceSpec, QualityFields):
    """Suggest a baseline: statistics.json and constraints.json of a dataset."""

    kind: Literal["BaselineJob"] = Field("BaselineJob", description="The resource kind.")
    monitor_type: MonitorType = Field("DataQuality", description="What the baseline is for.")
    dataset: Dataset = Field(description="The baseline dataset (usually the training data).")
    output_uri: Uri | None = Field(
        None,
        description="Where statistics.json and constraints.json go (default: job output).",
    )

    @model_validator(mode="after")
    def _quality(self) -> BaselineJob:
        self._check_quality(needs_label_column=True)
        return self


class MonitoringSchedule(ResourceSpec, QualityFields):
    """A monitoring schedule: its desired state (applying it is a job that stores it and
    makes sure the scheduler runs)."""

    kind: Literal["MonitoringSchedule"] = Field(
        "MonitoringSchedule", description="The resource kind."
    )
    name: Name = Field(description="The schedule's name.")
    monitor_type: MonitorType = Field("DataQuality", description="What is monitored.")
    endpoint: Name | None = Field(None, description="Monitor this endpoint's captured traffic.")
    variant: str | None = Field(None, description="Only this variant (default: all captured).")
    capture_uri: Uri | None = Field(
        None, description="The endpoint's capture destination (default: capture/)."
    )
    batch_transform_input: Dataset | None = Field(
        None, description="Monitor this dataset (a batch transform's input) instead."
    )
    baseline_statistics: Uri | None = Field(None, description="statistics.json of the baseline.")
    baseline_constraints: Uri | None = Field(None, description="constraints.json to check.")
    features: list[str] | None = Field(
        None,
        min_length=1,
        description="The request's columns in order (default: the baseline's features).",
    )
    prediction: str | None = Field(
        None, description="Also monitor the answer, as a column of this name."
    )
    overrides: dict[str, dict] = Field(
        default_factory=dict,
        description="Per feature: monitoringConfigOverrides (comparison_threshold, "
        "comparison_method, drift_method, drift_threshold, ...) on top of the constraints'.",
    )
    schedule_cron_expression: str = Field(
        "cron(0 * ? * * *)",
        description="cron(min hour day month weekday year) as SageMaker's, rate(N minutes) "
        "for any interval, or NOW for one run.",
    )
    data_analysis_start_time: str | None = Field(
        None, description="Window start, an offset from the run's time (default: the interval)."
    )
    data_analysis_end_time: str | None = Field(
        None, description="Window end, an offset from the run's time (default: PT0H)."
    )
    output_uri: Uri | None = Field(
        None, description="Where each execution's files go (default: monitoring/<name>/)."
    )
    ground_truth_uri: Uri | None = Field(
        None,
        description="ModelQuality, ModelBias: where ground truth records are uploaded "
        "(SageMaker's groundTruthData/eventMetadata JSON lines under yyyy/mm/dd/hh/).",
    )
    bias: BiasSettings | None = Field(None, description="ModelBias: the facet and outcome.")
    bias_tolerance: float = Field(
        0.1, gt=0, description="ModelBias: how far a metric may move from the baseline's."
    )
    model_data: Uri | None = Field(
        None, description="ModelExplainability: the model whose SHAP values are compared."
    )
    shap: ShapSettings = Field(
        default_factory=lambda: ShapSettings(), description="ModelExplainability: SHAP."
    )
    attribution_threshold: float = Field(
        0.9, gt=0, le=1, description="ModelExplainability: nDCG below it is a violation."
    )
    webhook: str | None = Field(None, description="POST each violation report here (http/s).")

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"webhook {value!r} must be an http:// or https:// URL")
        return value

    @field_validator("schedule_cron_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)  # raises ValueError naming the forms allowed
        return value.strip()

    @field_validator("data_analysis_start_time", "data_analysis_end_time")
    @classmethod
    def _offset(cls, value: str | None) -> str | None:
        if value is not None:
            offset_seconds(value)
        return value

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, value: dict[str, dict]) -> dict[str, dict]:
        for feature, entries in value.items():
            for key in entries:
                if key not in OVERRIDES:
                    import difflib

                    close = difflib.get_close_matches(key, OVERRIDES, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ValueError(
                        f"overrides.{feature}.{key} is not a setting; allowed: "
                        f"{', '.join(OVERRIDES)}{hint}"
                    )
        return value

    @model_validator(mode="after")
    def _source(self) -> MonitoringSchedule:
        if (self.endpoint is None) == (self.batch_transform_input is None):
            raise ValueError(
                "give exactly one of endpoint (captured traffic) and batch_transform_input "
                f"(got endpoint={self.endpoint!r}, batch_transform_input="
                f"{'set' if self.batch_transform_input else None})"
            )
        self._check_quality(needs_label_column=self.batch_transform_input is not None)
        labelled = self.monitor_type in ("ModelQuality", "ModelBias")
        if labelled and self.endpoint and not self.ground_truth_uri:
            raise ValueError(f"monitor_type {self.monitor_type} on an endpoint needs "
                             "ground_truth_uri: where the true labels are uploaded")  # fmt: skip
        if labelled and self.batch_transform_input and not self.ground_truth_attribute:
            raise ValueError(f"monitor_type {self.monitor_type} over a dataset needs "
                             "ground_truth_attribute: the column of true labels")  # fmt: skip
        if self.monitor_type == "ModelBias" and self.bias is None:
            raise ValueError("monitor_type ModelBias needs bias (facet_name, "
                             "label_values_or_threshold)")  # fmt: skip
        if self.monitor_type == "ModelExplainability" and not self.model_data:
            raise ValueError("monitor_type ModelExplainability needs model_data (the model "
                             "whose attributions are compared)")  # fmt: skip
        if self.baseline_statistics is None and self.baseline_constraints is None:
            raise ValueError(
                "give baseline_statistics and/or baseline_constraints (from a BaselineJob, "
                "or suggest_baseline)"
            )
        return self


class MonitoringExecution(ResourceSpec):
    """One run of a schedule over one window (the scheduler and ``monitors run`` submit it)."""

    kind: Literal["MonitoringExecution"] = Field(
        "MonitoringExecution", description="The resource kind."
    )
    schedule: Name = Field(description="The schedule that runs.")
    scheduled_time: float = Field(description="The run's time (epoch seconds).")
    start: float = Field(description="The window's start (epoch seconds).")
    end: float = Field(description="The window's end (epoch seconds).")

    @model_validator(mode="after")
    def _window(self) -> MonitoringExecution:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


ClarifyAnalysis = Literal["pre_training_bias", "post_training_bias", "explainability"]


class BiasSettings(SpecModel):
    """Clarify's BiasConfig."""

    label_values_or_threshold: list[str | int | float] = Field(
        min_length=1, description="The label values that are the positive outcome."
    )
    facet_name: str = Field(min_length=1, description="The sensitive column.")
    facet_values_or_threshold: list[str | int | float] | None = Field(
        None, description="Its sensitive values (default: each value in turn)."
    )
    group_name: str | None = Field(None, description="The column CDDL/CDDPL condition on.")


class ShapSettings(SpecModel):
    """Clarify's SHAPConfig."""

    num_samples: int = Field(100, ge=1, le=100_000, description="Rows explained.")
    agg_method: Literal["mean_abs", "median", "mean_sq"] = Field(
        "mean_abs", description="How row SHAP values make global ones."
    )
    baseline_rows: int = Field(50, ge=1, le=10_000, description="Background rows (shap).")
    seed: int = Field(0, description="Which rows are sampled.")


class ClarifyJob(ResourceSpec, Resources):
    """A Clarify processing job: bias before and after training, and SHAP explanations."""

    kind: Literal["ClarifyJob"] = Field("ClarifyJob", description="The resource kind.")
    dataset: Dataset = Field(description="The data analysed (features and label).")
    label: str = Field(min_length=1, description="The label column.")
    analyses: list[ClarifyAnalysis] = Field(
        default_factory=lambda: ["pre_training_bias"], min_length=1,
        description="What to run.",
    )  # fmt: skip
    bias: BiasSettings | None = Field(None, description="Bias analyses: facet and outcome.")
    methods: Literal["all"] | list[str] = Field("all", description="Bias metrics to compute.")
    model_data: Uri | None = Field(
        None, description="The model (post-training bias, explainability): a URI or registry://."
    )
    probability_threshold: float = Field(
        0.5, ge=0, le=1, description="A score at or above it predicts the positive label."
    )
    shap: ShapSettings = Field(default_factory=ShapSettings, description="Explainability.")
    output_uri: Uri | None = Field(
        None, description="Where analysis.json and report.html go (default: job output)."
    )

    @model_validator(mode="after")
    def _needs(self) -> ClarifyJob:
        bias_runs = {"pre_training_bias", "post_training_bias"} & set(self.analyses)
        if bias_runs and self.bias is None:
            raise ValueError(f"analyses {sorted(bias_runs)} need bias (facet_name, "
                             "label_values_or_threshold)")  # fmt: skip
        model_runs = {"post_training_bias", "explainability"} & set(self.analyses)
        if model_runs and not self.model_data:
            raise ValueError(f"analyses {sorted(model_runs)} need model_data (the model to ask)")
        return self


MonitoringSchedule.model_rebuild()
