"""What every command group shares: the session, waiting on a job with progress, pages."""

from __future__ import annotations

import sys
import time

import click

from raymaker.cli import render
from raymaker.cli.render import emit


def session():
    """The SDK session every command works through (the CLI reaches no engine directly)."""
    from raymaker.sagemaker.session import Session

    return Session()


def write_page(path: str, html: str, *, plotly: bool = False) -> None:
    """Write a page; with ``plotly``, Plotly's library beside it (the page loads
    ``plotly.min.js`` from its own folder: it opens offline)."""
    import os

    with open(path, "w", encoding="utf-8") as f:
        f.write(html)
    if plotly:
        asset = os.path.join(os.path.dirname(os.path.abspath(path)), "plotly.min.js")
        if not os.path.exists(asset):
            from plotly.offline import get_plotlyjs

            with open(asset, "w", encoding="utf-8") as f:
                f.write(get_plotlyjs())
    click.echo(f"wrote {path}", err=True)


def wait_and_show(handle, *, timeout: float | None, logs: bool, output: str) -> None:
    """Wait for a job (a progress line on a terminal, or its streamed output) and print its
    record. Ctrl-C says the job still runs and how to stop it (exit 130)."""
    wait_for(handle, timeout=timeout, logs=logs)
    emit(handle.describe().model_dump(mode="json", exclude={"spec"}), output)


def wait_for(handle, *, timeout: float | None, logs: bool = False) -> None:
    """Wait for a job, showing progress on a terminal; Ctrl-C says what still runs (exit 130).
    Raises JobFailed (JobStopped) when it did not succeed."""
    try:
        if not logs and sys.stderr.isatty():
            show_progress(handle, timeout)
        handle.wait(timeout=timeout, logs=logs)
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: job {handle.name} is still running; follow it with "
            f"`raymaker jobs logs -f {handle.name}`, stop it with `raymaker jobs stop "
            f"{handle.name}`",
            err=True,
        )
        sys.exit(130)


def show_progress(handle, timeout) -> None:
    """A one-line progress display on a terminal, from the job record, until the job ends."""
    spinner = "|/-\\"
    start = time.monotonic()
    tick = 0
    while timeout is None or time.monotonic() - start < timeout:
        record = handle.describe()
        progress = record.progress or {}
        stage = progress.get("stage", record.status.value.lower())
        extra = " ".join(
            f"{k}={v}" for k, v in progress.items() if k not in ("stage", "done", "total")
        )
        bar = render.progress_bar(progress.get("done"), progress.get("total"))
        line = (
            f"{spinner[tick % 4]} {record.name}: {stage} {bar}{extra} "
            f"({time.monotonic() - start:.0f} s)"
        )
        click.echo(f"\r{line[:100]:<100}", nl=False, err=True)
        if record.status.terminal:
            break
        tick += 1
        time.sleep(0.5)
    click.echo("", err=True)
