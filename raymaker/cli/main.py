"""``raymaker``: the command line. Each group lives in its own module and only renders: it
parses, calls the SDK session (``raymaker.sagemaker``), and prints.

Imports of the API happen inside the commands, so ``raymaker --help`` stays instant. Unless
``--verbose``, the process is quiet (no Ray/Serve log lines) and an error is one line.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from raymaker.cli import (
    automl,
    batch,
    cluster,
    console,
    data,
    endpoints,
    experiments,
    jobs,
    models,
    monitors,
    pipelines,
    tokens,
    tuning,
)
from raymaker.errors import RaymakerError, user_message


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raymaker")
@click.option("--verbose", "-v", is_flag=True, help="Show Ray's log lines and tracebacks.")
def cli(verbose):
    """raymaker: SageMaker's workflow on one Ray cluster."""
    global _verbose
    _verbose = verbose
    if not verbose:
        os.environ.setdefault("RAYMAKER_QUIET", "1")


_verbose = False


for group in (jobs, endpoints, batch, models, tuning, automl, monitors, pipelines, experiments,
              data, cluster, tokens, console):  # fmt: skip
    group.register(cli)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning errors into one-line messages and exit codes."""
    quiet = os.environ.get("RAYMAKER_QUIET")
    try:
        _main(argv)
    finally:  # called in-process (tests, notebooks): leave the environment as it was
        if quiet is None:
            os.environ.pop("RAYMAKER_QUIET", None)
        else:
            os.environ["RAYMAKER_QUIET"] = quiet


def _main(argv) -> None:
    try:
        cli.main(args=argv, prog_name="raymaker", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RaymakerError as exc:
        _verbose_traceback()
        click.echo(f"error: {user_message(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug or an OS error: one line, details on -v
        _verbose_traceback()
        click.echo(f"error: {type(exc).__name__}: {exc} (run with --verbose for details)",
                   err=True)  # fmt: skip
        sys.exit(1)


def _verbose_traceback() -> None:
    if _verbose:
        traceback.print_exc()


if __name__ == "__main__":
    main()
