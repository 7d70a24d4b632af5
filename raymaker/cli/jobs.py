"""``raymaker validate | run | submit | jobs ...``: specs and jobs of every kind."""

from __future__ import annotations

import os
import sys

import click

from raymaker.cli.common import session, wait_and_show, write_page
from raymaker.cli.render import emit, output_option
from raymaker.errors import JobFailed, RaymakerError


def register(cli: click.Group) -> None:
    for command in (validate, run, submit, jobs):
        cli.add_command(command)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(specs):
    """Check spec files; print the field path of every problem."""
    from raymaker.specs import load_spec

    failed = 0
    for path in specs:
        try:
            spec = session().jobs.check(load_spec(path))
        except RaymakerError as exc:
            failed = failed or exc.exit_code
            click.echo(f"{path}: {exc}", err=True)
        else:
            click.echo(f"{path}: ok ({spec.kind}{' ' + spec.name if spec.name else ''})")
    sys.exit(failed)


@click.command()
@click.argument("spec")
@click.option("--name", help="Job name (default: the spec's name, else generated).")
@click.option("--resume", is_flag=True, help="Take over a FAILED/STOPPED job of this name.")
def run(spec, name, resume):
    """Run SPEC (a file or store URI) in this process and record it as a job.

    Every kind takes this path, an Endpoint too (it is applied: created or updated).
    """
    os.environ["RAYMAKER_QUIET"] = "0"  # a job's driver keeps its workers' output in its logs
    record = session().jobs.run(spec, name=name, resume=resume)
    click.echo(f"raymaker: job {record.name} {record.status.value}", err=True)
    if record.status.value != "SUCCEEDED":
        sys.exit(JobFailed.exit_code)


@click.command()
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="Job name (default: the spec's name, else generated).")
@click.option("--wait/--no-wait", default=False, help="Wait for the job to end.")
@click.option("--logs", is_flag=True, help="Stream the job's output (implies --wait).")
@click.option("--timeout", type=float, help="Seconds to wait at most.")
@click.option(
    "--resume", is_flag=True, help="Re-run a FAILED/STOPPED job of this name from its checkpoint."
)
@output_option
def submit(spec, name, wait, logs, timeout, resume, output):
    """Submit SPEC as a Ray Job; relative paths in it are relative to its folder.

    Prints the job's name (stdout); with --wait, its final record.
    """
    from raymaker.specs import load_spec

    handle = session().jobs.submit(
        load_spec(spec), name=name, base_dir=os.path.dirname(os.path.abspath(spec)), resume=resume
    )
    if not (wait or logs):
        if output == "table":
            click.echo(handle.name)
        else:
            emit({"name": handle.name, "status": handle.describe().status.value}, output)
        return
    click.echo(f"submitted job {handle.name}", err=True)
    wait_and_show(handle, timeout=timeout, logs=logs, output=output)


@click.group()
def jobs():
    """List, inspect, follow and stop jobs."""


@jobs.command("list")
@click.option("--status", help="Only jobs in this status.")
@click.option("--kind", help="Only jobs of this kind.")
@output_option
def jobs_list(status, kind, output):
    """All jobs, newest first."""
    records = session().jobs.list(status=status, kind=kind)
    emit([r.summary() for r in records] if output == "table" else records, output)


@jobs.command("describe")
@click.argument("name")
@output_option
def jobs_describe(name, output):
    """A job's record: spec, status, times, traceback, result."""
    record = session().jobs.get(name).describe().model_dump(mode="json")
    if output == "table":  # where the time went, one stage a line, in order
        record["stages"] = {stage: f"{seconds:.2f} s" for stage, seconds in record["stages"]}
    emit(record, output)


@jobs.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
def jobs_logs(name, follow):
    """A job's output."""
    handle = session().jobs.get(name)
    if follow:
        for chunk in handle.stream_logs():
            click.echo(chunk, nl=False)
    else:
        click.echo(handle.logs(), nl=False)


@jobs.command("metrics")
@click.argument("name")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), help="Write an HTML plot here.")
@click.option("--all", "show_all", is_flag=True, help="Every point, not a summary per metric.")
@output_option
def jobs_metrics(name, plot, show_all, output):
    """A training job's metrics: a summary per metric (or every point), optionally plotted."""
    sess = session()
    points = sess.metrics(name)
    if plot:
        write_page(plot, sess.metrics_html(name, points), plotly=True)
    if show_all:
        emit(points, output, columns=["name", "step", "value"])
    else:
        emit(sess.metrics_summary(name, points), output)


@jobs.command("stop")
@click.argument("name")
def jobs_stop(name):
    """Stop a running job."""
    record = session().jobs.get(name).stop()
    click.echo(f"job {name} {record.status.value}")


@jobs.command("wait")
@click.argument("name")
@click.option("--timeout", type=float, help="Seconds to wait at most.")
@click.option("--logs", is_flag=True, help="Stream the job's output while waiting.")
def jobs_wait(name, timeout, logs):
    """Wait for a job to end; exit non-zero if it failed."""
    record = session().jobs.get(name).wait(timeout=timeout, logs=logs)
    click.echo(f"job {name} {record.status.value}")
