"""A pipeline execution: one job whose driver walks the steps' graph.

Each step starts once every step it depends on has succeeded (and its Condition step, if it
sits in a branch, took that branch); independent steps run at once, up to
``max_parallel_steps``. A job step is submitted as its own raymaker job; before that its
content key is looked up in the cache (``raymaker.pipelines.cache``). A failed attempt is
retried as its ``RetryPolicies`` say (``raymaker.pipelines.steps``). The steps' states are
written to ``pipelines/<name>/executions/<execution>.json`` at every change.

A resumed execution (``raymaker pipelines retry``: the job resumed under its own name) keeps
what succeeded before and runs the rest. Stopping the execution stops its running jobs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from raymaker.errors import JobFailed, JobStopped, NotFound, RaymakerError, SpecError
from raymaker.pipelines import cache
from raymaker.pipelines.definition import parameter_values
from raymaker.pipelines.resolve import Resolver, read_property_file
from raymaker.pipelines.steps import (
    Outcome,
    StepFailed,
    function_job,
    retry_delay,
    run_check_step,
    run_condition,
    run_fail,
    run_job_step,
    run_model,
    run_register,
)
from raymaker.specs.pipeline import JOB_STEPS, duration_seconds
from raymaker.specs.pipeline_graph import flatten
from raymaker.storage import join, layout

TERMINAL = ("Succeeded", "Failed", "Stopped")


def execution_key(pipeline: str, execution: str) -> str:
    return join(layout.PIPELINES, pipeline, "executions", f"{execution}.json")


def pipeline_key(pipeline: str) -> str:
    return join(layout.PIPELINES, pipeline, "pipeline.json")


def arn(pipeline: str, execution: str | None = None) -> str:
    base = f"arn:raymaker:sagemaker:local:000000000000:pipeline/{pipeline}"
    return f"{base}/execution/{execution}" if execution else base


def run_pipeline(spec, ctx) -> dict:
    """The kind table's ``run``: save the pipeline as submitted, then execute it."""
    from raymaker.pipelines.catalog import save_definition

    save_definition(ctx.store, spec, execution=ctx.name)
    return Execution(spec, ctx).run()


class Execution:
    def __init__(self, spec, ctx):
        from raymaker.jobs.client import JobsClient

        self.spec, self.ctx, self.store = spec, ctx, ctx.store
        self.pipeline, self.execution_id = spec.name, ctx.name
        self.nodes = flatten(spec)
        self.jobs = JobsClient(ctx.settings, ctx.store)
        self.key = execution_key(self.pipeline, self.execution_id)
        self._lock = threading.Lock()
        self._running: dict = {}  # step -> the JobHandle of its running job
        self.experiment: dict = {}
        self.state = self._initial_state()
        self.properties: dict[str, dict] = {
            n: s["Properties"]
            for n, s in self.state["steps"].items()
            if s.get("StepStatus") == "Succeeded" and s.get("Properties") is not None
        }
        self.memo: dict = {}  # content hashes, computed once an execution

    # -- state --------------------------------------------------------------------------------
    def _initial_state(self) -> dict:
        now = time.time()
        fresh = {
            "pipeline": self.pipeline,
            "execution": self.execution_id,
            "display_name": self.spec.start.display_name or self.execution_id,
            "description": self.spec.start.description,
            "created_at": now,
            "attempt": self.ctx.record.attempts,
            "steps": {},
        }
        try:
            before = self.store.read_json(self.key)
        except NotFound:
            return fresh
        kept = {
            n: s
            for n, s in before.get("steps", {}).items()
            if s.get("StepStatus") == "Succeeded" and n in self.nodes
        }
        for s in kept.values():
            s.setdefault("ReusedFromAttempt", before.get("attempt", 1))
        return {
            **before,
            "attempt": self.ctx.record.attempts,
            "steps": kept,
            "retried_at": now,
            "status": "Executing",
            "failure_reason": None,
        }

    def _save(self) -> None:
        with self._lock:
            self.store.write_json(self.key, self.state)

    def _set(self, step: str, **fields) -> None:
        with self._lock:
            entry = self.state["steps"].setdefault(step, {"StepName": step})
            entry.update(fields)
        self._save()

    def job_name(self, step: str, attempt: int) -> str:
        """A step job's name: the step, the execution's last 8 characters, the attempt."""
        slug = "".join(c if c.isalnum() else "-" for c in step.lower()).strip("-")[:36] or "step"
        tail = self.execution_id[-8:].strip("-")
        runs = self.state.get("attempt", 1)
        suffix = f"{attempt}" if runs == 1 else f"r{runs}-{attempt}"
        return f"{slug}-{tail}-{suffix}"

    def watch(self, step: str, handle) -> None:
        with self._lock:
            self._running[step] = handle
        self._set(
            step,
            RaymakerJob=handle.name,
            Jobs=[*self.state["steps"].get(step, {}).get("Jobs", []), handle.name],
        )

    def unwatch(self, step: str) -> None:
        with self._lock:
            self._running.pop(step, None)

    # -- the walk -----------------------------------------------------------------------------
    def run(self) -> dict:
        ctx = self.ctx
        self.parameters = parameter_values(self.spec)
        self.state.update(
            status="Executing",
            parameters=self.parameters,
            started_at=self.state.get("started_at") or time.time(),
        )
        self._save()
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.state["created_at"]))
        self.variables = {
            "PipelineExecutionId": self.execution_id,
            "PipelineExecutionArn": arn(self.pipeline, self.execution_id),
            "PipelineName": self.pipeline,
            "PipelineArn": arn(self.pipeline),
            "StartDateTime": started,
        }
        self.experiment = self._experiment()
        ctx.progress(stage="running", steps=len(self.nodes), force=True)
        pool = ThreadPoolExecutor(self.spec.max_parallel_steps, thread_name_prefix="step")
        futures: dict[Future, str] = {}
        failed: list[str] = []
        try:
            while True:
                for name in self._ready(futures, failed):
                    self._set(
                        name,
                        StepStatus="Starting",
                        StartTime=time.time(),
                        StepType=self.nodes[name].step.type,
                        StepDisplayName=self.nodes[name].step.display_name,
                    )
                    futures[pool.submit(self._run_step, name)] = name
                if not futures:
                    break
                done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
                for f in done:
                    name = futures.pop(f)
                    if f.result() != "Succeeded":
                        failed.append(name)
                ctx.progress(
                    done=sum(
                        1 for s in self.state["steps"].values() if s.get("StepStatus") in TERMINAL
                    )
                )
        except BaseException:
            self._stop_running(futures)
            self._finish("Stopped", "the execution was stopped")
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if failed:
            first = self.state["steps"][failed[0]]
            reason = f"step {failed[0]} failed: {first.get('FailureReason')}"
            self._finish("Failed", reason)
            raise JobFailed(reason, traceback=first.get("Traceback"))
        self._finish("Succeeded", None)
        return self.summary()

    def _experiment(self) -> dict:
        """The experiment and trial the step jobs are tracked as (SageMaker's defaults: the
        pipeline's name and the execution's id)."""
        config = self.spec.pipeline_experiment_config
        if config is None:
            return {"ExperimentName": self.pipeline, "TrialName": self.execution_id}
        resolved = self._resolver()(config)
        return {
            k: str(v) for k, v in resolved.items() if k in ("ExperimentName", "TrialName") and v
        }

    def _ready(self, futures: dict, failed: list) -> list[str]:
        """Steps that can start now; steps on a branch not taken are marked not run."""
        if failed:
            return []  # a failed step ends the execution once what runs has ended
        running = set(futures.values())
        out = []
        for name, node in self.nodes.items():
            entry = self.state["steps"].get(name, {})
            if name in running or entry.get("StepStatus") in (*TERMINAL, "NotExecuted"):
                continue
            ups = [self.state["steps"].get(u, {}).get("StepStatus") for u in node.upstream]
            if any(s == "NotExecuted" for s in ups):
                self._set(name, StepStatus="NotExecuted")
                continue
            if node.gate:
                cond = self.state["steps"].get(node.gate[0], {})
                if (
                    cond.get("StepStatus") == "Succeeded"
                    and cond.get("Properties", {}).get("Outcome") != node.gate[1]
                ):
                    self._set(name, StepStatus="NotExecuted")
                    continue
            if all(s == "Succeeded" for s in ups):
                out.append(name)
        return out

    def _run_step(self, name: str) -> str:
        """Run one step to its end (retrying as its policies say); its final status."""
        node = self.nodes[name]
        step = node.step
        attempt, started = 0, time.time()
        while True:
            attempt += 1
            self._set(name, StepStatus="Executing", AttemptCount=attempt)
            try:
                outcome = self._attempt(step, attempt)
            except JobStopped:
                self._set(name, StepStatus="Stopped", EndTime=time.time(), FailureReason="stopped")
                return "Stopped"
            except StepFailed as exc:
                delay = retry_delay(step.retry_policies, exc.exception_type, attempt, started)
                if delay is not None:
                    self._set(
                        name,
                        LastFailure=f"attempt {attempt}: {exc.reason}"
                        f" ({exc.exception_type}); retrying in {delay:g} s",
                    )
                    time.sleep(delay)
                    continue
                why = exc.reason + (f" ({exc.exception_type})" if exc.exception_type else "")
                if exc.traceback:
                    self._set(name, Traceback=exc.traceback)
                self._set(
                    name,
                    StepStatus="Failed",
                    EndTime=time.time(),
                    FailureReason=why,
                    **(
                        {"Metadata": {"Fail": {"ErrorMessage": exc.reason}}}
                        if step.type == "Fail"
                        else {}
                    ),
                )
                return "Failed"
            except Exception as exc:  # noqa: BLE001 - a bug or the store: the step fails, said why
                self._set(
                    name,
                    StepStatus="Failed",
                    EndTime=time.time(),
                    FailureReason=f"{type(exc).__name__}: {exc}",
                )
                return "Failed"
            with self._lock:
                self.properties[name] = outcome.properties
            self._set(
                name,
                StepStatus="Succeeded",
                EndTime=time.time(),
                Properties=outcome.properties,
                Metadata={**self.state["steps"][name].get("Metadata", {}), **outcome.metadata},
            )
            return "Succeeded"

    def _resolver(self) -> Resolver:
        with self._lock:
            properties = dict(self.properties)
        definition = lambda s: self.nodes[s].step  # noqa: E731
        return Resolver(
            self.parameters,
            self.variables,
            properties,
            read_property_file(self.store, definition, properties),
        )

    def _attempt(self, step, attempt: int) -> Outcome:
        resolver = self._resolver()
        if step.type == "Condition":
            return run_condition(self, step, resolver)
        if step.type == "Fail":
            return run_fail(self, step, resolver)
        try:
            args = resolver(step.arguments)
        except (SpecError, KeyError) as exc:
            raise StepFailed(f"its arguments could not be resolved: {exc}") from None
        if step.type == "Function":
            args = function_job(self, step, args, attempt)
        if step.type in JOB_STEPS:
            config = step.cache_config
            if config is not None and config.enabled:
                run = lambda: self._cached(step, args, attempt, config)  # noqa: E731
            else:
                run = lambda: run_job_step(self, step, args, attempt)  # noqa: E731
            if step.type in ("QualityCheck", "ClarifyCheck"):
                return run_check_step(self, step, args, resolver, run)
            return run()
        if step.type == "RegisterModel":
            return run_register(self, step, args)
        return run_model(self, step, args)

    def _cached(self, step, args: dict, attempt: int, config) -> Outcome:
        parts = cache.key_parts(self.store, step.type, args, self.memo)
        key = cache.key_of(parts)
        expire = duration_seconds(config.expire_after) if config.expire_after else None
        entry, why = cache.lookup(self.store, self.pipeline, step.name, key, expire)
        if entry is not None:
            self._set(
                step.name,
                CacheHitResult={
                    "SourcePipelineExecutionArn": arn(self.pipeline, entry["execution"]),
                    "SourceJob": entry["job"],
                },
                CacheKey=key,
            )
            return Outcome(
                properties=entry["properties"],
                job=entry["job"],
                metadata={"RaymakerJob": entry["job"]},
            )
        why = why or cache.explain_miss(self.store, self.pipeline, step.name, parts)
        self._set(step.name, CacheKey=key, CacheMiss=why)
        outcome = run_job_step(self, step, args, attempt)
        cache.save(
            self.store,
            self.pipeline,
            step.name,
            key,
            parts,
            job=outcome.job,
            properties=outcome.properties,
            execution=self.execution_id,
        )
        return outcome

    def _stop_running(self, futures: dict) -> None:
        with self._lock:
            handles = list(self._running.items())
        for step, handle in handles:
            with contextlib.suppress(RaymakerError, Exception):
                handle.stop(timeout=10)
            self._set(step, StepStatus="Stopped", EndTime=time.time(), FailureReason="stopped")
        for name in futures.values():
            entry = self.state["steps"].get(name, {})
            if entry.get("StepStatus") not in TERMINAL:
                self._set(name, StepStatus="Stopped", EndTime=time.time())

    def _finish(self, status: str, reason: str | None) -> None:
        self.state.update(status=status, failure_reason=reason, ended_at=time.time())
        self._save()

    def summary(self) -> dict:
        steps = self.state["steps"]
        return {
            "pipeline": self.pipeline,
            "execution": self.execution_id,
            "steps": {n: s.get("StepStatus") for n, s in steps.items()},
            "cache_hits": sorted(n for n, s in steps.items() if s.get("CacheHitResult")),
        }


def reconcile_executions(settings, store) -> dict:
    """The kind table's ``reconcile``: an execution whose job is over (failed when the cluster
    went away) but whose state still says Executing is marked as its job ended, its running
    steps Failed, so it can be retried; never left Executing."""
    from raymaker.jobs.client import JobsClient

    jobs = JobsClient(settings, store)
    fixed, failed = [], {}
    for key in store.list(layout.PIPELINES, recursive=True):
        if "/executions/" not in key or not key.endswith(".json"):
            continue
        try:
            state = store.read_json(key)
            if state.get("status") not in (None, "Executing"):
                continue
            record = jobs.refresh(state["execution"])
            if not record.status.terminal:
                continue
            mark_ended(store, state, record)
            fixed.append(state["execution"])
        except Exception as exc:  # noqa: BLE001 - one bad file does not stop the rest
            failed[key] = f"{type(exc).__name__}: {exc}"
    return {"restored": fixed, "failed": failed}


def mark_ended(store, state: dict, record) -> dict:
    """``state`` made to agree with its ended job: running steps Failed (or Stopped)."""
    status = {"SUCCEEDED": "Succeeded", "STOPPED": "Stopped"}.get(record.status.value, "Failed")
    for entry in state.get("steps", {}).values():
        if entry.get("StepStatus") in ("Starting", "Executing"):
            entry.update(
                StepStatus="Stopped" if status == "Stopped" else "Failed",
                EndTime=record.ended_at,
                FailureReason=record.failure_reason or "the execution ended",
            )
    state.update(status=status, failure_reason=record.failure_reason, ended_at=record.ended_at)
    store.write_json(execution_key(state["pipeline"], state["execution"]), state)
    return state
