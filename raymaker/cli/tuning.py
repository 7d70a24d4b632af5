"""``raymaker tuning ...``: hyperparameter tuning jobs, their leaderboards and plots."""

from __future__ import annotations

import click

from raymaker.cli.common import session, write_page
from raymaker.cli.render import emit, output_option, table


def register(cli: click.Group) -> None:
    cli.add_command(tuning)


@click.group()
def tuning():
    """Hyperparameter tuning jobs: leaderboards and plots."""


@tuning.command("list")
@output_option
def tuning_list(output):
    """Tuning jobs, newest first."""
    rows = []
    for r in session().jobs.list(kind="TuningJob"):
        rows.append({
            **r.summary(), "trials": r.result.get("trials"),
            "best_training_job": r.result.get("best_training_job"),
            "best_objective": r.result.get("best_objective"),
        })  # fmt: skip
    emit(rows, output)


@tuning.command("describe")
@click.argument("name")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the HTML plot here.")
@click.option("--top", type=int, default=None, help="Show only the best N trials.")
@output_option
def tuning_describe(name, plot, top, output):
    """A tuning job's leaderboard: every trial, best first, with its hyperparameters."""
    sess = session()
    board = sess.tuning_leaderboard(name)
    if plot:
        write_page(plot, sess.tuning_html(name), plotly=True)
    if output != "table":
        emit(board, output)
        return
    objective = board["objective"]
    metric = objective["metric_name"]
    best = board["best"]
    click.echo(
        f"tuning job {name}: {board['status']}, {len(board['trials'])} trials, "
        f"{objective['type']} {metric}"
    )
    if best:
        click.echo(f"best: {best['training_job']} {metric}={best['objective']:.6g}")
    if board.get("failure_reason"):
        click.echo(f"failure: {board['failure_reason']}")
    rows = []
    for t in board["trials"][:top]:
        rows.append({
            "#": t["number"], "training_job": t["training_job"], "status": t["status"],
            metric: t["objective"], **t["hyperparameters"], "steps": t["steps"],
            "seconds": t["seconds"],
        })  # fmt: skip
    click.echo(table(rows))
