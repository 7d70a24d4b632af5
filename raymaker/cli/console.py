"""``raymaker console``: the web console (jobs, endpoints, models, pipelines, monitors,
experiments, data) on this store and cluster."""

from __future__ import annotations

import contextlib

import click

from raymaker.cli.common import session


def register(cli: click.Group) -> None:
    cli.add_command(console)


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Beyond loopback, every request needs a token (`raymaker tokens`).",
)
@click.option("--port", default=8090, show_default=True, type=int)
def console(host, port):
    """Serve the web console until Ctrl-C."""
    from raymaker.console.server import serve

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"console at http://{shown}:{port} (Ctrl-C stops it)", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        serve(session(), host=host, port=port)
    click.echo("console stopped", err=True)
