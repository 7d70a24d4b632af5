"""The spec of a pipeline: SageMaker's pipeline definition (version 2020-12-01) as a kind.

The fields are the definition's own keys (``Parameters``, ``Steps``, and per step ``Name``,
``Type``, ``Arguments``, ``DependsOn``, ``CacheConfig``, ``RetryPolicies``,
``PropertyFiles``), so a definition JSON is a ``kind: Pipeline`` spec with a name, and back.
A job step's ``Arguments`` are the raymaker job spec of its kind (a Training step's are a
``TrainingJob``'s fields); any value in them may be an expression of SageMaker's definition
language: ``{"Get": "Parameters.X"}``, ``{"Get": "Steps.S.ModelArtifacts.S3ModelArtifacts"}``,
``{"Get": "Execution.PipelineExecutionId"}``, ``{"Std:Join": ...}``, ``{"Std:JsonGet": ...}``.

``start`` holds what one execution adds: parameter values, a display name. Submitting the
spec (``raymaker submit pipeline.yaml``) saves the pipeline and starts an execution.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from raymaker.specs.base import Name, ResourceSpec, SpecModel

DEFINITION_VERSION = "2020-12-01"
STEP_NAME = r"^[A-Za-z0-9\-_]{1,64}$"
# the step types and, for those run as raymaker jobs, the job kind that runs them
JOB_STEPS = {
    "Processing": "ProcessingJob",
    "Training": "TrainingJob",
    "Tuning": "TuningJob",
    "Transform": "TransformJob",
    "AutoML": "AutoMLJob",
    "QualityCheck": "BaselineJob",
    "ClarifyCheck": "ClarifyJob",
    "Function": "ProcessingJob",  # @step: the function runs in a processing job
}
StepType = Literal[
    "Processing",
    "Training",
    "Tuning",
    "Transform",
    "AutoML",
    "QualityCheck",
    "ClarifyCheck",
    "Model",
    "RegisterModel",
    "Condition",
    "Fail",
    "Function",
]
ParameterType = Literal["String", "Integer", "Float", "Boolean"]
DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
# SageMaker's retryable exception types; raymaker's meaning of each is in pipelines.steps
STEP_EXCEPTIONS = ("Step.SERVICE_FAULT", "Step.THROTTLING")
JOB_EXCEPTIONS = (
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)


_STEP_DEFAULTS = {"SkipCheck": False, "FailOnViolation": True, "RegisterNewBaseline": False}


def _without_defaults(step: dict) -> dict:
    return {
        k: v
        for k, v in step.items()
        if v not in ([], None)
        and not (k in _STEP_DEFAULTS and v == _STEP_DEFAULTS[k])
        and not (k in _STEP_DEFAULTS and step.get("Type") not in ("QualityCheck", "ClarifyCheck"))
    }


def execution_name(spec) -> str:
    """An execution's id (its job's name): ``<pipeline>-<8 hex>``."""
    import secrets

    return f"{spec.name[:44]}-{secrets.token_hex(4)}"


def duration_seconds(text: str) -> float:
    """``PT1H`` → 3600.0, ``P30D`` → 2592000.0 (ISO 8601 durations). Raises ValueError."""
    m = DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like PT1H, PT30M or P30D")
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return float(((d * 24 + h) * 60 + mi) * 60 + s)


class CacheConfig(SpecModel):
    """Reuse a step's earlier result when its content key matches (``CacheConfig``)."""

    enabled: bool = Field(False, alias="Enabled", description="Look the step up in the cache.")
    expire_after: str | None = Field(
        None, alias="ExpireAfter", description="ISO 8601 duration (PT1H, P30D): older is stale."
    )

    @field_validator("expire_after")
    @classmethod
    def _duration(cls, v):
        if v is not None:
            duration_seconds(v)
        return v


class RetryPolicy(SpecModel):
    """SageMaker's ``StepRetryPolicy`` / ``SageMakerJobStepRetryPolicy`` in the definition."""

    exception_type: list[str] = Field(
        alias="ExceptionType",
        min_length=1,
        description="Step.SERVICE_FAULT, Step.THROTTLING, SageMaker.JOB_INTERNAL_ERROR, "
        "SageMaker.CAPACITY_ERROR or SageMaker.RESOURCE_LIMIT.",
    )
    interval_seconds: float = Field(1, alias="IntervalSeconds", ge=0)
    backoff_rate: float = Field(2.0, alias="BackoffRate", ge=0)
    max_attempts: int | None = Field(None, alias="MaxAttempts", ge=1, le=20)
    expire_after_min: int | None = Field(None, alias="ExpireAfterMin", ge=0, le=14400)

    @model_validator(mode="after")
    def _fields(self):
        from raymaker.specs.base import did_you_mean

        allowed = STEP_EXCEPTIONS + JOB_EXCEPTIONS
        for value in self.exception_type:
            if value not in allowed:
                raise ValueError(
                    f"ExceptionType {value!r} is not one of {', '.join(allowed)}"
                    + did_you_mean(value, allowed)
                )
        if (self.max_attempts is None) == (self.expire_after_min is None):
            raise ValueError("give exactly one of MaxAttempts or ExpireAfterMin")
        return self


class PropertyFile(SpecModel):
    """A JSON file a Processing step writes into one of its outputs, read by ``JsonGet``."""

    property_file_name: str = Field(alias="PropertyFileName", min_length=1)
    output_name: str = Field(alias="OutputName", min_length=1)
    file_path: str = Field(alias="FilePath", min_length=1)


class Step(SpecModel):
    """One step of the definition."""

    name: str = Field(alias="Name", pattern=STEP_NAME, description="Unique in the pipeline.")
    type: StepType = Field(alias="Type", description="What the step does.")
    arguments: dict[str, Any] = Field(
        default_factory=dict,
        alias="Arguments",
        description="Job steps: the job spec of their kind; Condition: Conditions, IfSteps, "
        "ElseSteps; Fail: ErrorMessage; Model / RegisterModel: the model's fields.",
    )
    depends_on: list[str] = Field(default_factory=list, alias="DependsOn")
    display_name: str | None = Field(None, alias="DisplayName")
    description: str | None = Field(None, alias="Description")
    cache_config: CacheConfig | None = Field(None, alias="CacheConfig")
    retry_policies: list[RetryPolicy] = Field(default_factory=list, alias="RetryPolicies")
    property_files: list[PropertyFile] = Field(default_factory=list, alias="PropertyFiles")
    # QualityCheck / ClarifyCheck steps (SageMaker's keys beside their Arguments)
    check_type: str | None = Field(None, alias="CheckType")
    skip_check: bool = Field(False, alias="SkipCheck", description="Compute, do not compare.")
    fail_on_violation: bool = Field(True, alias="FailOnViolation")
    register_new_baseline: bool = Field(False, alias="RegisterNewBaseline")
    supplied_baseline_statistics: Any = Field(None, alias="SuppliedBaselineStatistics")
    supplied_baseline_constraints: Any = Field(None, alias="SuppliedBaselineConstraints")
    model_package_group_name: Any = Field(None, alias="ModelPackageGroupName")


class Parameter(SpecModel):
    """A pipeline parameter: ``ParameterString``, ``ParameterInteger``, ..."""

    name: str = Field(alias="Name", pattern=r"^[A-Za-z0-9\-_]{1,256}$")
    type: ParameterType = Field(alias="Type")
    default_value: str | int | float | bool | None = Field(None, alias="DefaultValue")
    enum_values: list[str] | None = Field(None, alias="EnumValues")

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type. Raises ValueError naming the parameter."""
        try:
            if self.type == "Boolean":
                if isinstance(value, str) and value.lower() in ("true", "false"):
                    return value.lower() == "true"
                if isinstance(value, bool):
                    return value
                raise ValueError
            if self.type == "Integer":
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                return int(float(value))
            if self.type == "Float":
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            out = str(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"parameter {self.name}: {value!r} is not a{'n' if self.type == 'Integer' else ''}"
                f" {self.type}"
            ) from None
        if self.enum_values and out not in self.enum_values:
            from raymaker.specs.base import did_you_mean

            raise ValueError(
                f"parameter {self.name}: {out!r} is not one of {', '.join(self.enum_values)}"
                + did_you_mean(out, self.enum_values)
            )
        return out


class Start(SpecModel):
    """What one execution adds to the definition."""

    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Parameter values; the rest take their defaults."
    )
    display_name: str | None = Field(None, description="PipelineExecutionDisplayName.")
    description: str | None = Field(None, description="PipelineExecutionDescription.")


class Pipeline(ResourceSpec):
    """A pipeline: parameters and steps; each job step runs as the raymaker job it is."""

    kind: Literal["Pipeline"] = Field("Pipeline", description="The resource kind.")
    name: Name = Field(description="The pipeline's name.")
    version: Literal["2020-12-01"] = Field(DEFINITION_VERSION, alias="Version")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="Metadata")
    parameters: list[Parameter] = Field(default_factory=list, alias="Parameters")
    pipeline_experiment_config: dict[str, Any] | None = Field(
        None,
        alias="PipelineExperimentConfig",
        description="ExperimentName / TrialName: the MLflow experiment its jobs are runs of.",
    )
    steps: list[Step] = Field(alias="Steps", min_length=1)
    max_parallel_steps: int = Field(
        10, ge=1, le=256, description="Steps running at once (ParallelismConfiguration)."
    )
    start: Start = Field(default_factory=Start, description="This execution's values.")

    @model_validator(mode="after")
    def _shape(self):
        from raymaker.specs.pipeline_graph import problems

        found = problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self

    def definition(self) -> dict:
        """SageMaker's pipeline definition (the JSON ``Pipeline.definition()`` returns)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        steps = [_without_defaults(step) for step in data["Steps"]]
        out = {
            "Version": DEFINITION_VERSION,
            "Metadata": data.get("Metadata", {}),
            "Parameters": data.get("Parameters", []),
        }
        if self.pipeline_experiment_config is not None:
            out["PipelineExperimentConfig"] = self.pipeline_experiment_config
        out["Steps"] = steps
        return out

    @classmethod
    def from_definition(cls, name: str, definition: dict | str, **fields) -> Pipeline:
        """The spec of a definition (a dict or its JSON text). Raises SpecError."""
        import json

        from raymaker.specs import parse_spec

        if isinstance(definition, str):
            try:
                definition = json.loads(definition)
            except ValueError as exc:
                from raymaker.errors import SpecError

                raise SpecError(f"the pipeline definition is not JSON: {exc}") from None
        return parse_spec(
            {"kind": "Pipeline", "name": name, **definition, **fields}, source="definition"
        )
