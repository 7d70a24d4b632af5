"""A step's properties: its job's record in the shape of SageMaker's Describe* response, so
``step.properties.ModelArtifacts.S3ModelArtifacts`` and
``…ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri`` read what they read on SageMaker.

Lists of named items (``Outputs``, ``FinalMetricDataList``, ``TrainingJobSummaries``) are
indexed by position or by their name (``OutputName``, ``MetricName``, ...), as SageMaker's
``PropertiesList`` is. ``RaymakerResult`` holds the job's own result besides.
"""

from __future__ import annotations

from typing import Any

from raymaker.errors import SpecError

# the key naming each list's items, for ['name'] lookups
LIST_KEYS = ("OutputName", "InputName", "MetricName", "ChannelName", "TrainingJobName", "Name")


def of_job(step_type: str, record) -> dict:
    """The properties of a job step from its job's final record."""
    result, spec, name = record.result or {}, record.spec or {}, record.name
    common = {"RaymakerJobName": name, "RaymakerResult": result}
    if step_type in ("Processing", "Function"):
        outputs = result.get("outputs") or {}
        return {
            **common,
            "ProcessingJobName": name,
            "ProcessingJobArn": _arn("processing-job", name),
            "ProcessingJobStatus": "Completed",
            "ProcessingInputs": [
                {"InputName": i.get("name"), "S3Input": {"S3Uri": i.get("source")}}
                for i in spec.get("inputs") or []
            ],
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": k, "S3Output": {"S3Uri": v}} for k, v in outputs.items()]
            },
        }
    if step_type == "Training":
        metrics = result.get("metrics") or {}
        return {
            **common,
            "TrainingJobName": name,
            "TrainingJobArn": _arn("training-job", name),
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": result.get("model_data")},
            "HyperParameters": {k: str(v) for k, v in (spec.get("hyperparameters") or {}).items()},
            "FinalMetricDataList": [{"MetricName": k, "Value": v} for k, v in metrics.items()],
            "OutputDataConfig": {"S3OutputPath": spec.get("output_path")},
            "ModelDir": result.get("model_dir"),
        }
    if step_type == "Tuning":
        best = result.get("best_training_job")
        return {
            **common,
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobArn": _arn("hyper-parameter-tuning-job", name),
            "HyperParameterTuningJobStatus": "Completed",
            "BestTrainingJob": {
                "TrainingJobName": best,
                "TunedHyperParameters": {
                    k: str(v) for k, v in (result.get("best_hyperparameters") or {}).items()
                },
                "FinalHyperParameterTuningJobObjectiveMetric": {
                    "MetricName": (result.get("objective") or {}).get("metric_name"),
                    "Value": result.get("best_objective"),
                },
                "ModelArtifacts": {"S3ModelArtifacts": result.get("model_data")},
            },
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": best,
                    "ModelArtifacts": {"S3ModelArtifacts": result.get("model_data")},
                }
            ],
        }
    if step_type == "Transform":
        return {
            **common,
            "TransformJobName": name,
            "TransformJobArn": _arn("transform-job", name),
            "TransformJobStatus": "Completed",
            "TransformOutput": {"S3OutputPath": result.get("output_path")},
        }
    if step_type == "AutoML":
        best = result.get("best_candidate")
        row = next((c for c in result.get("candidates") or []
                    if isinstance(c, dict) and c.get("CandidateName") == best), {})  # fmt: skip
        return {
            **common,
            "AutoMLJobName": name,
            "AutoMLJobArn": _arn("automl-job", name),
            "AutoMLJobStatus": "Completed",
            "BestCandidate": {
                "CandidateName": best,
                "InferenceContainers": [{"ModelDataUrl": row.get("model_data")}],
            },
            "OutputDataConfig": {"S3OutputPath": result.get("output")},
        }
    if step_type == "QualityCheck":
        return {
            **common,
            "CalculatedBaselineStatistics": result.get("statistics"),
            "CalculatedBaselineConstraints": result.get("constraints"),
            "BaselineUsedForDriftCheckStatistics": result.get("statistics"),
            "BaselineUsedForDriftCheckConstraints": result.get("constraints"),
        }
    if step_type == "ClarifyCheck":
        return {
            **common,
            "CalculatedBaselineConstraints": result.get("analysis"),
            "BaselineUsedForDriftCheckConstraints": result.get("analysis"),
            "ReportUri": result.get("report"),
        }
    return common


def _arn(kind: str, name: str) -> str:
    return f"arn:raymaker:sagemaker:local:000000000000:{kind}/{name}"


def lookup(properties: dict, path: list, *, step: str) -> Any:
    """The value at ``path`` (``["ModelArtifacts", "S3ModelArtifacts"]``) of a step's
    properties. Raises SpecError naming the step and the first part that is not there."""
    value: Any = properties
    walked = []
    for part in path:
        walked.append(part)
        if _has(value, part):
            value = value[part]
        elif isinstance(value, list) and isinstance(part, str):
            value = _named(value, part)
            if value is None:
                names = [_name_of(v) for v in properties_list(properties, walked[:-1])]
                raise SpecError(
                    f"step {step}: {_shown(walked)}: no item named {part!r}"
                    f" (has: {', '.join(n for n in names if n) or 'none'})"
                )
        else:
            have = ", ".join(sorted(value)) if isinstance(value, dict) else type(value).__name__
            raise SpecError(f"step {step}: it has no property {_shown(walked)} (there: {have})")
    return value


def _has(value: Any, part) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and -len(value) <= part < len(value)


def properties_list(properties: dict, path: list) -> list:
    value: Any = properties
    for part in path:
        value = (
            value[part]
            if not isinstance(value, list) or isinstance(part, int)
            else _named(value, part)
        )
    return value if isinstance(value, list) else []


def _named(items: list, name: str):
    """The item whose name key is ``name`` (a metric's ``:`` and ``-`` are one: SageMaker
    names ``validation:auc`` what XGBoost logs as ``validation-auc``)."""
    for want in (name, name.replace(":", "-"), name.replace("-", ":")):
        for item in items:
            if isinstance(item, dict) and _name_of(item) == want:
                return item
    return None


def _name_of(item) -> str | None:
    if isinstance(item, dict):
        for key in LIST_KEYS:
            if key in item:
                return item[key]
    return None


def _shown(parts: list) -> str:
    out = ""
    for p in parts:
        out += (
            f"[{p}]"
            if isinstance(p, int)
            else (f"['{p}']" if not str(p).isidentifier() else f".{p}")
        )
    return out.lstrip(".")
