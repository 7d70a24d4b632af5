"""``raymaker models ...``: the model registry — groups, versions, approvals, lineage."""

from __future__ import annotations

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option

STATUSES = ["PendingManualApproval", "Approved", "Rejected"]


def register(cli: click.Group) -> None:
    cli.add_command(models)


@click.group()
def models():
    """The model registry: groups, versions, approvals, lineage."""


def _version_row(v) -> dict:
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(v.metrics.items())[:3])
    return {"ref": v.ref, "status": v.status, "framework": v.framework,
            "created_at": v.created_at, "by": v.created_by, "metrics": metrics}  # fmt: skip


@models.command("list")
@click.argument("group", required=False)
@click.option("--status", type=click.Choice(STATUSES))
@output_option
def models_list(group, status, output):
    """The groups; with GROUP, its versions."""
    registry = session().registry
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
    emit(session().registry.resolve(f"registry://{group}/{version}").to_dict(), output)


@models.command("register")
@click.argument("group")
@click.argument("model_data")
@click.option("--status", "approval_status", default="PendingManualApproval", show_default=True,
              type=click.Choice(STATUSES))  # fmt: skip
@click.option("--description", default=None)
@click.option("--metadata", multiple=True, help="key=value, repeatable.")
@output_option
def models_register(group, model_data, approval_status, description, metadata, output):
    """Register MODEL_DATA (a raymaker artifact) as GROUP's next version."""
    pairs = dict(item.split("=", 1) for item in metadata if "=" in item)
    v = session().registry.register(group, model_data, approval_status=approval_status,
                                    description=description, customer_metadata=pairs)  # fmt: skip
    emit(_version_row(v) if output == "table" else v.to_dict(), output)


@models.command("approve")
@click.argument("group")
@click.argument("version", type=int)
@click.option("--comment", default=None, help="Why (kept in the history).")
def models_approve(group, version, comment):
    """Mark a version Approved: registry://GROUP/approved now names it (if the newest)."""
    v = session().registry.approve(group, version, comment)
    click.echo(f"{v.ref}: {v.status}")


@models.command("reject")
@click.argument("group")
@click.argument("version", type=int)
@click.option("--comment", default=None, help="Why (kept in the history).")
def models_reject(group, version, comment):
    """Mark a version Rejected."""
    v = session().registry.reject(group, version, comment)
    click.echo(f"{v.ref}: {v.status}")


@models.command("compare")
@click.argument("group")
@click.argument("versions", nargs=-1, type=int)
@output_option
def models_compare(group, versions, output):
    """Metrics of GROUP's versions (all, or VERSIONS) side by side."""
    emit(session().registry.compare(group, list(versions) or None), output)


@models.command("lineage")
@click.argument("group", required=False)
@click.argument("version", required=False)
@click.option("--endpoint", default=None, help="The lineage of an endpoint's models instead.")
@output_option
def models_lineage(group, version, endpoint, output):
    """Where GROUP VERSION (or an endpoint's models) came from: job, data, code."""
    sess = session()
    if endpoint:
        emit(sess.endpoints.lineage(endpoint), output)
        return
    if not (group and version):
        raise click.UsageError("give GROUP VERSION, or --endpoint NAME")
    number = sess.registry.resolve(f"registry://{group}/{version}").version
    emit(sess.registry.lineage(group, number), output)
