"""The monitoring scheduler: one detached Ray actor on the head that submits executions.

Every ``TICK_S`` it reads the schedules' state from the store (the only state it has: a
restarted actor or head picks up where the store says) and submits, for each schedule with a
run due, one ``MonitoringExecution`` job over that run's window, named by its time, so two
schedulers could never run the same window twice (the job name is claimed atomically). A
run due while nothing was running is submitted once on return, not once per missed interval.

``cluster up`` restores it through the kind table's ``reconcile`` row whenever a schedule is
Scheduled; applying a schedule starts it.
"""

from __future__ import annotations

import threading
import time

from raymaker.errors import ClusterError, Conflict

NAMESPACE = "raymaker"
ACTOR = "raymaker-monitor-scheduler"
TICK_S = 1.0
GAUGES_EVERY = 5  # ticks between refreshes of the Prometheus gauges


class Scheduler:
    """The actor class: ``tick`` runs on a thread of its own every ``TICK_S``."""

    def __init__(self, env: dict[str, str]):
        import ray

        from raymaker.jobs.client import JobsClient
        from raymaker.settings import Settings
        from raymaker.storage import store_for_settings

        gcs = ray.get_runtime_context().gcs_address
        self.settings = Settings.from_env(env).replace(ray_address=gcs)
        self.store = store_for_settings(self.settings)
        self.jobs = JobsClient(self.settings, self.store)
        self.submitted: list[str] = []
        self.errors: dict[str, str] = {}
        self.gauges = None
        threading.Thread(target=self._loop, daemon=True, name="monitor-scheduler").start()

    def _loop(self) -> None:
        ticks = 0
        while True:
            try:
                self.tick()
                if ticks % GAUGES_EVERY == 0:
                    self._gauges()
            except Exception as e:  # noqa: BLE001 - a bad tick is reported, the loop goes on
                self.errors["<tick>"] = f"{type(e).__name__}: {e}"
            ticks += 1
            time.sleep(TICK_S)

    def _gauges(self) -> None:
        from raymaker.monitor.gauges import Gauges

        if self.gauges is None:
            self.gauges = Gauges()
        self.gauges.publish(self.store)

    def tick(self, now: float | None = None) -> list[str]:
        """Submit every due run; returns the jobs submitted."""
        return submit_due(self.jobs, self.store, time.time() if now is None else now,
                          self.submitted, self.errors)  # fmt: skip

    def status(self) -> dict:
        return {"submitted": self.submitted[-20:], "errors": dict(self.errors)}


def submit_due(jobs, store, now: float, submitted: list | None = None,
               errors: dict | None = None) -> list[str]:  # fmt: skip
    """Submit one execution for each Scheduled schedule with a run due at ``now``."""
    from raymaker.monitor import schedules

    out = []
    for state in schedules.list_states(store):
        try:
            at = schedules.due(state, now)
            if at is None:
                continue
            name, spec = schedules.execution_spec(state, at)
            previous = (state.last_scheduled, state.status)
            state.last_scheduled = at
            if state.schedule_kind() == "now":
                state.status = schedules.STOPPED  # a one-time schedule is done once handed out
            schedules.write_state(store, state)  # before submitting: never twice
            try:
                # resume: a run whose submission failed (its record FAILED before Ray had it)
                # is submitted again in place; one that ran or runs is a Conflict
                jobs.submit(spec, name=name, resume=True)
            except Conflict:
                continue  # this run was already submitted
            except ClusterError:
                # Ray did not take it (a head still starting, a stale dashboard address):
                # hand the run out again next tick, from a freshly resolved address
                jobs.reset()
                state.last_scheduled, state.status = previous
                schedules.write_state(store, state)
                raise
            out.append(name)
            if errors is not None:
                errors.pop(state.name, None)
        except Exception as e:  # noqa: BLE001 - one schedule's failure does not stop others
            if errors is not None:
                errors[state.name] = f"{type(e).__name__}: {e}"
    if submitted is not None:
        submitted.extend(out)
    return out


def ensure_scheduler(settings) -> None:
    """Start the scheduler actor on the head unless it runs (this process joins Ray)."""
    import ray

    from raymaker.cluster.connect import connect

    connect(settings)
    try:
        ray.get_actor(ACTOR, namespace=NAMESPACE)
        return
    except ValueError:
        pass
    ray.remote(Scheduler).options(
        name=ACTOR,
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=0,
        resources={"node:__internal_head__": 0.001},
        max_restarts=-1,
        max_concurrency=4,
    ).remote(settings.job_env())


def scheduler_status(settings) -> dict | None:
    """The running scheduler's last submissions and errors (None: it is not running)."""
    import ray

    from raymaker.cluster.connect import connect

    connect(settings)
    try:
        actor = ray.get_actor(ACTOR, namespace=NAMESPACE)
    except ValueError:
        return None
    return ray.get(actor.status.remote(), timeout=30)


def reconcile_schedules(settings, store) -> dict:
    """The ``MonitoringSchedule`` kind's reconcile: start the scheduler when any schedule is
    Scheduled (it then submits, once, each run missed while the head was down)."""
    from raymaker.monitor import schedules

    active = [s.name for s in schedules.list_states(store) if s.status == schedules.SCHEDULED]
    if not active:
        return {"restored": [], "failed": {}}
    try:
        ensure_scheduler(settings)
    except Exception as e:  # noqa: BLE001 - reported per schedule, not fatal to cluster up
        return {"restored": [], "failed": {n: f"{type(e).__name__}: {e}" for n in active}}
    return {"restored": active, "failed": {}}
