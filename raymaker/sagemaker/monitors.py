"""Monitoring schedules of one session: what ``raymaker monitors ...`` and the monitor classes
call (``Session.monitors``).

Applying a schedule is a job (it starts the scheduler on the head); start, stop and delete
only change the stored state, which the scheduler reads each second; ``run`` submits one
execution now, over the window that ends now.
"""

from __future__ import annotations

import time


class Monitors:
    """list, describe, apply, run, executions, violations, start, stop, delete."""

    def __init__(self, session):
        self.session = session

    @property
    def store(self):
        return self.session.store

    def apply(self, spec, *, wait: bool = True, timeout: float | None = 300):
        """Create or update a schedule (a MonitoringSchedule spec or dict); returns the
        apply job's handle. Raises SpecError before anything is submitted."""
        return self.session.jobs.submit(spec, wait=wait, timeout=timeout)

    def list(self) -> list[dict]:
        from raymaker.monitor import schedules

        return [self._summary(s) for s in schedules.list_states(self.store)]

    def describe(self, name: str) -> dict:
        """SageMaker's DescribeMonitoringSchedule fields. Raises NotFound."""
        from raymaker.monitor import schedules

        state = schedules.read_state(self.store, name)
        sched = state.schedule
        out = {
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": state.status,
            "MonitoringType": sched.monitor_type,
            "CreationTime": _date(state.created_at),
            "LastModifiedTime": _date(state.updated_at),
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {
                    "ScheduleExpression": sched.schedule_cron_expression,
                    "DataAnalysisStartTime": sched.data_analysis_start_time,
                    "DataAnalysisEndTime": sched.data_analysis_end_time,
                },
                "MonitoringType": sched.monitor_type,
                "BaselineConfig": {
                    "StatisticsResource": {"S3Uri": sched.baseline_statistics},
                    "ConstraintsResource": {"S3Uri": sched.baseline_constraints},
                },
                "Output": self._output(sched),
            },
            "Spec": state.spec,
        }
        if sched.endpoint:
            out["EndpointName"] = sched.endpoint
        if state.failure_reason:
            out["FailureReason"] = state.failure_reason
        if state.last_execution:  # its one record, not every job's
            from raymaker.errors import NotFound
            from raymaker.jobs.records import read_record

            try:
                record = read_record(self.store, state.last_execution)
                out["LastMonitoringExecutionSummary"] = _execution(record)
            except NotFound:
                pass
        return out

    def run(self, name: str, *, wait: bool = True, timeout: float | None = 600):
        """Run one execution now (its window: the schedule's, ending now); returns the job's
        handle. Raises NotFound, and with ``wait`` JobFailed."""
        from raymaker.monitor import schedules

        state = schedules.read_state(self.store, name)
        job, spec = schedules.execution_spec(state, time.time(), on_demand=True)
        return self.session.jobs.submit(spec, name=job, wait=wait, timeout=timeout)

    def executions(self, name: str) -> list[dict]:
        """SageMaker's MonitoringExecutionSummary of each execution, oldest first."""
        from raymaker.monitor import schedules

        schedules.read_state(self.store, name)
        return [_execution(r) for r in schedules.executions(self.session.jobs, name)]

    def violations(self, name: str, execution: str | None = None) -> dict:
        """The violations of an execution (default: the latest that finished). Raises
        NotFound when there is none."""
        from raymaker.errors import NotFound

        done = [e for e in self.executions(name) if e.get("ConstraintViolations")]
        if execution:
            done = [e for e in done if e["ProcessingJobName"] == execution]
        if not done:
            raise NotFound(f"monitoring schedule {name!r} has no finished execution"
                           + (f" named {execution!r}" if execution else ""))  # fmt: skip
        latest = done[-1]
        body = self.store.read_json(self.store.key(latest["ConstraintViolations"]))
        return {"execution": latest["ProcessingJobName"], **body}

    def start(self, name: str) -> dict:
        from raymaker.monitor import schedules

        return self._summary(schedules.set_status(self.store, name, schedules.SCHEDULED))

    def stop(self, name: str) -> dict:
        from raymaker.monitor import schedules

        return self._summary(schedules.set_status(self.store, name, schedules.STOPPED))

    def delete(self, name: str) -> None:
        from raymaker.monitor import schedules

        schedules.delete(self.store, name)

    def _output(self, sched) -> dict:
        from raymaker.storage import layout

        root = sched.output_uri or self.store.uri(layout.schedule_executions(sched.name))
        return {"S3Uri": root}

    def _summary(self, state) -> dict:
        sched = state.schedule
        return {
            "MonitoringScheduleName": state.name,
            "MonitoringScheduleStatus": state.status,
            "MonitoringType": sched.monitor_type,
            "EndpointName": sched.endpoint,
            "ScheduleExpression": sched.schedule_cron_expression,
            "CreationTime": _date(state.created_at),
            "LastExecution": state.last_execution,
        }


def _execution(record) -> dict:
    """A job record as SageMaker's MonitoringExecutionSummary (plus its figures)."""
    result = record.result or {}
    status = record.status.value
    if status == "SUCCEEDED":
        status = "CompletedWithViolations" if result.get("violations") else "Completed"
    out = {
        "MonitoringScheduleName": (record.spec or {}).get("schedule"),
        "ProcessingJobName": record.name,
        "ScheduledTime": _date((record.spec or {}).get("scheduled_time") or record.created_at),
        "CreationTime": _date(record.created_at),
        "MonitoringExecutionStatus": status,
        "Violations": result.get("violations"),
        "Items": result.get("items"),
    }
    for key, name in (("statistics", "Statistics"), ("constraint_violations",
                      "ConstraintViolations"), ("report", "Report")):  # fmt: skip
        if result.get(key):
            out[name] = result[key]
    if record.failure_reason:
        out["FailureReason"] = record.failure_reason
    return out


def _date(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
