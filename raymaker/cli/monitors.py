"""``raymaker baseline | monitors ...``: Model Monitor's baselines and schedules.

A baseline and a schedule's apply are jobs like every other kind; start, stop and delete
change the stored state the scheduler reads; ``run`` submits one execution now.
"""

from __future__ import annotations

import os

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option


def register(cli: click.Group) -> None:
    cli.add_command(monitors)


@click.group()
def monitors():
    """Monitoring schedules: apply, list, describe, run, executions, violations, stop, start,
    delete."""


@monitors.command("apply")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@output_option
def monitors_apply(spec, output):
    """Create or update the schedule of SPEC (kind: MonitoringSchedule), or run a baseline
    (kind: BaselineJob) and print its files."""
    from raymaker.specs import load_spec

    loaded = load_spec(spec)
    if loaded.kind not in ("MonitoringSchedule", "BaselineJob"):
        raise click.UsageError(
            f"{spec} is a {loaded.kind}; apply takes kind: MonitoringSchedule or BaselineJob"
        )
    sess = session()
    handle = sess.jobs.submit(loaded, base_dir=os.path.dirname(os.path.abspath(spec)), wait=True)
    if loaded.kind == "BaselineJob":
        emit({"job": handle.job_name, **handle.result()}, output)
    else:
        emit(sess.monitors.describe(loaded.name) if output != "table"
             else _summary(sess.monitors.list(), loaded.name), output)  # fmt: skip


def _summary(rows: list[dict], name: str) -> dict:
    return next(r for r in rows if r["MonitoringScheduleName"] == name)


@monitors.command("list")
@output_option
def monitors_list(output):
    """Monitoring schedules and their status."""
    emit(session().monitors.list(), output)


@monitors.command("describe")
@click.argument("name")
@output_option
def monitors_describe(name, output):
    """A schedule: its expression, baseline, output and latest execution."""
    desc = session().monitors.describe(name)
    if output != "table":
        emit(desc, output)
        return
    config = desc["MonitoringScheduleConfig"]
    latest = desc.get("LastMonitoringExecutionSummary") or {}
    emit({
        "name": name, "status": desc["MonitoringScheduleStatus"], "type": desc["MonitoringType"],
        "endpoint": desc.get("EndpointName"),
        "schedule": config["ScheduleConfig"]["ScheduleExpression"],
        "statistics": config["BaselineConfig"]["StatisticsResource"]["S3Uri"],
        "constraints": config["BaselineConfig"]["ConstraintsResource"]["S3Uri"],
        "output": config["Output"]["S3Uri"], "created": desc["CreationTime"],
        "last_execution": latest.get("ProcessingJobName"),
        "last_status": latest.get("MonitoringExecutionStatus"),
        "last_violations": latest.get("Violations"),
    }, output)  # fmt: skip


@monitors.command("run")
@click.argument("name")
@click.option("--no-wait", is_flag=True, help="Return once submitted.")
@output_option
def monitors_run(name, no_wait, output):
    """Run NAME once now, over its window ending now; print the execution's summary."""
    sess = session()
    handle = sess.monitors.run(name, wait=not no_wait)
    if no_wait:
        click.echo(f"submitted {handle.job_name}")
        return
    summary = next(e for e in sess.monitors.executions(name)
                   if e["ProcessingJobName"] == handle.job_name)  # fmt: skip
    emit(summary, output)


@monitors.command("executions")
@click.argument("name")
@output_option
def monitors_executions(name, output):
    """NAME's executions, oldest first."""
    rows = session().monitors.executions(name)
    if output == "table":
        rows = [{
            "execution": r["ProcessingJobName"], "scheduled": r["ScheduledTime"],
            "status": r["MonitoringExecutionStatus"], "rows": r.get("Items"),
            "violations": r.get("Violations"), "reason": r.get("FailureReason", ""),
        } for r in rows]  # fmt: skip
    emit(rows, output)


@monitors.command("violations")
@click.argument("name")
@click.option("--execution", default=None, help="This execution (default: the latest).")
@output_option
def monitors_violations(name, execution, output):
    """The constraint violations of NAME's latest (or a given) execution."""
    found = session().monitors.violations(name, execution)
    if output != "table":
        emit(found, output)
        return
    click.echo(f"execution: {found['execution']}")
    emit([{"feature": v["feature_name"], "check": v["constraint_check_type"],
           "description": v["description"]} for v in found["violations"]], output)  # fmt: skip


@monitors.command("stop")
@click.argument("name")
@output_option
def monitors_stop(name, output):
    """Stop NAME's scheduled runs (``run`` still works)."""
    emit(session().monitors.stop(name), output)


@monitors.command("start")
@click.argument("name")
@output_option
def monitors_start(name, output):
    """Schedule NAME's runs again (runs missed while stopped are not replayed)."""
    emit(session().monitors.start(name), output)


@monitors.command("delete")
@click.argument("name")
def monitors_delete(name):
    """Delete schedule NAME (its executions' files and records stay)."""
    session().monitors.delete(name)
    click.echo(f"deleted monitoring schedule {name}")
