"""One trial of a tuning job: a full training job run in the Ray Tune trial's own process.

The trial runs its training job through ``run_spec``, as ``raymaker run`` would, so it gets
a record, logs, metrics, a model artifact and lineage like any other. While it trains, every
objective point the job records is seen here (``metrics.listening``) and reported to Tune at
a fixed schedule of steps, where the scheduler (ASHA, the median rule) can stop it. A stop
arrives as SystemExit from ``tune.report`` and leaves as JobStopped, so the training job ends
STOPPED with the reason on its record.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

from raymaker.errors import JobStopped, RaymakerError
from raymaker.tuning import trials

REPORT_GROWTH = 1.5  # report at steps 1, 2, 3, 4, 6, 9, 13, ... (each costs a Tune round trip)


class TrialFailed(RaymakerError):
    """A trial's training job failed, or never reported the objective."""


@dataclass
class TrialSetup:
    """What every trial of one tuning job shares (sent once to each trial actor)."""

    tuning: str
    template: dict  # the TrainingJob spec, as JSON
    ranges: dict  # name -> ParameterRange, as JSON
    metric_name: str
    objective_type: str
    settings: object
    resource: str | None = None  # Hyperband: the hyperparameter set to max_resource
    max_resource: int | None = None
    milestones: list[int] = field(default_factory=list)
    intermediate: bool = False  # report during training (a scheduler is watching)


def report_steps(milestones: list[int], limit: int = 1_000_000) -> list[int]:
    """The steps at which a trial reports: a geometric series plus the scheduler's rungs."""
    steps, step = set(milestones), 1.0
    while step <= limit:
        steps.add(int(step))
        step = max(step + 1, step * REPORT_GROWTH)
    return sorted(steps)


class _Reporter:
    """Forwards the objective's points to Tune at the report steps."""

    def __init__(self, setup: TrialSetup, name: str):
        self.aliases = set(trials.metric_aliases(setup.metric_name))
        self.name = name
        self.intermediate = setup.intermediate
        self.schedule = report_steps(setup.milestones)
        self.max_step = setup.max_resource  # the final report covers the last step
        self.next = 0
        self.last_step = 0
        self.last_value: float | None = None
        self.stopped = False  # Tune asked this trial to stop

    def __call__(self, metric: str, value: float, step: int) -> None:
        if metric not in self.aliases:
            return
        self.last_step, self.last_value = step, value
        if not self.intermediate or (self.max_step and step >= self.max_step):
            return
        while self.next < len(self.schedule) and self.schedule[self.next] < step:
            self.next += 1
        if self.next < len(self.schedule) and self.schedule[self.next] == step:
            self.next += 1
            self.report(value, step)

    def report(self, value: float, step: int, **extra) -> None:
        from ray import tune

        try:
            tune.report({"objective": value, "step": step, "training_job": self.name, **extra})
        except SystemExit:  # Tune stops this trial: the scheduler cut it at this step
            self.stopped = True
            raise JobStopped(
                f"stopped early by the tuning job at step {step} "
                f"({sorted(self.aliases)[0]}={value:.6g})"
            ) from None


class _MetricsPoller(threading.Thread):
    """Reads a Ray Train trial's saved metric series (rank 0 saves it every few seconds) and
    feeds new points to the reporter, so schedulers see multi-worker trials too."""

    def __init__(self, store, key: str, reporter: _Reporter, interval_s: float = 1.0):
        super().__init__(name="raymaker-trial-metrics", daemon=True)
        self.store, self.key, self.reporter, self.interval_s = store, key, reporter, interval_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        from raymaker.train.metrics import read_series

        seen = 0
        while not self._stop_event.wait(self.interval_s):
            try:
                points = read_series(self.store, self.key)
            except Exception:  # noqa: BLE001 - a half-written file: read it next time
                continue
            for point in points[seen:]:
                try:
                    self.reporter(point["name"], point["value"], point["step"])
                except JobStopped:
                    return  # Tune stops the trial's actor, and the worker group with it
            seen = len(points)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def run_trial(config: dict, setup: TrialSetup) -> None:
    """The Tune function trainable: train one configuration as a training job."""
    reporter = _run_trial(config, setup)
    if reporter.stopped:
        # Tune's stop arrives as SystemExit and must leave the same way: a function that
        # returns after it reports once more, blocks, and its actor cannot be reused
        raise SystemExit(0)


def _run_trial(config: dict, setup: TrialSetup) -> _Reporter:
    from ray import tune

    from raymaker.jobs.records import JobStatus, read_record, write_record
    from raymaker.jobs.runner import run_spec
    from raymaker.specs import parse_spec
    from raymaker.specs.jobs import ParameterRange
    from raymaker.storage import layout, store_for_settings
    from raymaker.train.metrics import listening
    from raymaker.train.workers import plan_for
    from raymaker.tuning.space import SearchSpace

    store = store_for_settings(setup.settings)
    _, name = trials.claim_number(store, setup.tuning, tune.get_context().get_trial_id())
    ranges = {k: ParameterRange.model_validate(v) for k, v in setup.ranges.items()}
    hyperparameters = SearchSpace(ranges).to_hyperparameters(config)
    spec = parse_spec(_trial_body(setup, name, hyperparameters))
    reporter = _Reporter(setup, name)

    existing = _existing(store, name)
    if existing is not None and existing.status == JobStatus.SUCCEEDED:
        # finished before the tuning driver was lost: its result stands, nothing re-runs
        _report_final(reporter, existing, setup)
        return reporter
    if existing is not None and not existing.status.terminal:
        existing.status, existing.ended_at = JobStatus.STOPPED, time.time()
        existing.failure_reason = "interrupted: the tuning job's driver was lost"
        write_record(store, existing)

    poller = None
    if setup.intermediate and not plan_for(spec, setup.settings).runs_in_driver():
        # rank 0 of a Ray Train worker group records the metrics in another process
        poller = _MetricsPoller(store, layout.job_metrics(name), reporter)
        poller.start()
    try:
        with listening(reporter):
            record = run_spec(
                spec, name=name, settings=setup.settings, store=store,
                resume=existing is not None, parent=setup.tuning,
            )  # fmt: skip
    finally:
        if poller is not None:
            poller.stop()
    if record.status == JobStatus.STOPPED and record.failure_reason.startswith("stopped early"):
        record.result = {
            "metrics": {setup.metric_name: reporter.last_value},
            "steps": reporter.last_step,
        }
        write_record(store, record)
        return reporter  # Tune already counts this trial as stopped by its scheduler
    if record.status != JobStatus.SUCCEEDED:
        raise TrialFailed(f"training job {name} {record.status.value}: {record.failure_reason}")
    if not reporter.last_step:  # trained in other processes (Ray Train): the saved series
        reporter.last_step = _last_step(store, layout.job_metrics(name), reporter.aliases)
    record.result["steps"] = reporter.last_step or None
    write_record(store, read_record(store, name).model_copy(update={"result": record.result}))
    _report_final(reporter, record, setup)
    return reporter


def _report_final(reporter: _Reporter, record, setup: TrialSetup) -> None:
    metrics = record.result.get("metrics") or {}
    value = trials.objective_of(metrics, setup.metric_name)
    if value is None:
        reported = ", ".join(sorted(metrics)) or "none"
        raise TrialFailed(
            f"training job {record.name} never reported the objective metric "
            f"{setup.metric_name!r}; metrics it reported: {reported}"
        )
    step = max(record.result.get("steps") or 0, reporter.last_step, 1)
    with contextlib.suppress(JobStopped):  # a scheduler may "stop" a trial at its last step
        reporter.report(value, step, final=True)


def _trial_body(setup: TrialSetup, name: str, hyperparameters: dict) -> dict:
    from raymaker.storage import join

    body = dict(setup.template)
    hps = {**body.get("hyperparameters", {}), **hyperparameters}
    if setup.resource and setup.max_resource:
        hps[setup.resource] = setup.max_resource
    body.update(kind="TrainingJob", name=name, hyperparameters=hps)
    if body.get("checkpoint_uri"):  # each trial keeps its own checkpoints
        body["checkpoint_uri"] = join(body["checkpoint_uri"], name)
    return body


def _last_step(store, key: str, names) -> int:
    from raymaker.train.metrics import read_series

    return max((p["step"] for p in read_series(store, key) if p["name"] in names), default=0)


def _existing(store, name: str):
    from raymaker.errors import NotFound
    from raymaker.jobs.records import read_record

    try:
        return read_record(store, name)
    except NotFound:
        return None
