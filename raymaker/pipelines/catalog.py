"""Pipelines and their executions in the store: save (upsert), describe, list, start, stop,
retry. The SDK's ``Pipeline`` and ``raymaker pipelines`` both go through here.

A pipeline's saved definition is its staged spec (local files already in the store), with its
version count; ``start`` submits it, with an execution's parameter values, as a job of kind
``Pipeline`` named ``<pipeline>-<8 hex>``: the execution's id.
"""

from __future__ import annotations

import time

from raymaker.errors import Conflict, NotFound
from raymaker.pipelines.execution import execution_key, mark_ended, pipeline_key
from raymaker.specs import parse_spec
from raymaker.storage import layout

SAVED_FIELDS = ("max_parallel_steps", "description", "tags")


def save_definition(store, spec, *, execution: str | None = None) -> dict:
    """Write the pipeline's definition (a new version when it changed). Returns the record."""
    body = spec.model_copy(update={"start": type(spec.start)()})
    definition = body.definition()
    now = time.time()
    try:
        record = store.read_json(pipeline_key(spec.name))
    except NotFound:
        record = {"name": spec.name, "created_at": now, "version": 0}
    if record.get("definition") != definition or not record.get("version"):
        record.update(version=record.get("version", 0) + 1, definition=definition, updated_at=now)
    record.update({f: getattr(spec, f) for f in SAVED_FIELDS})
    if execution:
        record["last_execution"] = execution
    store.write_json(pipeline_key(spec.name), record)
    return record


def upsert(jobs, spec, *, base_dir: str | None = None) -> dict:
    """Check, stage and save ``spec`` (SageMaker's ``upsert``). Raises SpecError, NotFound."""
    from raymaker.jobs.staging import stage

    spec = jobs.check(spec)
    staged = stage(spec, jobs.store, f"{spec.name}-pipeline", base_dir)
    return save_definition(jobs.store, staged)


def read(store, name: str) -> dict:
    """The saved record of pipeline ``name``. Raises NotFound."""
    try:
        return store.read_json(pipeline_key(name))
    except NotFound:
        raise NotFound(f"no pipeline named {name!r} in {store.uri()}") from None


def spec_of(
    store,
    name: str,
    *,
    parameters: dict | None = None,
    display_name: str | None = None,
    description: str | None = None,
):
    """The saved pipeline as a spec, with an execution's values. Raises NotFound, SpecError."""
    from raymaker.specs.pipeline import Pipeline

    record = read(store, name)
    fields = {f: record[f] for f in SAVED_FIELDS if record.get(f) is not None}
    start = {
        "parameters": parameters or {},
        "display_name": display_name,
        "description": description,
    }
    return Pipeline.from_definition(
        name,
        record["definition"],
        **fields,
        start={k: v for k, v in start.items() if v is not None},
    )


def list_pipelines(store) -> list[dict]:
    out = []
    for key in store.list(layout.PIPELINES):
        name = key.rsplit("/", 1)[-1]
        try:
            record = read(store, name)
        except (NotFound, ValueError):
            continue
        out.append(record)
    return sorted(out, key=lambda r: r.get("updated_at", 0), reverse=True)


def delete(store, name: str) -> None:
    read(store, name)
    store.delete(pipeline_key(name))


def start(
    jobs,
    name: str,
    *,
    parameters: dict | None = None,
    display_name: str | None = None,
    description: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
):
    """Start an execution of the saved pipeline; its job handle. Raises SpecError (a bad
    parameter, before anything is submitted), NotFound."""
    spec = spec_of(
        jobs.store, name, parameters=parameters, display_name=display_name, description=description
    )
    jobs.check(spec)
    handle = jobs.submit(spec)
    if wait:
        handle.wait(timeout=timeout)
    return handle


def execution(jobs, name: str) -> dict:
    """An execution's state, made to agree with its job (never Executing after its job
    ended). Raises NotFound."""
    record = jobs.refresh(name)
    if record.kind != "Pipeline":
        raise NotFound(f"job {name!r} is a {record.kind}, not a pipeline execution")
    pipeline = record.spec.get("name")
    try:
        state = jobs.store.read_json(execution_key(pipeline, name))
    except NotFound:
        state = {
            "pipeline": pipeline,
            "execution": name,
            "steps": {},
            "created_at": record.created_at,
        }
    if record.status.terminal and state.get("status") in (None, "Executing"):
        state = mark_ended(jobs.store, state, record)
    state["job_status"] = record.status.value
    state.setdefault(
        "status",
        {"PENDING": "Executing", "RUNNING": "Executing"}.get(
            record.status.value, record.status.value.title()
        ),
    )
    if record.status.terminal and record.failure_reason and not state.get("failure_reason"):
        state["failure_reason"] = record.failure_reason
    return state


def executions(jobs, pipeline: str) -> list[dict]:
    """The pipeline's executions, newest first (their job records, short form)."""
    read(jobs.store, pipeline)
    out = []
    for r in jobs.list(kind="Pipeline"):
        if r.spec.get("name") == pipeline:
            out.append(r)
    return out


def steps(state: dict) -> list[dict]:
    """An execution's steps as SageMaker's ``ListPipelineExecutionSteps`` shows them, the
    latest started first; steps on a branch not taken are not listed."""
    rows = [s for s in state.get("steps", {}).values() if s.get("StepStatus") != "NotExecuted"]
    return sorted(rows, key=lambda s: s.get("StartTime") or 0, reverse=True)


def stop(jobs, name: str, *, timeout: float = 30.0) -> dict:
    """Stop a running execution (and its running step jobs). Returns its state."""
    execution(jobs, name)
    jobs.get(name).stop(timeout=timeout)
    return execution(jobs, name)


def retry(jobs, name: str, *, wait: bool = False, timeout: float | None = None):
    """Run a Failed or Stopped execution again from where it failed, keeping the steps that
    succeeded (SageMaker's RetryPipelineExecution). Raises Conflict, NotFound."""
    state = execution(jobs, name)
    if state.get("status") not in ("Failed", "Stopped"):
        raise Conflict(
            f"execution {name} is {state.get('status')}: only a Failed or Stopped "
            "execution is retried"
        )
    spec = spec_of_execution(jobs, name)
    handle = jobs.submit(spec, name=name, resume=True)
    if wait:
        handle.wait(timeout=timeout)
    return handle


def spec_of_execution(jobs, name: str):
    """The spec an execution ran (its definition and parameter values)."""
    record = jobs.get(name).describe()
    return parse_spec({**record.spec, "kind": record.kind})
