"""``raymaker experiments list | runs | compare | sync | ui``: the MLflow experiments every
job is tracked in. ``ui`` runs MLflow's own UI and server on the configured store."""

from __future__ import annotations

import os
import subprocess

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option


def register(cli: click.Group) -> None:
    cli.add_command(experiments)


@click.group()
def experiments():
    """MLflow experiments and runs (every job is a run): list, runs, compare, sync, ui."""


@experiments.command("list")
@output_option
def experiments_list(output):
    """The experiments in the tracking store."""
    emit(session().experiments.list(), output,
         columns=["experiment", "experiment_id", "created_at", "stage"])  # fmt: skip


@experiments.command("runs")
@click.argument("experiment", required=False)
@click.option("--max", "max_results", type=int, default=100, show_default=True)
@output_option
def experiments_runs(experiment, max_results, output):
    """The runs of EXPERIMENT (default: raymaker), newest first."""
    rows = session().experiments.runs(experiment, max_results=max_results)
    if output == "table":
        rows = [_row(r) for r in rows]
    emit(rows, output)


def _row(run: dict) -> dict:
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(run["metrics"].items())[:4])
    return {
        "run_name": run["run_name"],
        "status": run["status"],
        "job": run["job"] or "",
        "started_at": run["started_at"],
        "metrics": metrics,
        "run_id": run["run_id"],
    }


@experiments.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--experiment", "-e", default=None, help="Look names up in this experiment.")
@output_option
def experiments_compare(runs, experiment, output):
    """Parameters and metrics of RUNS (run ids, job names or run names) side by side."""
    emit(session().experiments.compare(list(runs), experiment), output)


@experiments.command("sync")
@output_option
def experiments_sync(output):
    """Send what jobs spooled while their tracking server was away."""
    emit(session().experiments.sync(), output)


@experiments.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--token", default=None, envvar="RAYMAKER_MLFLOW_UI_TOKEN",
              help="Required beyond loopback: the password of user 'admin'.")  # fmt: skip
def experiments_ui(host, port, token):
    """Run MLflow's UI on the tracking store until Ctrl-C."""
    sess = session()
    argv, env = sess.experiments.ui_command(host=host, port=port, token=token)
    click.echo(f"MLflow UI on {sess.experiments.uri}: http://{host}:{port} (Ctrl-C stops it)",
               err=True)  # fmt: skip
    log = os.path.join(str(sess.settings.home), "mlflow-ui.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "ab") as sink:
        proc = subprocess.Popen(argv, env=env, stdout=sink, stderr=sink)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
        click.echo("stopped the MLflow UI", err=True)
        raise SystemExit(130) from None
    with open(log, encoding="utf-8", errors="replace") as f:
        tail = [line for line in f.read().splitlines() if line.strip()][-5:]
    click.echo(f"the MLflow UI exited ({code}); the end of {log}:", err=True)
    click.echo("\n".join(tail), err=True)
    raise SystemExit(code or 1)
