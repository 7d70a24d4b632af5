"""``sagemaker.workflow.properties``: a step's properties, read at run time, shaped like
SageMaker's Describe* response (``step.properties.ModelArtifacts.S3ModelArtifacts``,
``…Outputs['train'].S3Output.S3Uri``); and ``PropertyFile``, a JSON file a step writes."""

from __future__ import annotations

from raymaker.sagemaker.workflow.entities import PipelineVariable

# the top-level properties of each step type (a typo is an error at once, not at run time)
TOP = {
    "Processing": {
        "ProcessingJobName",
        "ProcessingJobArn",
        "ProcessingJobStatus",
        "ProcessingInputs",
        "ProcessingOutputConfig",
    },
    "Training": {
        "TrainingJobName",
        "TrainingJobArn",
        "TrainingJobStatus",
        "ModelArtifacts",
        "HyperParameters",
        "FinalMetricDataList",
        "OutputDataConfig",
        "ModelDir",
    },
    "Tuning": {
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobArn",
        "HyperParameterTuningJobStatus",
        "BestTrainingJob",
        "TrainingJobSummaries",
    },
    "Transform": {"TransformJobName", "TransformJobArn", "TransformJobStatus", "TransformOutput"},
    "AutoML": {
        "AutoMLJobName",
        "AutoMLJobArn",
        "AutoMLJobStatus",
        "BestCandidate",
        "OutputDataConfig",
    },
    "QualityCheck": {
        "CalculatedBaselineStatistics",
        "CalculatedBaselineConstraints",
        "BaselineUsedForDriftCheckStatistics",
        "BaselineUsedForDriftCheckConstraints",
    },
    "ClarifyCheck": {
        "CalculatedBaselineConstraints",
        "BaselineUsedForDriftCheckConstraints",
        "ReportUri",
    },
    "Model": {"ModelName", "ModelArn", "PrimaryContainer"},
    "RegisterModel": {
        "ModelPackageArn",
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelApprovalStatus",
        "RaymakerReference",
    },
    "Condition": {"Outcome"},
    "Function": {
        "ProcessingJobName",
        "ProcessingJobArn",
        "ProcessingJobStatus",
        "ProcessingInputs",
        "ProcessingOutputConfig",
    },
    "Fail": set(),
}
COMMON = {"RaymakerJobName", "RaymakerResult"}


class Properties(PipelineVariable):
    """A path into a step's properties; attributes and ``[...]`` extend it."""

    def __init__(self, step_name: str, path: str = "", step_type: str | None = None):
        object.__setattr__(self, "_step", step_name)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_type", step_type)

    def __getattr__(self, name: str) -> Properties:
        if not name[:1].isupper():  # SageMaker's properties are PascalCase; this is a probe
            raise AttributeError(name)
        if not self._path and self._type in TOP:
            allowed = TOP[self._type] | (
                COMMON
                if self._type not in ("Condition", "Fail", "Model", "RegisterModel")
                else set()
            )
            if name not in allowed:
                from raymaker.specs.base import did_you_mean

                raise AttributeError(
                    f"a {self._type} step has no property {name!r}{did_you_mean(name, allowed)}; "
                    f"its properties: {', '.join(sorted(allowed))}"
                )
        path = f"{self._path}.{name}" if self._path else name
        return Properties(self._step, path, self._type)

    def __getitem__(self, key) -> Properties:
        part = f"[{key}]" if isinstance(key, int) else f"['{key}']"
        return Properties(self._step, f"{self._path}{part}", self._type)

    @property
    def expr(self) -> dict:
        return {"Get": f"Steps.{self._step}.{self._path}" if self._path else f"Steps.{self._step}"}


class PropertiesList(Properties):
    pass


class PropertiesMap(Properties):
    pass


class PropertyFile:
    """A JSON file written into output ``output_name`` of a Processing step, at ``path``."""

    def __init__(self, name: str, output_name: str, path: str):
        self.name = name
        self.output_name = output_name
        self.path = path

    @property
    def expr(self) -> dict:
        return {
            "PropertyFileName": self.name,
            "OutputName": self.output_name,
            "FilePath": self.path,
        }
