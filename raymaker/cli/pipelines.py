"""``raymaker pipelines list | describe | start | executions | steps | stop | retry | graph``.

A pipeline is saved by ``Pipeline.upsert()`` or by ``raymaker submit pipeline.yaml`` (which
also starts an execution); an execution's id is its job's name."""

from __future__ import annotations

import contextlib
import time

import click

from raymaker.cli.common import session, wait_for, write_page
from raymaker.cli.render import emit, output_option


def register(cli: click.Group) -> None:
    cli.add_command(pipelines)


@click.group()
def pipelines():
    """SageMaker Pipelines: list, describe, start, executions, steps, stop, retry, graph."""


@pipelines.command("list")
@output_option
def pipelines_list(output):
    """The saved pipelines, latest changed first."""
    emit(
        session().pipelines.list(),
        output,
        columns=["name", "version", "steps", "last_execution", "updated_at"],
    )


@pipelines.command("describe")
@click.argument("name")
@output_option
def pipelines_describe(name, output):
    """A pipeline (its parameters, steps, latest executions), or an execution (its status
    and steps, with each cache hit or the reason it missed)."""
    from raymaker.errors import NotFound

    sess = session()
    try:
        emit(sess.pipelines.describe(name), output)
        return
    except NotFound:
        pass
    state = sess.pipelines.execution(name)
    if output == "table":
        click.echo(
            f"execution {state['execution']} of pipeline {state['pipeline']}: {state.get('status')}"
        )
        if state.get("failure_reason"):
            click.echo(f"failure: {state['failure_reason']}")
        if state.get("parameters"):
            click.echo(
                "parameters: " + ", ".join(f"{k}={v}" for k, v in state["parameters"].items())
            )
        emit([_step_row(s) for s in _in_order(state)], output)
        return
    emit(state, output)


@pipelines.command("start")
@click.argument("name")
@click.option(
    "--parameter",
    "-p",
    "parameters",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter's value (repeatable).",
)
@click.option("--display-name", default=None)
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option("--timeout", type=float, default=None)
@output_option
def pipelines_start(name, parameters, display_name, wait, timeout, output):
    """Start an execution of pipeline NAME."""
    values = {}
    for item in parameters:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: give NAME=VALUE", param_hint="--parameter")
        values[key] = value
    sess = session()
    handle = sess.pipelines.start(name, values, display_name=display_name)
    click.echo(f"started execution {handle.name}", err=True)
    if wait:
        _wait(handle, timeout)
    _show(sess, handle.name, output)


@pipelines.command("executions")
@click.argument("name")
@output_option
def pipelines_executions(name, output):
    """The executions of pipeline NAME, newest first."""
    emit(
        session().pipelines.executions(name),
        output,
        columns=["name", "status", "created", "duration_s", "display_name"],
    )


@pipelines.command("steps")
@click.argument("execution")
@output_option
def pipelines_steps(execution, output):
    """The steps of EXECUTION: status, time, attempts, cache hit (or why it missed), job."""
    state = session().pipelines.execution(execution)
    rows = _in_order(state)
    emit([_step_row(s) for s in rows] if output == "table" else rows, output)


@pipelines.command("stop")
@click.argument("execution")
@output_option
def pipelines_stop(execution, output):
    """Stop EXECUTION and the step jobs it runs."""
    state = session().pipelines.stop(execution)
    click.echo(f"execution {execution}: {state.get('status')}", err=True)


@pipelines.command("retry")
@click.argument("execution")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option("--timeout", type=float, default=None)
@output_option
def pipelines_retry(execution, wait, timeout, output):
    """Run a failed (or stopped) EXECUTION again from its failed step, keeping the steps
    that succeeded."""
    sess = session()
    handle = sess.pipelines.retry(execution)
    click.echo(f"retrying execution {handle.name}", err=True)
    if wait:
        _wait(handle, timeout)
    _show(sess, handle.name, output)


@pipelines.command("graph")
@click.argument("name")
@click.option("--out", "-o", "path", default=None, help="The HTML file (default NAME.html).")
def pipelines_graph(name, path):
    """The graph of a pipeline or an execution (status, time, cache hit a step) as an HTML
    page with an SVG picture."""
    write_page(path or f"{name}.html", session().pipelines.picture(name))


def _wait(handle, timeout) -> None:
    from raymaker.errors import JobFailed

    with contextlib.suppress(JobFailed):  # the steps shown say what failed, the exit code too
        wait_for(handle, timeout=timeout)


def _show(sess, execution: str, output: str) -> None:
    state = sess.pipelines.execution(execution)
    if output == "table":
        click.echo(
            f"execution {execution}: {state.get('status')}"
            + (f": {state['failure_reason']}" if state.get("failure_reason") else "")
        )
        emit([_step_row(s) for s in _in_order(state)], output)
    else:
        emit(state, output)
    if state.get("status") in ("Failed", "Stopped"):
        raise SystemExit(1)


def _in_order(state: dict) -> list[dict]:
    rows = [s for s in state.get("steps", {}).values() if s.get("StepStatus") != "NotExecuted"]
    return sorted(rows, key=lambda s: s.get("StartTime") or 0)


def _step_row(s: dict) -> dict:
    start, end = s.get("StartTime"), s.get("EndTime")
    cache = (
        "hit"
        if s.get("CacheHitResult")
        else ("miss: " + s["CacheMiss"] if s.get("CacheMiss") else "")
    )
    return {
        "step": s["StepName"],
        "status": s.get("StepStatus"),
        "started": time.strftime("%H:%M:%S", time.localtime(start)) if start else "",
        "seconds": round(end - start, 2) if start and end else "",
        "attempts": s.get("AttemptCount", ""),
        "cache": cache,
        "job": s.get("RaymakerJob") or (s.get("CacheHitResult") or {}).get("SourceJob", ""),
        "failure": s.get("FailureReason") or "",
    }
