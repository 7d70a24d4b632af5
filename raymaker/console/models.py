"""Model registry pages: groups, versions, one version (history, lineage from data to
endpoint, approve or reject with a reason, deploy to an endpoint), versions side by side."""

from __future__ import annotations

from raymaker.console.app import Page, date, q
from raymaker.console.jobs import paged
from raymaker.errors import SpecError

STATUSES = ["PendingManualApproval", "Approved", "Rejected"]


def groups(console, query, form):
    text = query.get("q")
    rows = [g for g in console.index.groups() if not text or text.lower() in g["group"].lower()]
    shown, pager = paged(rows, query)
    page = Page("Models", section="/models")
    page.add("filters", fields=[{"name": "q", "label": "group", "value": text or ""}])
    page.add("table", title="Model groups", pager=pager,
             columns=["group", "versions", "latest", "approved"], rows=shown,
             links={"group": "/models/{group}"})  # fmt: skip
    return page


def group(console, query, form, group):
    status = query.get("status")
    if status and status not in STATUSES:
        raise SpecError(f"status {status!r} is unknown; statuses: {', '.join(STATUSES)}")
    rows = console.index.version_rows(group=group, status=status)
    if not rows and not status:
        console.session.registry.versions(group)  # NotFound for a group that is not there
    shown, pager = paged(rows, query)
    page = Page(group, section="/models", subtitle="model group")
    page.add(
        "filters",
        fields=[{"name": "status", "label": "status", "options": STATUSES, "value": status or ""}],
    )
    page.add("table", title="Versions (newest first)", pager=pager, columns=[
        "version", "status", "framework", "created", "by", "job", "metrics"],
        rows=[{**r, "created": date(r["created_at"]), "by": r["created_by"],
               "metrics": _short(r["metrics"])} for r in shown],
        links={"version": f"/models/{q(group)}/{{version}}", "job": "/jobs/{job}"},
        status_column="status", select={"name": "v", "column": "version",
                                        "action": f"/models/{q(group)}/compare",
                                        "label": "Compare selected"})  # fmt: skip
    return page


def _short(metrics: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in sorted(metrics.items())[:3])  # fmt: skip


def version(console, query, form, group, version):
    registry = console.session.registry
    v = registry.get(group, version)
    lineage = registry.lineage(group, v.version)
    page = Page(f"{group} v{v.version}", section="/models", subtitle=v.status)
    page.add("facts", facts={
        "status": v.status, "framework": v.framework or "-", "registered": date(v.created_at),
        "by": v.created_by, "artifact": v.model_dir, "sha256": v.artifact_sha256[:16] + "…",
        "reference": v.ref,
    })  # fmt: skip
    page.add("form", title="Approval", action=f"/models/{q(group)}/{v.version}/status",
             role="approve", fields=[
                 {"name": "reason", "label": "reason (kept in the history)", "type": "text"}],
             submits=[{"name": "status", "value": "Approved", "label": "Approve"},
                      {"name": "status", "value": "Rejected", "label": "Reject"}])  # fmt: skip
    endpoints = [e["name"] for e in console.index.endpoint_rows()]
    if endpoints:
        page.add("form", title="Deploy this version", role="operate",
                 action=f"/models/{q(group)}/{v.version}/deploy",
                 fields=[{"name": "endpoint", "label": "endpoint (a rolling update)",
                          "options": endpoints}],
                 submits=[{"name": "go", "value": "1", "label": "Deploy"}])  # fmt: skip
    page.add("table", title="History", columns=["when", "type", "status", "by", "reason"],
             rows=[{"when": date(e.get("at") or e.get("time")), "type": e.get("type"),
                    "status": e.get("status") or _short(e.get("metrics") or {}),
                    "by": e.get("by"), "reason": e.get("comment")}
                   for e in v.history])  # fmt: skip
    if v.metrics:
        page.add(
            "table",
            title="Metrics",
            columns=["metric", "value"],
            rows=[{"metric": k, "value": m} for k, m in sorted(v.metrics.items())],
        )
    page.add("lineage", title="Lineage: from data to endpoint", chain=_chain(console, v, lineage))
    page.add("json", title="Lineage (as recorded)", value=lineage, collapsed=True)
    return page


def _chain(console, v, lineage: dict) -> list[list[dict]]:
    """Columns of the lineage graph: data → jobs → this version → endpoints."""
    data = [
        {
            "label": f"{channel}: {uri if isinstance(uri, str) else uri.get('uri', uri)}",
            "href": None,
        }
        for channel, uri in sorted((lineage.get("data") or {}).items())
    ]
    jobs = (
        [{"label": f"tuning {lineage['tuning_job']}", "href": f"/jobs/{q(lineage['tuning_job'])}"}]
        if lineage.get("tuning_job")
        else []
    )
    if lineage.get("training_job"):
        jobs.append(
            {
                "label": f"training {lineage['training_job']}",
                "href": f"/jobs/{q(lineage['training_job'])}",
            }
        )
    ref = v.ref
    serving = [
        {"label": f"endpoint {e['name']}", "href": f"/endpoints/{q(e['name'])}"}
        for e in console.index.endpoint_rows()
        if ref in (e["models"] or [])
    ]
    mine = [{"label": f"{v.group} v{v.version} ({v.status})", "href": None}]
    return [c for c in (data, jobs, mine, serving) if c]  # fmt: skip


def set_status(console, query, form, group, version):
    status = form.get("status")
    if status not in ("Approved", "Rejected"):
        raise SpecError(f"status {status!r}: allowed: Approved, Rejected")
    by = console.principal.name
    reason = (form.get("reason") or "").strip() or None
    registry = console.session.registry
    if status == "Approved":
        registry.approve(group, int(version), reason, by=by)
    else:
        registry.reject(group, int(version), reason, by=by)
    console.index.fresh(force=True)
    return f"/models/{q(group)}/{int(version)}"


def deploy(console, query, form, group, version):
    endpoint = form.get("endpoint")
    if not endpoint:
        raise SpecError("endpoint: choose the endpoint to update")
    console.session.endpoints.roll(endpoint, model_data=f"registry://{group}/{int(version)}")
    return f"/endpoints/{q(endpoint)}"


def compare(console, query, form, group):
    try:
        numbers = [int(n) for n in query.getlist("v")]
    except ValueError:
        raise SpecError("v: version numbers, e.g. ?v=1&v=2") from None
    rows = console.session.registry.compare(group, numbers or None)
    columns = ["metric", *[k for k in (rows[0] if rows else {}) if k != "metric"]]
    page = Page(f"{group}: versions side by side", section="/models")
    page.add("table", title="Metrics by version", columns=columns, rows=rows)
    return page
