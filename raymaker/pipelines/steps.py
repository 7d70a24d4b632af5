"""What each step type does when it runs, and which failures a retry policy takes.

Job steps (Processing, Training, Tuning, Transform, AutoML, QualityCheck, ClarifyCheck) are
submitted as the raymaker jobs they are, each its own Ray job; Model and RegisterModel work on
the store in the execution's driver; Condition and Fail decide there.

A failed attempt is classified in SageMaker's exception types, which a step's
``RetryPolicies`` name:

    Step.SERVICE_FAULT            Ray or the store refused the submission (unreachable, ...)
    Step.THROTTLING               (raymaker does not throttle: never raised)
    SageMaker.JOB_INTERNAL_ERROR  the job's driver died without recording an end (killed,
                                  out of memory, its node or the cluster went away)
    SageMaker.CAPACITY_ERROR      (Ray queues what it cannot place: never raised)
    SageMaker.RESOURCE_LIMIT      (no account limits: never raised)

A failure of the user's own code, or a clear raymaker error (bad spec, missing data), is not
retried: it would fail the same way again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from raymaker.errors import ClusterError, JobStopped, RaymakerError, SpecError
from raymaker.jobs.records import CLUSTER_GONE, JobStatus
from raymaker.pipelines import properties as props
from raymaker.specs.pipeline import JOB_STEPS


class StepFailed(Exception):
    """A step attempt that failed; ``exception_type`` is its SageMaker type (None: not
    retryable)."""

    def __init__(self, reason: str, exception_type: str | None = None, job: str | None = None,
                 traceback: str | None = None):  # fmt: skip
        super().__init__(reason)
        self.reason, self.exception_type, self.job = reason, exception_type, job
        self.traceback = traceback


@dataclass
class Outcome:
    properties: dict
    metadata: dict = field(default_factory=dict)
    job: str | None = None
    outcome: bool | None = None  # a Condition step's


def run_job_step(exe, step, args: dict, attempt: int) -> Outcome:
    """Submit the step's job and wait for it. Raises StepFailed."""
    kind = JOB_STEPS[step.type]
    body = {k: v for k, v in args.items() if k not in ("kind", "name")}
    if exe.experiment and "experiment_config" not in body and _tracked(kind):
        body["experiment_config"] = exe.experiment  # the execution's experiment and trial
    name = exe.job_name(step.name, attempt)
    try:
        handle = exe.jobs.submit({"kind": kind, **body}, name=name)
    except SpecError as exc:
        raise StepFailed(f"{kind} spec: {exc}", None) from None
    except ClusterError as exc:
        raise StepFailed(f"could not submit {name}: {exc}", "Step.SERVICE_FAULT") from None
    exe.watch(step.name, handle)
    try:
        record = handle.wait_recorded(poll_s=0.1)
    finally:
        exe.unwatch(step.name)
    if record.status == JobStatus.STOPPED:
        raise JobStopped(f"job {name} was stopped")
    if record.status != JobStatus.SUCCEEDED:
        last = (record.traceback or "").strip().splitlines()[-1:] if not record.error else []
        reason = (record.failure_reason or "failed") + (f" ({last[0].strip()})" if last else "")
        raise StepFailed(f"job {name} failed: {reason}", failure_type(record), job=name,
                         traceback=record.traceback)  # fmt: skip
    meta = step.type if step.type in ("QualityCheck", "ClarifyCheck") else f"{step.type}Job"
    properties = props.of_job(step.type, record)
    found = [v for k, v in properties.items() if k.endswith("JobArn")]
    return Outcome(
        properties=properties,
        job=name,
        metadata={meta: {"Arn": found[0] if found else name}, "RaymakerJob": name},
    )


def function_job(exe, step, args: dict, attempt: int) -> dict:
    """A function step's processing job: the runner script over the function's pickle, the
    call's resolved values (``call.json``) and the upstream function steps' results."""
    from importlib import resources

    from raymaker.storage import join, layout

    key = join(layout.PIPELINES, exe.pipeline, "executions", exe.execution_id, step.name,
               f"call-{attempt}.json")  # fmt: skip
    call = {"values": args["values"], "paths": args["paths"],
            "results": {k: str(i) for i, k in enumerate(args["results"])}}  # fmt: skip
    exe.store.write_json(key, call)
    inputs = [{"name": "function", "source": args["function"]},
              {"name": "call", "source": exe.store.uri(key)}]  # fmt: skip
    inputs += [{"name": f"result-{i}", "source": uri}
               for i, uri in enumerate(args["results"].values())]  # fmt: skip
    runner = resources.files("raymaker") / "_assets" / "function_step.py"
    return {"code": str(runner), "inputs": inputs, "outputs": [{"name": "result"}],
            "instance_type": args.get("instance_type") or "cpu.1",
            "environment": args.get("environment") or {}}  # fmt: skip


def run_check_step(exe, step, args: dict, resolver, run) -> Outcome:
    """A QualityCheck (a BaselineJob) or ClarifyCheck (a ClarifyJob) step: the job computes
    the new baseline; unless ``SkipCheck``, a QualityCheck then compares it with the supplied
    baseline and fails on a violation (``FailOnViolation``). ``RegisterNewBaseline`` makes the
    new baseline the one drift checks use from then on."""
    outcome = run()  # the job (or its cached result)
    props_ = dict(outcome.properties)
    outcome.properties = props_
    supplied_stats = resolver(step.supplied_baseline_statistics)
    supplied_rules = resolver(step.supplied_baseline_constraints)
    if supplied_rules and not step.register_new_baseline:
        props_["BaselineUsedForDriftCheckConstraints"] = supplied_rules
        if supplied_stats:
            props_["BaselineUsedForDriftCheckStatistics"] = supplied_stats
    if step.skip_check or not supplied_rules or step.type == "ClarifyCheck":
        return outcome
    violations = quality_violations(exe.store, args, props_, supplied_stats, supplied_rules)
    props_["Violations"] = violations
    if violations and step.fail_on_violation:
        shown = "; ".join(
            f"{v.get('feature_name') or v.get('metric_name', '')}: {v.get('description')}"
            for v in violations[:5]
        )
        raise StepFailed(f"{len(violations)} violation(s) of the supplied baseline: {shown}")
    return outcome


def quality_violations(store, args: dict, props_: dict, supplied_stats, supplied_rules) -> list:
    """The new statistics checked against the supplied constraints (SageMaker's check)."""
    from raymaker.monitor import constraints, quality

    current = store.read_json(store.key(props_["CalculatedBaselineStatistics"]))
    rules = store.read_json(store.key(supplied_rules))
    if args.get("monitor_type", "DataQuality") == "ModelQuality":
        return quality.check(current, rules, args.get("problem_type"))
    baseline = store.read_json(store.key(supplied_stats)) if supplied_stats else current
    return constraints.check(baseline, rules, current)[0]


def _tracked(kind: str) -> bool:
    from raymaker.specs import spec_class
    from raymaker.specs.base import Tracked

    return issubclass(spec_class(kind), Tracked)


def failure_type(record) -> str | None:
    """A failed job's SageMaker exception type, or None when its own code or spec failed."""
    if record.error:  # a clear raymaker error (SpecError, NotFound, ...): the same again
        return None
    reason = record.failure_reason or ""
    if reason == CLUSTER_GONE or reason.startswith(
        ("Ray reports", "Job entrypoint command failed", "Unexpected error", "Job supervisor actor")
    ):
        return "SageMaker.JOB_INTERNAL_ERROR"
    if record.traceback is None and "exit code" in reason:  # killed before it could record
        return "SageMaker.JOB_INTERNAL_ERROR"
    return None


def run_register(exe, step, args: dict) -> Outcome:
    """Register the model as the group's next version (the registry is the store's)."""
    from raymaker.registry.registry import ModelRegistry

    registry = ModelRegistry(exe.store)
    try:
        version = registry.register(
            args["model_package_group_name"],
            args["model_data"],
            approval_status=args.get("approval_status") or "PendingManualApproval",
            description=args.get("description"),
            customer_metadata=args.get("customer_metadata_properties"),
            metrics=args.get("metrics"),
            entry_point=args.get("entry_point"),
            source_dir=args.get("source_dir"),
            lineage={
                "pipeline": exe.pipeline,
                "pipeline_execution": exe.execution_id,
                "pipeline_step": step.name,
            },
        )
    except RaymakerError as exc:
        raise StepFailed(f"registering failed: {exc}") from None
    arn = version.model_package_arn
    return Outcome(
        properties={
            "ModelPackageArn": arn,
            "ModelPackageGroupName": version.group,
            "ModelPackageVersion": version.version,
            "ModelApprovalStatus": args.get("approval_status") or "PendingManualApproval",
            "RaymakerReference": version.ref,
        },
        metadata={"RegisterModel": {"Arn": arn}},
    )


def run_model(exe, step, args: dict) -> Outcome:
    """A model (SageMaker's CreateModel): its artifact checked, its definition kept."""
    from raymaker.errors import NotFound
    from raymaker.storage import artifacts

    model_data = args["model_data"]
    if not str(model_data).startswith("registry://"):
        try:
            artifacts.read_manifest(exe.store, model_data)
        except (NotFound, RaymakerError) as exc:
            raise StepFailed(f"model_data {model_data}: {exc}") from None
    default = f"{exe.pipeline}-{step.name}-{exe.execution_id[-8:]}".lower()
    name = save_model(exe.store, args, default=default)
    return Outcome(
        properties={
            "ModelName": name,
            "ModelArn": name,
            "PrimaryContainer": {"ModelDataUrl": model_data},
        },
        metadata={"Model": {"Arn": name}},
    )


def save_model(store, args: dict, *, default: str) -> str:
    """Keep a model's definition as ``models/<name>/model.json``; its name."""
    from raymaker.specs.base import check_name
    from raymaker.storage import join, layout

    name = check_name(args.get("name") or "".join(c if c.isalnum() else "-" for c in default))
    record = {k: v for k, v in args.items() if v is not None}
    store.write_json(join(layout.MODELS, name, "model.json"), {**record, "name": name})
    return name


def run_condition(exe, step, resolver) -> Outcome:
    from raymaker.pipelines.resolve import evaluate

    try:
        outcome = all(evaluate(c, resolver) for c in step.arguments["Conditions"])
    except (SpecError, KeyError) as exc:
        raise StepFailed(f"the condition could not be evaluated: {exc}") from None
    return Outcome(
        properties={"Outcome": outcome},
        metadata={"Condition": {"Outcome": str(outcome).lower()}},
        outcome=outcome,
    )


def run_fail(exe, step, resolver) -> Any:
    message = resolver(step.arguments.get("ErrorMessage", "")) or ""
    raise StepFailed(str(message) or f"the pipeline reached Fail step {step.name}", None)


def retry_delay(
    policies: list, exception_type: str | None, attempt: int, started: float
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None when no policy retries
    ``exception_type`` again."""
    if exception_type is None:
        return None
    for policy in policies:
        if exception_type not in policy.exception_type:
            continue
        delay = policy.interval_seconds * policy.backoff_rate ** (attempt - 1)
        if policy.max_attempts is not None and attempt > policy.max_attempts:
            return None  # MaxAttempts counts the retries, as SageMaker's does
        if (
            policy.expire_after_min is not None
            and time.time() + delay - started > policy.expire_after_min * 60
        ):
            return None
        return delay
    return None
