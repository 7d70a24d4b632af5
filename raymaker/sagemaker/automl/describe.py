"""An AutoML job's record in SageMaker's shapes: DescribeAutoMLJob and ListCandidatesForAutoMLJob
(the field names botocore's ``sagemaker`` model gives them; times are datetimes).

A running job's candidates come from the rows its trials have written to the store, so the
leaderboard grows while the job runs and stays when it is stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from raymaker.automl.candidates import read_rows
from raymaker.automl.objectives import MINIMIZED
from raymaker.automl.serving import OUTPUT_ENV
from raymaker.errors import SpecError

ACCOUNT = "arn:aws:sagemaker:local:000000000000"
STATUS = {"PENDING": "InProgress", "RUNNING": "InProgress", "SUCCEEDED": "Completed",
          "FAILED": "Failed", "STOPPED": "Stopped"}  # fmt: skip
SORT_KEYS = ("CreationTime", "Status", "Name", "FinalObjectiveMetricValue")


def _time(seconds):
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def describe_auto_ml_job(store, record) -> dict:
    spec, result = record.spec, record.result or {}
    status = STATUS[record.status.value]
    secondary = result.get("secondary_status") or (
        (record.progress or {}).get("stage") if status == "InProgress" else status
    )
    if status == "Failed":
        secondary = "Failed"
    criteria = {
        "MaxCandidates": spec.get("max_candidates"),
        "MaxRuntimePerTrainingJobInSeconds": spec.get("max_runtime_per_training_job_in_seconds"),
        "MaxAutoMLJobRuntimeInSeconds": spec.get("total_job_runtime_in_seconds"),
    }
    criteria = {k: v for k, v in criteria.items() if v is not None}
    out = {
        "AutoMLJobName": record.name,
        "AutoMLJobArn": f"{ACCOUNT}:automl-job/{record.name}",
        "InputDataConfig": [
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                "TargetAttributeName": spec.get("target_attribute_name"),
                "ChannelType": "training" if channel == "train" else "validation",
            }
            for channel, uri in (spec.get("inputs") or {}).items()
        ],  # fmt: skip
        "OutputDataConfig": {"S3OutputPath": result.get("output") or spec.get("output_path")},
        "RoleArn": "arn:aws:iam::000000000000:role/raymaker",
        "AutoMLJobConfig": {
            "CompletionCriteria": criteria,
            "Mode": spec.get("mode", "AUTO"),
            "DataSplitConfig": {"ValidationFraction": spec.get("validation_fraction", 0.2)},
        },
        "CreationTime": _time(record.created_at),
        "LastModifiedTime": _time(record.ended_at or record.started_at or record.created_at),
        "AutoMLJobStatus": status,
        "AutoMLJobSecondaryStatus": secondary,
        "GenerateCandidateDefinitionsOnly": bool(spec.get("generate_candidate_definitions_only")),
    }
    if record.ended_at:
        out["EndTime"] = _time(record.ended_at)
    if spec.get("objective"):
        out["AutoMLJobObjective"] = {"MetricName": spec["objective"]}
    if spec.get("problem_type"):
        out["ProblemType"] = spec["problem_type"]
    if record.failure_reason and status != "Completed":
        out["FailureReason"] = record.failure_reason
    if result.get("problem_type"):
        out["ResolvedAttributes"] = {
            "AutoMLJobObjective": {"MetricName": result["objective"]},
            "ProblemType": result["problem_type"],
            "CompletionCriteria": criteria,
        }
        out["AutoMLJobArtifacts"] = {
            "CandidateDefinitionNotebookLocation": f"{result['output']}/candidate-definitions",
        }
        exploration = (result.get("reports") or {}).get("DataExploration")
        if exploration:
            out["AutoMLJobArtifacts"]["DataExplorationNotebookLocation"] = exploration
    best = result.get("best_candidate")
    if best:
        out["BestCandidate"] = next(
            c for c in list_candidates(store, record) if c["CandidateName"] == best
        )
    return out


def list_candidates(store, record, *, status_equals=None, candidate_name=None, sort_order=None,
                    sort_by=None, max_results=None) -> list[dict]:  # fmt: skip
    """The job's candidates in ListCandidatesForAutoMLJob's shape, filtered and sorted."""
    result = record.result or {}
    rows = result.get("candidates")
    if rows is None:  # running (or killed): what the trials have written so far
        rows = read_rows(store, record.name)
    objective = result.get("objective") or record.spec.get("objective")
    if objective is None:  # running, the default objective: the trials' rows name it
        objective = next((r["objective"] for r in rows if r.get("objective")), None)
    maximize = objective not in MINIMIZED
    out = [_candidate(record, r, objective, maximize) for r in rows]
    if status_equals:
        out = [c for c in out if c["CandidateStatus"] == status_equals]
    if candidate_name:
        out = [c for c in out if c["CandidateName"] == candidate_name]
    if sort_by is not None and sort_by not in SORT_KEYS:
        from raymaker.specs.base import did_you_mean

        raise SpecError(
            f"sort_by {sort_by!r}: allowed: {', '.join(SORT_KEYS)}"
            f"{did_you_mean(sort_by, SORT_KEYS)}"
        )
    if sort_by in (None, "FinalObjectiveMetricValue"):
        descending = sort_order != "Ascending" if sort_order else maximize
        scored = [c for c in out if "FinalAutoMLJobObjectiveMetric" in c]
        scored.sort(key=lambda c: c["FinalAutoMLJobObjectiveMetric"]["Value"], reverse=descending)
        out = scored + [c for c in out if "FinalAutoMLJobObjectiveMetric" not in c]
    else:
        field = {"CreationTime": "CreationTime", "Status": "CandidateStatus",
                 "Name": "CandidateName"}[sort_by]  # fmt: skip
        out.sort(key=lambda c: str(c.get(field)), reverse=sort_order == "Descending")
    return out[:max_results] if max_results else out


def _candidate(record, row: dict, objective: str | None, maximize: bool) -> dict:
    name = row["CandidateName"]
    created = row.get("started_at") or record.started_at or record.created_at
    out = {
        "CandidateName": name,
        "CandidateStatus": row["CandidateStatus"],
        "ObjectiveStatus": "Succeeded" if row.get("metrics") else "Pending",
        "CandidateSteps": [
            {
                "CandidateStepType": "AWS::SageMaker::TrainingJob",
                "CandidateStepArn": f"{ACCOUNT}:training-job/{name}",
                "CandidateStepName": name,
            }
        ],  # fmt: skip
        "CreationTime": _time(created),
        "LastModifiedTime": _time(row.get("ended_at") or created),
    }
    if row.get("ended_at"):
        out["EndTime"] = _time(row["ended_at"])
    if row.get("FailureReason"):
        out["FailureReason"] = row["FailureReason"]
    metrics = row.get("metrics") or {}
    if objective in metrics:
        out["FinalAutoMLJobObjectiveMetric"] = {
            "Type": "Maximize" if maximize else "Minimize",
            "MetricName": objective,
            "Value": metrics[objective],
            "StandardMetricName": objective,
        }
    if row.get("model_data"):
        out["InferenceContainers"] = [{"Image": "raymaker/automl",
                                       "ModelDataUrl": row["model_data"],
                                       "Environment": {OUTPUT_ENV: "predicted_label"}}]  # fmt: skip
    candidate_metrics = [
        {"MetricName": k, "Value": v, "Set": "Validation", "StandardMetricName": k}
        for k, v in metrics.items()
    ]
    if row.get("inference_latency_ms") is not None:
        latency = row["inference_latency_ms"] / 1000.0
        candidate_metrics.append({"MetricName": "InferenceLatency", "Value": latency,
                                  "Set": "Validation",
                                  "StandardMetricName": "InferenceLatency"})  # fmt: skip
    out["CandidateProperties"] = {"CandidateMetrics": candidate_metrics}
    if row.get("artifacts"):  # the best candidate's reports
        out["CandidateProperties"]["CandidateArtifactLocations"] = dict(row["artifacts"])
    extra = {k: row[k] for k in ("learner", "members", "fit_seconds", "model_data") if k in row}
    out["raymaker"] = extra  # what SageMaker's shape has no field for
    return out
