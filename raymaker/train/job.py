"""What every training job shares, built-in or script mode: its store keys, joining Ray when
a worker group runs there, its final metrics and lineage, and where it publishes.

``runner`` (built-ins) and ``script`` (script mode) both use these; neither imports the other
except to dispatch a script-mode spec.
"""

from __future__ import annotations

from raymaker.storage import join, layout
from raymaker.train.workers import Plan


def connect_for(plan: Plan, ctx) -> None:
    """Join the cluster (local head or ``RAY_ADDRESS``) when workers run under Ray Train."""
    if not plan.runs_in_driver():
        from raymaker.cluster import connect

        connect(ctx.settings)


def job_keys(spec, ctx) -> dict:
    store = ctx.store
    checkpoints = store.key(spec.checkpoint_uri) if spec.checkpoint_uri else None
    return {
        "metrics_key": layout.job_metrics(ctx.name),
        "checkpoint_key": checkpoints or layout.job_checkpoints(ctx.name),
        "model_staging": layout.job_staging(ctx.name, "model"),
        "checkpoint_interval_s": spec.checkpoint_interval_s,
    }


def output_prefix(spec, ctx) -> str:
    if spec.output_path:
        return join(ctx.store.key(spec.output_path), ctx.name, "output")
    return layout.job_output(ctx.name)


def final_metrics(store, key: str) -> dict[str, float]:
    from raymaker.train.metrics import read_series

    out: dict[str, float] = {}
    for point in read_series(store, key):
        out[point["name"]] = point["value"]
    return out


def lineage(spec, ctx, data: dict, code_sha256: str) -> dict:
    return {
        "job": ctx.name,
        "kind": spec.kind,
        "job_uri": ctx.store.uri(layout.job_dir(ctx.name)),
        "data": data,
        "code_sha256": code_sha256,
        "hyperparameters": dict(spec.hyperparameters),
        "recipe": spec.recipe,
        "instance_type": spec.instance_type,
        "instance_count": spec.instance_count,
        "tuning_job": ctx.record.parent,
        "parents": [],
    }


def version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in (package, f"{package}-cpu") if package else ():  # tensorflow-cpu's wheel
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "unknown"
