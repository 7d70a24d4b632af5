"""Monitoring schedules' desired state in the store, and the executions they are due.

``monitoring/<name>/schedule.json`` holds the spec, whether it is Scheduled or Stopped, when
it began (``rate`` intervals count from then) and the last run time handed out. The scheduler
(``raymaker.monitor.scheduler``) reads it; so does ``cluster up``'s reconcile. A run whose time
passed while nothing was running (the head was down) is handed out once, not once per missed
interval.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from raymaker.errors import NotFound
from raymaker.specs.cron import parse_schedule
from raymaker.specs.monitor import MonitoringExecution, MonitoringSchedule, offset_seconds
from raymaker.storage import layout

SCHEDULED, STOPPED = "Scheduled", "Stopped"
MAX_CATCH_UP = 100_000  # cron steps walked to find the latest missed run


class ScheduleState(BaseModel):
    """One schedule's stored state."""

    model_config = ConfigDict(extra="ignore")

    name: str
    spec: dict
    status: str = SCHEDULED
    created_at: float
    updated_at: float
    origin: float  # rates count from here
    last_scheduled: float | None = None  # the last run time handed out
    last_execution: str | None = None
    failure_reason: str | None = None

    @property
    def schedule(self) -> MonitoringSchedule:
        return MonitoringSchedule.model_validate(self.spec)

    def schedule_kind(self) -> str:
        """cron, rate or now."""
        return parse_schedule(self.schedule.schedule_cron_expression).kind


def read_state(store, name: str) -> ScheduleState:
    """The state of schedule ``name``. Raises NotFound."""
    try:
        return ScheduleState.model_validate(store.read_json(layout.schedule_state(name)))
    except NotFound:
        raise NotFound(f"monitoring schedule {name!r} does not exist") from None


def write_state(store, state: ScheduleState) -> None:
    state.updated_at = time.time()
    store.write_json(layout.schedule_state(state.name), state.model_dump(mode="json"))


def list_states(store) -> list[ScheduleState]:
    out = []
    if not store.exists(layout.MONITORING):
        return out
    for key in store.list(layout.MONITORING):
        name = key.rstrip("/").rsplit("/", 1)[-1]
        try:
            out.append(read_state(store, name))
        except (NotFound, ValueError):
            continue  # a folder without a schedule (only executions left) is not one
    return sorted(out, key=lambda s: s.name)


def apply(store, spec: MonitoringSchedule, now: float | None = None) -> ScheduleState:
    """Create or update a schedule (an update keeps its run history and status)."""
    now = time.time() if now is None else now
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data["kind"] = spec.kind
    try:
        state = read_state(store, spec.name)
        state.spec, state.failure_reason = data, None
        if parse_schedule(spec.schedule_cron_expression).kind != state.schedule_kind():
            state.origin, state.last_scheduled = now, None
    except NotFound:
        state = ScheduleState(name=spec.name, spec=data, created_at=now, updated_at=now, origin=now)
    write_state(store, state)
    return state


def due(state: ScheduleState, now: float) -> float | None:
    """The latest run time at or before ``now`` not yet handed out (None: nothing due)."""
    if state.status != SCHEDULED:
        return None
    expr = parse_schedule(state.schedule.schedule_cron_expression)
    after = state.last_scheduled if state.last_scheduled is not None else state.origin - 1e-3
    first = expr.next_after(after, state.origin)
    if first is None or first > now:
        return None
    if expr.kind == "rate":  # the latest missed interval, in one step
        return state.origin + ((now - state.origin) // expr.seconds) * expr.seconds
    latest = first
    for _ in range(MAX_CATCH_UP):
        nxt = expr.next_after(latest, state.origin)
        if nxt is None or nxt > now:
            break
        latest = nxt
    return latest


def execution_spec(state: ScheduleState, at: float, *, on_demand: bool = False):
    """``(job name, MonitoringExecution spec)`` of the run at ``at``: its window is the
    schedule's offsets from ``at``, by default the interval before it."""
    sched = state.schedule
    expr = parse_schedule(sched.schedule_cron_expression)
    if sched.data_analysis_start_time is not None:
        start = at + offset_seconds(sched.data_analysis_start_time)
    else:
        start = at - expr.interval(at, state.origin)
    end = at + offset_seconds(sched.data_analysis_end_time or "PT0H")
    if on_demand:
        start = min(start, end - 1.0)
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d-%H%M%S")
    suffix = f"-{secrets.token_hex(2)}" if on_demand else ""
    name = f"{state.name[: 63 - len(stamp) - len(suffix) - 1]}-{stamp}{suffix}"
    spec = MonitoringExecution(
        name=name, schedule=state.name, scheduled_time=at, start=start, end=max(end, start + 1)
    )
    return name, spec


def set_status(store, name: str, status: str) -> ScheduleState:
    """Start (Scheduled) or stop (Stopped) a schedule; a start does not replay the runs
    missed while it was stopped. Raises NotFound."""
    state = read_state(store, name)
    if status == SCHEDULED and state.status != SCHEDULED:
        state.last_scheduled = time.time()
    state.status = status
    write_state(store, state)
    return state


def delete(store, name: str) -> None:
    """Delete a schedule (its executions' files and records stay). Raises NotFound."""
    read_state(store, name)
    store.delete(layout.schedule_state(name))


def executions(jobs, name: str) -> list:
    """The job records of a schedule's executions, oldest first."""
    found = [
        r for r in jobs.list(kind="MonitoringExecution") if (r.spec or {}).get("schedule") == name
    ]
    return sorted(found, key=lambda r: r.created_at or 0)
