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
@click.option("--gateway", is_flag=True,
              help="Also serve the pages at the endpoints' gateway's address (one address for "
                   "a cluster); the console then requires a token if the gateway is reached "
                   "beyond loopback.")  # fmt: skip
def console(host, port, gateway):
    """Serve the web console until Ctrl-C."""
    from raymaker.console.server import serve

    sess = session()
    also = ""
    if gateway:
        s = sess.settings
        gw_host = "127.0.0.1" if s.serve_host in ("0.0.0.0", "::") else s.serve_host
        also = f", and at http://{gw_host}:{s.serve_port} through the gateway"

    def ready(url: str) -> None:
        click.echo(f"console at {url}{also} (Ctrl-C stops it)", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        serve(sess, host=host, port=port, gateway=gateway, ready=ready)
    click.echo("console stopped", err=True)
