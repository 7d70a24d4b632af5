"""``sagemaker.workflow.steps``: the steps that run jobs — ``ProcessingStep``,
``TrainingStep``, ``TuningStep``, ``TransformStep`` — with ``CacheConfig`` and the base
``Step``. Both SDK v2 styles build them: ``TrainingStep(name, step_args=est.fit(...))`` under a
``PipelineSession``, or ``TrainingStep(name, estimator=est, inputs=...)``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker.workflow.entities import to_expressions
from raymaker.sagemaker.workflow.pipeline_context import StepArguments, capture
from raymaker.sagemaker.workflow.properties import Properties


class StepTypeEnum(Enum):
    CONDITION = "Condition"
    CREATE_MODEL = "Model"
    PROCESSING = "Processing"
    REGISTER_MODEL = "RegisterModel"
    TRAINING = "Training"
    TRANSFORM = "Transform"
    TUNING = "Tuning"
    FAIL = "Fail"
    QUALITY_CHECK = "QualityCheck"
    CLARIFY_CHECK = "ClarifyCheck"
    AUTOML = "AutoML"
    FUNCTION = "Function"


class CacheConfig:
    """Reuse the step's earlier result when its content key matches (``expire_after``: an
    ISO 8601 duration such as ``PT1H`` or ``P30D``)."""

    def __init__(self, enable_caching: bool = False, expire_after: str | None = None):
        if expire_after is not None:
            from raymaker.specs.pipeline import duration_seconds

            try:
                duration_seconds(expire_after)
            except ValueError as exc:
                raise SpecError(f"CacheConfig.expire_after: {exc}") from None
        self.enable_caching = enable_caching
        self.expire_after = expire_after

    @property
    def config(self) -> dict:
        out: dict[str, Any] = {"Enabled": self.enable_caching}
        if self.expire_after is not None:
            out["ExpireAfter"] = self.expire_after
        return {"CacheConfig": out}


class Step:
    """A pipeline step: its name, type, what it waits for, and ``properties``."""

    step_type: StepTypeEnum

    def __init__(
        self,
        name: str,
        step_type: StepTypeEnum | None = None,
        display_name: str | None = None,
        description: str | None = None,
        depends_on: list | None = None,
    ):
        self.name = name
        if step_type is not None:
            self.step_type = step_type
        self.display_name = display_name
        self.description = description
        self.depends_on = list(depends_on or [])
        self._properties = Properties(name, step_type=self.step_type.value)

    @property
    def properties(self) -> Properties:
        return self._properties

    @property
    def arguments(self) -> dict:  # pragma: no cover - every step type has its own
        return {}

    def to_request(self) -> dict:
        out: dict[str, Any] = {
            "Name": self.name,
            "Type": self.step_type.value,
            "Arguments": to_expressions(self.arguments),
        }
        if self.depends_on:
            out["DependsOn"] = [getattr(d, "name", d) for d in self.depends_on]
        if self.display_name:
            out["DisplayName"] = self.display_name
        if self.description:
            out["Description"] = self.description
        return out

    def add_depends_on(self, step_names: list) -> None:
        self.depends_on.extend(step_names)

    @property
    def ref(self) -> dict:
        return {"Name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ConfigurableRetryStep(Step):
    def __init__(
        self,
        name: str,
        step_type: StepTypeEnum,
        display_name=None,
        description=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(name, step_type, display_name, description, depends_on)
        self.retry_policies = list(retry_policies or [])

    def to_request(self) -> dict:
        out = super().to_request()
        if self.retry_policies:
            out["RetryPolicies"] = [p.to_request() for p in self.retry_policies]
        return out


class _JobStep(ConfigurableRetryStep):
    """A step that runs a job: its arguments come from ``step_args`` or from the old-style
    object and inputs."""

    _kind: str

    def __init__(
        self,
        name,
        step_type,
        step_args=None,
        display_name=None,
        description=None,
        cache_config=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(name, step_type, display_name, description, depends_on, retry_policies)
        self.cache_config = cache_config
        self.step_args = step_args
        self._arguments: dict | None = None

    def _from_step_args(self) -> dict:
        args = self.step_args
        if not isinstance(args, StepArguments):
            raise SpecError(
                f"{type(self).__name__} {self.name!r}: step_args must be what a verb returns "
                f"under a PipelineSession (est.fit(...), processor.run(...)); got {args!r}"
            )
        if args.kind != self._kind:
            raise SpecError(
                f"{type(self).__name__} {self.name!r}: step_args are a {args.kind}'s, "
                f"not a {self._kind}'s"
            )
        return dict(args.arguments)

    def _build(self) -> dict:  # pragma: no cover - old-style steps override it
        raise SpecError(f"{type(self).__name__} {self.name!r}: give step_args")

    @property
    def arguments(self) -> dict:
        if self._arguments is None:
            if self.step_args is not None:
                self._arguments = self._from_step_args()
            else:
                with capture():
                    built = self._build()
                self._arguments = dict(built.arguments)
        return self._arguments

    def to_request(self) -> dict:
        out = super().to_request()
        if self.cache_config is not None:
            out.update(self.cache_config.config)
        return out


class ProcessingStep(_JobStep):
    step_type = StepTypeEnum.PROCESSING
    _kind = "ProcessingJob"

    def __init__(
        self,
        name: str,
        processor=None,
        display_name=None,
        description=None,
        inputs=None,
        outputs=None,
        job_arguments=None,
        code=None,
        property_files=None,
        cache_config=None,
        depends_on=None,
        retry_policies=None,
        kms_key=None,
        step_args=None,
    ):
        super().__init__(
            name,
            self.step_type,
            step_args,
            display_name,
            description,
            cache_config,
            depends_on,
            retry_policies,
        )
        if step_args is None and (processor is None or code is None):
            raise SpecError(f"ProcessingStep {name!r}: give step_args, or processor and code")
        self.processor, self.inputs, self.outputs = processor, inputs, outputs
        self.job_arguments, self.code = job_arguments, code
        self.property_files = list(property_files or [])

    def _build(self):
        return self.processor.processing_job_spec(
            self.code, self.inputs, self.outputs, self.job_arguments
        )

    def to_request(self) -> dict:
        out = super().to_request()
        if self.property_files:
            out["PropertyFiles"] = [pf.expr for pf in self.property_files]
        return out


class TrainingStep(_JobStep):
    step_type = StepTypeEnum.TRAINING
    _kind = "TrainingJob"

    def __init__(
        self,
        name: str,
        step_args=None,
        estimator=None,
        display_name=None,
        description=None,
        inputs=None,
        cache_config=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(
            name,
            self.step_type,
            step_args,
            display_name,
            description,
            cache_config,
            depends_on,
            retry_policies,
        )
        if step_args is None and estimator is None:
            raise SpecError(f"TrainingStep {name!r}: give step_args or estimator")
        self.estimator, self.inputs = estimator, inputs

    def _build(self):
        return self.estimator.training_job_spec(self.inputs)


class TuningStep(_JobStep):
    step_type = StepTypeEnum.TUNING
    _kind = "TuningJob"

    def __init__(
        self,
        name: str,
        step_args=None,
        tuner=None,
        display_name=None,
        description=None,
        inputs=None,
        job_arguments=None,
        cache_config=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(
            name,
            self.step_type,
            step_args,
            display_name,
            description,
            cache_config,
            depends_on,
            retry_policies,
        )
        if step_args is None and tuner is None:
            raise SpecError(f"TuningStep {name!r}: give step_args or tuner")
        self.tuner, self.inputs = tuner, inputs

    def _build(self):
        return self.tuner.tuning_job_spec(self.inputs)

    def get_top_model_s3_uri(self, top_k: int = 0, s3_bucket: str | None = None, prefix: str = ""):
        """The best trial's model (raymaker keeps the best one: ``top_k`` 0)."""
        if top_k != 0:
            raise SpecError("raymaker's tuning step keeps its best model: top_k must be 0")
        return self.properties.BestTrainingJob.ModelArtifacts.S3ModelArtifacts


class TransformStep(_JobStep):
    step_type = StepTypeEnum.TRANSFORM
    _kind = "TransformJob"

    def __init__(
        self,
        name: str,
        step_args=None,
        transformer=None,
        inputs=None,
        display_name=None,
        description=None,
        cache_config=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(
            name,
            self.step_type,
            step_args,
            display_name,
            description,
            cache_config,
            depends_on,
            retry_policies,
        )
        if step_args is None and (transformer is None or inputs is None):
            raise SpecError(f"TransformStep {name!r}: give step_args, or transformer and inputs")
        self.transformer, self.inputs = transformer, inputs

    def _build(self):
        data = getattr(self.inputs, "data", self.inputs)
        extra = {k: getattr(self.inputs, k, None) for k in ("content_type", "split_type")}
        return self.transformer.transform_job_spec(
            data, extra["content_type"], split_type=extra["split_type"]
        )


class _CheckStep(_JobStep):
    """A QualityCheck or ClarifyCheck step: its job's arguments from its check config
    (``config``), and SageMaker's check keys beside them in the definition (``check``)."""

    config = None
    check: dict = {}

    @property
    def arguments(self) -> dict:
        return to_expressions(self.config.arguments())

    def to_request(self) -> dict:
        out = super().to_request()
        out.update({k: to_expressions(v) for k, v in self.check.items() if v is not None})
        return out
