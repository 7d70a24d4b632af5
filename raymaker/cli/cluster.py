"""``raymaker cluster ... | config | quickstart``: the local head, settings, the main job."""

from __future__ import annotations

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option


def register(cli: click.Group) -> None:
    for command in (cluster, config, quickstart):
        cli.add_command(command)


@click.group()
def cluster():
    """The embedded local Ray head (used when RAY_ADDRESS is not set)."""


@cluster.command("up")
@output_option
def cluster_up(output):
    """Start the local head (no-op if it runs), then restore what the store says should run:
    InService endpoints come back, jobs the restart lost are marked FAILED."""
    s = session()
    state, started = s.cluster.up()
    emit({**state, "started_now": started, **_reconciled(s.reconcile())}, output)


@cluster.command("reconcile")
@click.option(
    "--wait", "wait_s", type=float, default=0.0, show_default=True,
    help="Seconds to wait for a head that is still starting (a start script's use).",
)  # fmt: skip
@output_option
def cluster_reconcile(wait_s, output):
    """Restore what the store says should run on the cluster in use (RAY_ADDRESS or the local
    head): after a head restart, endpoints come back and lost jobs are marked FAILED."""
    emit(_reconciled(session().reconcile(wait_s=wait_s)), output)


def _reconciled(result: dict) -> dict:
    endpoints = result.get("Endpoint") or {}
    schedules = result.get("MonitoringSchedule") or {}
    return {
        "endpoints_restored": ", ".join(endpoints.get("restored", [])) or "-",
        "endpoints_failed": "; ".join(f"{k}: {v}" for k, v in endpoints.get("failed", {}).items())
        or "-",
        "jobs_marked_failed": ", ".join(result.get("jobs_failed", [])) or "-",
        "schedules_restored": ", ".join(schedules.get("restored", [])) or "-",
        "schedules_failed": "; ".join(f"{k}: {v}" for k, v in schedules.get("failed", {}).items())
        or "-",
    }


@cluster.command("down")
def cluster_down():
    """Stop the local head."""
    stopped = session().cluster.down()
    click.echo("stopped" if stopped else "no local cluster was running")


@cluster.command("status")
@output_option
def cluster_status(output):
    """Whether the local head runs, and where."""
    emit(session().cluster.info() or {"running": False}, output)


@cluster.command("env")
def cluster_env():
    """Print shell exports that point Ray's own CLI at the local head.

    Use: eval "$(raymaker cluster env)"; then `ray job submit -- raymaker run spec.yaml` works.
    """
    state = session().cluster.info()
    if state is None:
        raise click.ClickException("no local cluster runs; start one with `raymaker cluster up`")
    click.echo(f"export RAY_ADDRESS={state['dashboard_url']}")
    click.echo("export RAY_AUTH_MODE=token")


@click.command()
@output_option
def config(output):
    """The settings in effect."""
    settings = session().settings
    emit(
        {
            "home": str(settings.home),
            "store": settings.store,
            "s3_endpoint_url": settings.s3_endpoint_url,
            "ray_address": settings.ray_address,
            "num_cpus": settings.num_cpus,
            "object_store_mb": settings.object_store_mb,
        },
        output,
    )


@click.command()
@click.option("--keep-cluster", is_flag=True, help="Leave the local Ray head running.")
@click.option("--rows", default=5000, show_default=True, help="Rows in the generated data set.")
@click.option("--dir", "folder", default="raymaker-quickstart", show_default=True,
              help="Where the example files (train.csv, rows.csv, ...) are written.")  # fmt: skip
def quickstart(keep_cluster, rows, folder):
    """Run the main job end to end on the embedded default and print a summary."""
    from raymaker.quickstart import run_quickstart

    run_quickstart(keep_cluster=keep_cluster, rows=rows, echo=click.echo, folder=folder)
