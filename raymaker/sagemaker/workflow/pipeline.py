"""``sagemaker.workflow.pipeline``: ``Pipeline`` and its executions.

    pipeline = Pipeline(name="churn", parameters=[rounds], steps=[prep, train, check])
    pipeline.upsert()
    execution = pipeline.start(parameters={"Rounds": 80})
    execution.wait(); execution.list_steps()

An execution is a raymaker job (kind Pipeline) whose driver runs the steps, each job step as
its own job; its id is that job's name.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from raymaker.errors import JobFailed, JobStopped, SpecError
from raymaker.sagemaker.session import UsesSession
from raymaker.sagemaker.workflow.entities import to_expressions

STATUS = {
    "Succeeded": "Succeeded",
    "Failed": "Failed",
    "Stopped": "Stopped",
    "Executing": "Executing",
}


class Pipeline(UsesSession):
    def __init__(
        self,
        name: str = "",
        parameters=None,
        pipeline_experiment_config=None,
        steps=None,
        sagemaker_session=None,
        pipeline_definition_config=None,
        *,
        session=None,
        max_parallel_steps: int | None = None,
    ):
        self.name = name
        self.parameters = list(parameters or [])
        self.pipeline_experiment_config = pipeline_experiment_config
        self.steps = list(steps or [])
        self.session = session or sagemaker_session
        self.max_parallel_steps = max_parallel_steps

    # -- the definition ---------------------------------------------------------------------
    def _step_requests(self) -> list[dict]:
        out, seen = [], set()
        nested = set()
        for s in self.steps:  # steps named in a condition's branches live there
            for branch in ("if_steps", "else_steps"):
                for m in getattr(s, branch, []) or []:
                    nested.update(x.name for x in getattr(m, "steps", [m]))
        for s in self.steps:
            for member in getattr(s, "steps", None) or [s]:
                if hasattr(member, "func"):  # a function step builds with this session
                    member.session = self._session()
                if member.name in seen or member.name in nested:
                    continue
                seen.add(member.name)
                out.append(member.to_request())
        return out

    def definition(self) -> str:
        """SageMaker's pipeline definition JSON (version 2020-12-01)."""
        return json.dumps(self.spec().definition())

    def spec(
        self,
        parameters: dict | None = None,
        display_name: str | None = None,
        description: str | None = None,
    ):
        """The ``kind: Pipeline`` spec of this pipeline. Raises SpecError."""
        from raymaker.specs import parse_spec

        body: dict[str, Any] = {
            "kind": "Pipeline",
            "name": self.name,
            "Parameters": [p.to_request() for p in self.parameters],
            "Steps": self._step_requests(),
        }
        if self.pipeline_experiment_config is not None:
            body["PipelineExperimentConfig"] = to_expressions(self.pipeline_experiment_config)
        if self.max_parallel_steps:
            body["max_parallel_steps"] = self.max_parallel_steps
        start = {
            "parameters": parameters or {},
            "display_name": display_name,
            "description": description,
        }
        body["start"] = {k: v for k, v in start.items() if v}
        return parse_spec(body, source="pipeline")

    # -- verbs ------------------------------------------------------------------------------
    def create(
        self,
        role_arn: str | None = None,
        description: str | None = None,
        tags=None,
        parallelism_config=None,
    ) -> dict:
        """Save the pipeline; a Conflict if it exists (``upsert`` saves either way)."""
        from raymaker.errors import Conflict
        from raymaker.pipelines import catalog

        try:
            catalog.read(self._session().store, self.name)
        except Exception:  # noqa: BLE001 - not there: create it
            return self.upsert(role_arn, description, tags, parallelism_config)
        raise Conflict(f"pipeline {self.name!r} exists; use update() or upsert()")

    def update(
        self, role_arn: str | None = None, description: str | None = None, parallelism_config=None
    ) -> dict:
        from raymaker.pipelines import catalog

        catalog.read(self._session().store, self.name)
        return self.upsert(role_arn, description, None, parallelism_config)

    def upsert(
        self,
        role_arn: str | None = None,
        description: str | None = None,
        tags=None,
        parallelism_config=None,
    ) -> dict:
        """Check and save the pipeline (its local files staged into the store); returns
        ``{"PipelineArn": ...}``. Raises SpecError naming each problem."""
        from raymaker.pipelines import catalog
        from raymaker.pipelines.execution import arn

        if parallelism_config is not None:
            self.max_parallel_steps = _parallelism(parallelism_config)
        spec = self.spec()
        if description:
            spec = spec.model_copy(update={"description": description})
        catalog.upsert(self._session().jobs, spec)
        return {"PipelineArn": arn(self.name)}

    def describe(self) -> dict:
        """SageMaker's DescribePipeline response."""
        from raymaker.pipelines import catalog
        from raymaker.pipelines.execution import arn

        record = catalog.read(self._session().store, self.name)
        return {
            "PipelineArn": arn(self.name),
            "PipelineName": self.name,
            "PipelineDisplayName": self.name,
            "PipelineDefinition": json.dumps(record["definition"]),
            "PipelineDescription": record.get("description"),
            "PipelineStatus": "Active",
            "CreationTime": _dt(record.get("created_at")),
            "LastModifiedTime": _dt(record.get("updated_at")),
            "PipelineVersion": record.get("version"),
        }

    def delete(self) -> dict:
        from raymaker.pipelines import catalog
        from raymaker.pipelines.execution import arn

        catalog.delete(self._session().store, self.name)
        return {"PipelineArn": arn(self.name)}

    def start(
        self,
        parameters: dict | None = None,
        execution_display_name: str | None = None,
        execution_description: str | None = None,
        parallelism_config=None,
        selective_execution_config=None,
    ) -> _PipelineExecution:
        """Start an execution of the saved pipeline (``upsert`` first). A bad parameter is a
        SpecError before anything runs."""
        from raymaker.pipelines import catalog

        if selective_execution_config is not None:
            raise SpecError(
                "selective_execution_config: use `raymaker pipelines retry` "
                "(re-runs a failed execution from its failed step)"
            )
        handle = catalog.start(
            self._session().jobs,
            self.name,
            parameters={k: to_expressions(v) for k, v in (parameters or {}).items()},
            display_name=execution_display_name,
            description=execution_description,
        )
        return _PipelineExecution(handle.name, self._session(), pipeline=self.name)

    def list_executions(
        self,
        sort_by: str | None = None,
        sort_order: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict:
        from raymaker.pipelines import catalog
        from raymaker.pipelines.execution import arn

        records = catalog.executions(self._session().jobs, self.name)
        if sort_order == "Ascending":
            records = records[::-1]
        rows = [
            {
                "PipelineExecutionArn": arn(self.name, r.name),
                "PipelineExecutionStatus": _status(r.status.value),
                "PipelineExecutionDisplayName": (r.spec.get("start") or {}).get("display_name")
                or r.name,
                "StartTime": _dt(r.created_at),
            }
            for r in records
        ]
        return {"PipelineExecutionSummaries": rows[: max_results or None]}

    def build_parameters_from_execution(
        self, pipeline_execution_arn: str, parameter_value_overrides: dict | None = None
    ) -> dict:
        execution = _PipelineExecution(pipeline_execution_arn.rsplit("/", 1)[-1], self._session())
        values = dict(execution.describe().get("Parameters") or {})
        return {**values, **(parameter_value_overrides or {})}


class _PipelineExecution:
    """One execution: ``describe``, ``list_steps``, ``wait``, ``stop``, ``result``."""

    def __init__(self, arn: str, sagemaker_session=None, *, pipeline: str | None = None):
        self.execution_id = arn.rsplit("/", 1)[-1]
        self.sagemaker_session = sagemaker_session
        self.pipeline = pipeline

    @property
    def arn(self) -> str:
        from raymaker.pipelines.execution import arn

        return arn(self.pipeline or self._state().get("pipeline", ""), self.execution_id)

    def __repr__(self) -> str:
        return f"_PipelineExecution({self.execution_id!r})"

    def _session(self):
        from raymaker.sagemaker.session import default_session

        if self.sagemaker_session is None:
            self.sagemaker_session = default_session()
        return self.sagemaker_session

    def _state(self) -> dict:
        from raymaker.pipelines import catalog

        state = catalog.execution(self._session().jobs, self.execution_id)
        self.pipeline = state.get("pipeline")
        return state

    def describe(self) -> dict:
        """SageMaker's DescribePipelineExecution response (and raymaker's ``Parameters``)."""
        from raymaker.pipelines.execution import arn

        s = self._state()
        return {
            "PipelineArn": arn(s["pipeline"]),
            "PipelineExecutionArn": self.arn,
            "PipelineExecutionDisplayName": s.get("display_name") or self.execution_id,
            "PipelineExecutionDescription": s.get("description"),
            "PipelineExecutionStatus": _status(s.get("status")),
            "FailureReason": s.get("failure_reason"),
            "CreationTime": _dt(s.get("created_at")),
            "LastModifiedTime": _dt(s.get("ended_at") or time.time()),
            "Parameters": s.get("parameters") or {},
            "RaymakerJob": self.execution_id,
        }

    def list_steps(self) -> list[dict]:
        """SageMaker's ListPipelineExecutionSteps: the latest started first."""
        from raymaker.pipelines import catalog

        out = []
        for s in catalog.steps(self._state()):
            row = {
                "StepName": s["StepName"],
                "StepStatus": s.get("StepStatus"),
                "StartTime": _dt(s.get("StartTime")),
                "EndTime": _dt(s.get("EndTime")),
                "AttemptCount": s.get("AttemptCount", 0),
                "Metadata": s.get("Metadata", {}),
            }
            for key in ("StepDisplayName", "FailureReason", "CacheHitResult", "CacheMiss"):
                if s.get(key):
                    row[key] = s[key]
            out.append(row)
        return out

    def list_parameters(self) -> dict:
        params = self._state().get("parameters") or {}
        return {"PipelineParameters": [{"Name": k, "Value": str(v)} for k, v in params.items()]}

    def wait(self, delay: float = 0.5, max_attempts: int | None = None) -> None:
        """Block until the execution ends. Raises JobFailed (its FailureReason) or
        JobStopped; WaitTimeout after ``delay * max_attempts`` seconds."""
        from raymaker.jobs.client import JobHandle

        timeout = None if max_attempts is None else delay * max_attempts
        handle = JobHandle(self._session().jobs, self.execution_id)
        try:  # the record ends as the driver writes it: no wait for its process to exit
            handle._outcome(handle.wait_recorded(timeout))
        except (JobFailed, JobStopped) as exc:
            state = self._state()
            reason = state.get("failure_reason") or str(exc)
            raise type(exc)(
                f"pipeline execution {self.execution_id} {_status(state.get('status'))}: {reason}",
                job_name=self.execution_id,
                traceback=getattr(exc, "traceback", None),
            ) from None

    def stop(self) -> dict:
        from raymaker.pipelines import catalog

        catalog.stop(self._session().jobs, self.execution_id)
        return {"PipelineExecutionArn": self.arn}

    def retry(self, wait: bool = False) -> _PipelineExecution:
        """Run the failed execution again from its failed step (RetryPipelineExecution)."""
        from raymaker.pipelines import catalog

        catalog.retry(self._session().jobs, self.execution_id, wait=wait)
        return self

    def result(self, step_name: str) -> dict:
        """A step's properties (its job's Describe* shape), once it succeeded."""
        state = self._state()
        s = state.get("steps", {}).get(step_name)
        if s is None:
            raise SpecError(f"execution {self.execution_id} has no step {step_name!r}")
        if s.get("StepStatus") != "Succeeded":
            raise SpecError(f"step {step_name} is {s.get('StepStatus')}: no result")
        properties = s.get("Properties") or {}
        if (s.get("Metadata") or {}).get("FunctionJob") or s.get("StepType") == "Function":
            from raymaker.sagemaker.workflow.function_step import load_result

            outputs = properties["ProcessingOutputConfig"]["Outputs"]
            uri = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == "result")
            return load_result(self._session().store, uri)
        return properties


def _status(value: str | None) -> str:
    value = (value or "Executing").title()
    return STATUS.get(value, value)


def _dt(value: float | None):
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _parallelism(config) -> int:
    if isinstance(config, dict):
        return int(config.get("MaxParallelExecutionSteps"))
    return int(config.max_parallel_execution_steps)


class ParallelismConfiguration:
    def __init__(self, max_parallel_execution_steps: int):
        self.max_parallel_execution_steps = max_parallel_execution_steps

    def to_request(self) -> dict:
        return {"MaxParallelExecutionSteps": self.max_parallel_execution_steps}
