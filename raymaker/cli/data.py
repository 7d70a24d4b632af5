"""``raymaker data ...``: move data in and out of the store, profile it."""

from __future__ import annotations

import os

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option


def register(cli: click.Group) -> None:
    cli.add_command(data)


@click.group()
def data():
    """Move data in and out of the store, and profile it."""


@data.command("upload")
@click.argument("path", type=click.Path(exists=True))
@click.option("--key-prefix", default="data", show_default=True,
              help="Its key in the store (jobs/, models/... go under data/).")  # fmt: skip
def data_upload(path, key_prefix):
    """Upload a file or folder; print its URI."""
    click.echo(session().upload_data(path, key_prefix=key_prefix))


@data.command("download")
@click.argument("uri")
@click.argument("dest", type=click.Path(file_okay=False))
def data_download(uri, dest):
    """Download an object or prefix into a local folder."""
    for path in session().download(uri, dest):
        click.echo(path)


@data.command("profile")
@click.argument("uri")
@click.option("--target", help="The label column: adds target analysis and importance.")
@click.option("--name", help="Profile name (default: profile-<time>).")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), help="Input format."
)
@click.option("--no-header", is_flag=True, help="CSV files have no header line.")
@click.option("--on-bad-lines", type=click.Choice(["error", "skip"]), default="error",
              show_default=True,
              help="A malformed CSV row: stop with its line, or skip it.")  # fmt: skip
@click.option("--local", is_flag=True, help="Profile in this process with pandas (small data).")
@click.option("--out", type=click.Path(file_okay=False), help="Also write the report here.")
@output_option
def data_profile(uri, target, name, fmt, no_header, on_bad_lines, local, out, output):
    """Profile a data set: types, missing values, distributions, warnings (HTML + JSON)."""
    sess = session()
    saved = sess.profile(
        uri, target=target, name=name, local=local, format=fmt, header=not no_header,
        on_bad_lines=on_bad_lines,
    )  # fmt: skip
    if out:
        os.makedirs(out, exist_ok=True)
        for key in ("json", "html"):
            sess.download_data(saved[key], out)
    report = saved["report"]
    if output != "table":
        emit(report, output)
        return
    click.echo(f"{report['rows']} rows, {len(report['columns'])} columns, "
               f"{report['duplicate_rows']} duplicate rows")  # fmt: skip
    for warning in report["warnings"]:
        click.echo(f"  ! {warning['kind']}: {warning['message']}")
    click.echo(f"report: {saved['html']}")
