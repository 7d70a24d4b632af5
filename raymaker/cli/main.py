"""``raymaker`` commands. Each one parses its arguments, calls the public API and renders.

Imports of the API happen inside the commands, so ``raymaker --help`` stays instant.
"""

from __future__ import annotations

import sys
import time

import click

from raymaker.cli import render
from raymaker.cli.render import emit, output_option, table
from raymaker.errors import JobFailed, RaymakerError


def _session():
    from raymaker.session import Session

    return Session()


def _write_page(path: str, html: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(html)
    click.echo(f"wrote {path}", err=True)


def _when(record: dict) -> dict:
    out = dict(record)
    for key in ("created_at", "started_at", "ended_at"):
        if isinstance(out.get(key), int | float):
            out[key] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(out[key]))
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raymaker")
def cli():
    """raymaker: SageMaker's workflow on one Ray cluster."""


# -- specs and jobs ---------------------------------------------------------------------------
@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(specs):
    """Check spec files; print the field path of every problem."""
    from raymaker.specs import load_spec

    failed = 0
    for path in specs:
        try:
            spec = load_spec(path)
        except RaymakerError as exc:
            failed = failed or exc.exit_code
            click.echo(f"{path}: {exc}", err=True)
        else:
            click.echo(f"{path}: ok ({spec.kind}{' ' + spec.name if spec.name else ''})")
    sys.exit(failed)


@cli.command()
@click.argument("spec")
@click.option("--name", help="Job name (default: the spec's name, else generated).")
@click.option("--resume", is_flag=True, help="Take over a FAILED/STOPPED job of this name.")
def run(spec, name, resume):
    """Run SPEC (a file or store URI) in this process and record it as a job."""
    import os

    from raymaker.jobs.runner import run_spec
    from raymaker.specs import load_spec
    from raymaker.storage.staging import is_uri

    session = _session()
    loaded = load_spec(spec, store=session.store)
    base_dir = None if is_uri(spec) else os.path.dirname(os.path.abspath(spec))
    if loaded.kind == "Endpoint":  # desired state, not a job: deploy or update it
        state = session.endpoints.apply(loaded, base_dir=base_dir)
        click.echo(f"raymaker: endpoint {state['name']} {state['status']}", err=True)
        return
    record = run_spec(
        loaded, name=name, settings=session.settings, store=session.store, base_dir=base_dir,
        resume=resume,
    )  # fmt: skip
    click.echo(f"raymaker: job {record.name} {record.status.value}", err=True)
    if record.status.value != "SUCCEEDED":
        sys.exit(JobFailed.exit_code)


@cli.command()
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
    """Submit SPEC as a Ray Job; relative paths in it are relative to its folder."""
    import os

    from raymaker.specs import load_spec

    session = _session()
    loaded = load_spec(spec)
    handle = session.jobs.submit(
        loaded, name=name, base_dir=os.path.dirname(os.path.abspath(spec)), resume=resume
    )
    click.echo(f"submitted job {handle.name}", err=True)
    if wait or logs:
        if not logs and sys.stderr.isatty():
            _show_progress(handle, timeout)
        handle.wait(timeout=timeout, logs=logs)
        record = handle.describe().model_dump(mode="json", exclude={"spec"})
        emit(_when(record) if output == "table" else record, output)


def _show_progress(handle, timeout) -> None:
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


@cli.group()
def jobs():
    """List, inspect, follow and stop jobs."""


@jobs.command("list")
@click.option("--status", help="Only jobs in this status.")
@click.option("--kind", help="Only jobs of this kind.")
@output_option
def jobs_list(status, kind, output):
    """All jobs, newest first."""
    records = _session().jobs.list(status=status, kind=kind)
    if output == "table":
        emit([r.summary() for r in records], output)
    else:
        emit(records, output)


@jobs.command("describe")
@click.argument("name")
@output_option
def jobs_describe(name, output):
    """A job's record: spec, status, times, traceback, result."""
    record = _session().jobs.get(name).describe().model_dump(mode="json")
    emit(_when(record) if output == "table" else record, output)


@jobs.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
def jobs_logs(name, follow):
    """A job's output."""
    handle = _session().jobs.get(name)
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
    session = _session()
    points = session.metrics(name)
    if plot:
        _write_page(plot, session.metrics_html(name, points))
    if show_all:
        emit(points, output, columns=["name", "step", "value"])
    else:
        from raymaker.train.metrics import summarize

        emit(summarize(points), output)


@jobs.command("stop")
@click.argument("name")
def jobs_stop(name):
    """Stop a running job."""
    record = _session().jobs.get(name).stop()
    click.echo(f"job {name} {record.status.value}")


@jobs.command("wait")
@click.argument("name")
@click.option("--timeout", type=float, help="Seconds to wait at most.")
@click.option("--logs", is_flag=True, help="Stream the job's output while waiting.")
def jobs_wait(name, timeout, logs):
    """Wait for a job to end; exit non-zero if it failed."""
    record = _session().jobs.get(name).wait(timeout=timeout, logs=logs)
    click.echo(f"job {name} {record.status.value}")


# -- endpoints --------------------------------------------------------------------------------
def _endpoint_row(state: dict) -> dict:
    return {
        "name": state["name"], "status": state["status"],
        "url": (state.get("url") or "") + f"/endpoints/{state['name']}/invocations",
        "variants": ",".join(v["name"] for v in state["variants"]),
        "generation": state.get("generation"),
    }  # fmt: skip


@cli.command()
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@output_option
def deploy(spec, output):
    """Create or update the endpoint of SPEC (kind: Endpoint); wait until InService."""
    import os

    from raymaker.specs import load_spec

    loaded = load_spec(spec)
    if loaded.kind != "Endpoint":
        raise click.UsageError(f"{spec} is a {loaded.kind}; deploy takes kind: Endpoint")
    state = _session().endpoints.apply(loaded, base_dir=os.path.dirname(os.path.abspath(spec)))
    emit(_endpoint_row(state) if output == "table" else state, output)


@cli.group()
def endpoints():
    """Real-time and serverless endpoints: list, describe, update, delete."""


@endpoints.command("list")
@output_option
def endpoints_list(output):
    """Endpoints and their status."""
    emit(_session().endpoints.list(), output)


@endpoints.command("describe")
@click.argument("name")
@output_option
def endpoints_describe(name, output):
    """An endpoint: status, variants, replicas, and live request figures."""
    state = _session().endpoints.describe(name)
    if output != "table":
        emit(state, output)
        return
    emit(_endpoint_row(state), output)
    replicas = state.get("replicas", {})
    live = state.get("metrics", {}).get("variants", {})
    rows = []
    for v in state["variants"]:
        rows.append({
            "variant": v["name"], "weight": v["weight"], "shadow": v["shadow"],
            "model_data": v["model_data"], **replicas.get(v["name"], {}),
            **live.get(v["name"], {}),
        })  # fmt: skip
    click.echo("")
    emit(rows, output)


@endpoints.command("update")
@click.argument("name")
@click.option("--model-data", help="Roll every variant to this model.")
@click.option("--instance-count", type=int, help="Replicas per variant.")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False),
              help="A whole new Endpoint spec.")  # fmt: skip
@output_option
def endpoints_update(name, model_data, instance_count, spec_path, output):
    """Roll NAME to a new model, replica count or spec; no request fails meanwhile."""
    import os

    from raymaker.specs import load_spec

    session = _session()
    if spec_path:
        loaded = load_spec(spec_path).model_copy(update={"name": name})
        base = os.path.dirname(os.path.abspath(spec_path))
        state = session.endpoints.deploy(loaded, update=True, base_dir=base)
    else:
        if model_data is None and instance_count is None:
            raise click.UsageError("give --model-data, --instance-count or --spec")
        state = session.endpoints.roll(name, model_data=model_data, instance_count=instance_count)
    emit(_endpoint_row(state) if output == "table" else state, output)


@endpoints.command("delete")
@click.argument("name")
def endpoints_delete(name):
    """Stop NAME's replicas and forget it (captured data stays)."""
    _session().endpoints.delete(name)
    click.echo(f"deleted endpoint {name}")


@cli.command()
@click.argument("name")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The request body (a file; - is not accepted).")  # fmt: skip
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None, help="Response type (default: the request's).")
@click.option("--variant", default=None, help="Send to this production variant.")
@click.option("--target-model", default=None, help="The model of a multi-model endpoint.")
@click.option("--custom-attributes", default=None, help="Passed to the handler's hooks.")
def invoke(name, data_path, content_type, accept, variant, target_model, custom_attributes):
    """POST a file to endpoint NAME and print the answer."""
    with open(data_path, "rb") as f:
        body = f.read()
    headers, answer = _session().endpoints.invoke(
        name, body, content_type=content_type, accept=accept, variant=variant,
        target_model=target_model, custom_attributes=custom_attributes,
    )  # fmt: skip
    click.echo(f"variant: {headers.get('x-amzn-invoked-production-variant')}", err=True)
    try:
        click.echo(answer.decode("utf-8").rstrip("\n"))
    except UnicodeDecodeError:
        sys.stdout.buffer.write(answer)


# -- batch transform ----------------------------------------------------------------------------
@cli.command()
@click.argument("model_data")
@click.argument("data")
@click.option("--content-type", default=None, help="Input type (default: from DATA's name, "
              "else text/csv).")  # fmt: skip
@click.option("--split-type", type=click.Choice(["Line", "None"]), default="Line",
              show_default=True, help="Line: a record a line; None: a record a file.")  # fmt: skip
@click.option("--compression-type", type=click.Choice(["None", "Gzip"]), default=None)
@click.option("--accept", default=None, help="Output type (default: the input's; Parquet in, "
              "Parquet out).")  # fmt: skip
@click.option("--output-path", default=None, help="Where results go (default: the job's output).")
@click.option("--join-source", type=click.Choice(["Input", "None"]), default=None)
@click.option("--input-filter", default=None, help="JSONPath of what the model sees: $[1:].")
@click.option("--output-filter", default=None, help="JSONPath of what is written: $[0,-1].")
@click.option("--on-bad-rows", type=click.Choice(["fail", "skip"]), default="fail",
              show_default=True)  # fmt: skip
@click.option("--instance-count", type=int, default=1, show_default=True)
@click.option("--instance-type", default="cpu.1", show_default=True)
@click.option("--entry-point", default=None, help="A custom handler module (model_fn, ...).")
@click.option("--source-dir", default=None, help="The folder holding --entry-point.")
@click.option("--name", default=None, help="Job name (default: generated).")
@click.option("--wait/--no-wait", default=True, help="Wait for the job to end.")
@click.option("--timeout", type=float, help="Seconds to wait at most.")
@output_option
def transform(model_data, data, content_type, split_type, compression_type, accept,
              output_path, join_source, input_filter, output_filter, on_bad_rows,
              instance_count, instance_type, entry_point, source_dir, name, wait, timeout,
              output):  # fmt: skip
    """Batch-predict DATA (a file, prefix or glob) with the model at MODEL_DATA."""
    import raymaker as rm

    session = _session()
    transformer = rm.Transformer(
        model_data=model_data, instance_count=instance_count, instance_type=instance_type,
        accept=accept, output_path=output_path, entry_point=entry_point,
        source_dir=source_dir, on_bad_rows=on_bad_rows, assemble_with="Line", session=session,
    )  # fmt: skip
    spec = transformer.transform_job_spec(
        data, content_type, compression_type, split_type, name, input_filter, output_filter,
        join_source,
    )  # fmt: skip
    handle = session.jobs.submit(spec, name=spec.name)
    click.echo(f"submitted job {handle.name}", err=True)
    if wait:
        if sys.stderr.isatty():
            _show_progress(handle, timeout)
        handle.wait(timeout=timeout)
        record = handle.describe().model_dump(mode="json", exclude={"spec"})
        emit(_when(record) if output == "table" else record, output)


# -- model registry -----------------------------------------------------------------------------
@cli.group()
def models():
    """The model registry: groups, versions, approvals, lineage."""


def _version_row(v) -> dict:
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(v.metrics.items())[:3])
    return {"ref": v.ref, "status": v.status, "framework": v.framework,
            "created": _when({"created_at": v.created_at})["created_at"], "by": v.created_by,
            "metrics": metrics}  # fmt: skip


@models.command("list")
@click.argument("group", required=False)
@click.option("--status", type=click.Choice(["PendingManualApproval", "Approved", "Rejected"]))
@output_option
def models_list(group, status, output):
    """The groups; with GROUP, its versions."""
    registry = _session().registry
    if group is None:
        emit(registry.groups(), output)
        return
    versions = registry.versions(group, status=status)
    emit([_version_row(v) if output == "table" else v.to_dict() for v in versions], output)


@models.command("describe")
@click.argument("group")
@click.argument("version")
@output_option
def models_describe(group, version, output):
    """One version: artifact, hash, metrics, lineage and its approval history."""
    emit(_session().registry.resolve(f"registry://{group}/{version}").to_dict(), output)


@models.command("register")
@click.argument("group")
@click.argument("model_data")
@click.option("--status", "approval_status", default="PendingManualApproval", show_default=True,
              type=click.Choice(["PendingManualApproval", "Approved", "Rejected"]))  # fmt: skip
@click.option("--description", default=None)
@click.option("--metadata", multiple=True, help="key=value, repeatable.")
@output_option
def models_register(group, model_data, approval_status, description, metadata, output):
    """Register MODEL_DATA (a raymaker artifact) as GROUP's next version."""
    pairs = dict(item.split("=", 1) for item in metadata if "=" in item)
    v = _session().registry.register(group, model_data, approval_status=approval_status,
                                     description=description, customer_metadata=pairs)  # fmt: skip
    emit(_version_row(v) if output == "table" else v.to_dict(), output)


@models.command("approve")
@click.argument("group")
@click.argument("version", type=int)
@click.option("--comment", default=None, help="Why (kept in the history).")
def models_approve(group, version, comment):
    """Mark a version Approved: registry://GROUP/approved now names it (if the newest)."""
    v = _session().registry.approve(group, version, comment)
    click.echo(f"{v.ref}: {v.status}")


@models.command("reject")
@click.argument("group")
@click.argument("version", type=int)
@click.option("--comment", default=None, help="Why (kept in the history).")
def models_reject(group, version, comment):
    """Mark a version Rejected."""
    v = _session().registry.reject(group, version, comment)
    click.echo(f"{v.ref}: {v.status}")


@models.command("compare")
@click.argument("group")
@click.argument("versions", nargs=-1, type=int)
@output_option
def models_compare(group, versions, output):
    """Metrics of GROUP's versions (all, or VERSIONS) side by side."""
    emit(_session().registry.compare(group, list(versions) or None), output)


@models.command("lineage")
@click.argument("group", required=False)
@click.argument("version", required=False)
@click.option("--endpoint", default=None, help="The lineage of an endpoint's models instead.")
@output_option
def models_lineage(group, version, endpoint, output):
    """Where GROUP VERSION (or an endpoint's models) came from: job, data, code."""
    session = _session()
    if endpoint:
        emit(session.endpoints.lineage(endpoint), output)
        return
    if not (group and version):
        raise click.UsageError("give GROUP VERSION, or --endpoint NAME")
    number = session.registry.resolve(f"registry://{group}/{version}").version
    emit(session.registry.lineage(group, number), output)


# -- tuning -----------------------------------------------------------------------------------
@cli.group()
def tuning():
    """Hyperparameter tuning jobs: leaderboards and plots."""


@tuning.command("list")
@output_option
def tuning_list(output):
    """Tuning jobs, newest first."""
    records = _session().jobs.list(kind="TuningJob")
    rows = []
    for r in records:
        rows.append(
            {
                **_when(r.summary()),
                "trials": r.result.get("trials"),
                "best_training_job": r.result.get("best_training_job"),
                "best_objective": r.result.get("best_objective"),
            }
        )
    emit(rows, output)


@tuning.command("describe")
@click.argument("name")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the HTML plot here.")
@click.option("--top", type=int, default=None, help="Show only the best N trials.")
@output_option
def tuning_describe(name, plot, top, output):
    """A tuning job's leaderboard: every trial, best first, with its hyperparameters."""
    session = _session()
    board = session.tuning_leaderboard(name)
    if plot:
        _write_page(plot, session.tuning_html(name))
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
        rows.append(
            {
                "#": t["number"],
                "training_job": t["training_job"],
                "status": t["status"],
                metric: t["objective"],
                **t["hyperparameters"],
                "steps": t["steps"],
                "seconds": t["seconds"],
            }
        )
    click.echo(table(rows))


# -- data -------------------------------------------------------------------------------------
@cli.group()
def data():
    """Move data in and out of the store."""


@data.command("upload")
@click.argument("path", type=click.Path(exists=True))
@click.option("--key-prefix", default="data", show_default=True, help="Under data/ in the store.")
def data_upload(path, key_prefix):
    """Upload a file or folder; print its URI."""
    click.echo(_session().upload_data(path, key_prefix=key_prefix))


@data.command("download")
@click.argument("uri")
@click.argument("dest", type=click.Path(file_okay=False))
def data_download(uri, dest):
    """Download an object or prefix into a local folder."""
    for path in _session().download_data(uri, dest):
        click.echo(path)


@data.command("profile")
@click.argument("uri")
@click.option("--target", help="The label column: adds target analysis and importance.")
@click.option("--name", help="Profile name (default: profile-<time>).")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), help="Input format."
)
@click.option("--no-header", is_flag=True, help="CSV files have no header line.")
@click.option("--local", is_flag=True, help="Profile in this process with pandas (small data).")
@click.option("--out", type=click.Path(file_okay=False), help="Also write the report here.")
@output_option
def data_profile(uri, target, name, fmt, no_header, local, out, output):
    """Profile a data set: types, missing values, distributions, warnings (HTML + JSON)."""
    import os

    from raymaker.data.profile import profile_source

    session = _session()
    saved = profile_source(
        session, uri, target=target, name=name, use_ray=not local, format=fmt,
        header=not no_header,
    )  # fmt: skip
    if out:
        os.makedirs(out, exist_ok=True)
        for key in ("json", "html"):
            data_bytes = session.store.read_bytes(session.store.key(saved[key]))
            with open(os.path.join(out, f"profile.{key}"), "wb") as f:
                f.write(data_bytes)
    report = saved["report"]
    if output != "table":
        emit(report, output)
        return
    click.echo(f"{report['rows']} rows, {len(report['columns'])} columns, "
               f"{report['duplicate_rows']} duplicate rows")  # fmt: skip
    for warning in report["warnings"]:
        click.echo(f"  ! {warning['kind']}: {warning['message']}")
    click.echo(f"report: {saved['html']}")


# -- cluster and settings ---------------------------------------------------------------------
@cli.group()
def cluster():
    """The embedded local Ray head (used when RAY_ADDRESS is not set)."""


@cluster.command("up")
@output_option
def cluster_up(output):
    """Start the local head (no-op if it runs)."""
    from raymaker.cluster import LocalCluster

    state, started = LocalCluster(_session().settings).up()
    emit({**state, "started_now": started}, output)


@cluster.command("down")
def cluster_down():
    """Stop the local head."""
    from raymaker.cluster import LocalCluster

    stopped = LocalCluster(_session().settings).down()
    click.echo("stopped" if stopped else "no local cluster was running")


@cluster.command("status")
@output_option
def cluster_status(output):
    """Whether the local head runs, and where."""
    from raymaker.cluster import LocalCluster

    state = LocalCluster(_session().settings).info()
    emit(state or {"running": False}, output)


@cluster.command("env")
def cluster_env():
    """Print shell exports that point Ray's own CLI at the local head.

    Use: eval "$(raymaker cluster env)"; then `ray job submit -- raymaker run spec.yaml` works.
    """
    from raymaker.cluster import LocalCluster

    state = LocalCluster(_session().settings).info()
    if state is None:
        raise click.ClickException("no local cluster runs; start one with `raymaker cluster up`")
    click.echo(f"export RAY_ADDRESS={state['dashboard_url']}")
    click.echo("export RAY_AUTH_MODE=token")


@cli.command()
@output_option
def config(output):
    """The settings in effect."""
    settings = _session().settings
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


@cli.command()
@click.option("--keep-cluster", is_flag=True, help="Leave the local Ray head running.")
@click.option("--rows", default=5000, show_default=True, help="Rows in the generated data set.")
def quickstart(keep_cluster, rows):
    """Run the main job end to end on the embedded default and print a summary."""
    from raymaker.quickstart import run_quickstart

    run_quickstart(keep_cluster=keep_cluster, rows=rows, echo=click.echo)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning raymaker errors into messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="raymaker", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RaymakerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
