"""Endpoint pages: the list, and one endpoint (variants with weights and replicas, live
request rate, latency p50/p99 and errors from the gateway's figures, capture, monitors and
their violations, lineage, and a form that invokes it)."""

from __future__ import annotations

import time

from raymaker.console.app import Page, cell, date, q
from raymaker.console.jobs import paged
from raymaker.errors import SpecError

STATUSES = ["Creating", "Updating", "InService", "Failed", "Deleting"]
TRY_LIMIT = 64 * 1024


def endpoints_list(console, query, form):
    text, status = query.get("q"), query.get("status")
    if status and status not in STATUSES:
        raise SpecError(f"status {status!r} is unknown; statuses: {', '.join(STATUSES)}")
    rows = console.index.endpoint_rows(q=text, status=status)
    shown, pager = paged(rows, query)
    page = Page("Endpoints", section="/endpoints")
    page.add(
        "filters",
        fields=[
            {"name": "q", "label": "name", "value": text or ""},
            {"name": "status", "label": "status", "options": STATUSES, "value": status or ""},
        ],
    )
    page.add("table", title="Endpoints", pager=pager,
             columns=["name", "status", "variants", "models", "updated"],
             rows=[{**r, "updated": date(r["updated_at"])} for r in shown],
             links={"name": "/endpoints/{name}"}, status_column="status")  # fmt: skip
    return page


def endpoint_page(console, query, form, name):
    state = console.session.endpoints.state(name)
    spec = state.get("spec") or {}
    page = Page(name, section="/endpoints", subtitle=state.get("status"))
    page.add("facts", facts={
        "status": state.get("status"), "url": f"{state.get('url')}/endpoints/{name}/invocations",
        "updated": date(state.get("updated_at")), "serverless": bool(spec.get("serverless")),
        "capture": _capture(spec), "failure": state.get("failure_reason") or "-",
    })  # fmt: skip
    page.add("table", title="Variants", columns=[
        "name", "model", "weight", "shadow", "instance_type", "replicas", "framework"],
        rows=[{"name": v.get("name"), "model": v.get("registry") or v.get("model_data"),
               "weight": v.get("weight"), "shadow": v.get("shadow", False),
               "instance_type": v.get("instance_type"),
               "replicas": _replicas(v, spec), "framework": v.get("framework")}
              for v in spec.get("variants") or []])  # fmt: skip
    page.add(
        "endpoint_live", title="Traffic (live, from the gateway)", src=f"/api/endpoints/{q(name)}"
    )
    page.add("form", title="Try it", action=f"/endpoints/{q(name)}/invoke", role="invoke",
             fields=[{"name": "content_type", "label": "content type",
                      "options": ["text/csv", "application/json", "application/jsonlines"]},
                     {"name": "body", "label": "request body", "type": "textarea",
                      "value": query.get("body") or ""}],
             submits=[{"name": "go", "value": "1", "label": "Invoke"}],
             result=query.get("answer"))  # fmt: skip
    _monitors(console, page, name)
    try:
        lineage = console.session.endpoints.lineage(name)
    except Exception:  # noqa: BLE001 - a model gone from the store: the page still shows
        lineage = []
    if lineage:
        page.add("table", title="Lineage",
                 columns=["variant", "model", "training_job", "tuning_job", "data"],
                 rows=[{**r, "data": data_uris(r.get("data"))} for r in lineage],
                 links={"training_job": "/jobs/{training_job}",
                        "tuning_job": "/jobs/{tuning_job}"})  # fmt: skip
    page.add("json", title="Spec", value=spec, collapsed=True)
    return page


def data_uris(data) -> dict:
    """Each channel's URI (a lineage's data also records sizes and hashes)."""
    return {k: v.get("uri", v) if isinstance(v, dict) else v for k, v in (data or {}).items()}


def _capture(spec: dict) -> str:
    capture = spec.get("data_capture")
    if not capture:
        return "off"
    return f"{capture.get('sampling_percentage', 100):g}% sampled"


def _replicas(v: dict, spec: dict) -> str:
    auto = spec.get("autoscaling") or {}
    if auto:
        return f"{auto.get('min_replicas', 1)}–{auto.get('max_replicas', 1)} (autoscaling)"
    if spec.get("serverless"):
        return "0–1 (serverless)"
    return cell(v.get("instance_count", 1))


def _monitors(console, page: Page, endpoint: str) -> None:
    """The endpoint's schedules, each with its latest execution's status and violations."""
    monitors = console.session.monitors
    rows = []
    for m in monitors.list():
        if m.get("EndpointName") != endpoint:
            continue
        last = (
            monitors.describe(m["MonitoringScheduleName"]).get("LastMonitoringExecutionSummary")
            or {}
        )
        rows.append({**m, "LastStatus": last.get("MonitoringExecutionStatus"),
                     "Violations": last.get("Violations")})  # fmt: skip
    if rows:
        page.add("table", title="Monitoring schedules", rows=rows,
                 columns=["MonitoringScheduleName", "MonitoringScheduleStatus",
                          "MonitoringType", "LastExecution", "LastStatus", "Violations"],
                 links={"MonitoringScheduleName": "/monitors/{MonitoringScheduleName}",
                        "LastExecution": "/jobs/{LastExecution}"},
                 status_column="LastStatus")  # fmt: skip


def endpoint_live(console, query, form, name):
    """The gateway's figures now (the page turns two readings into a rate)."""
    from raymaker.console.home import cluster_url

    if cluster_url(console.session) is None:  # never start a cluster to draw a chart
        console.session.endpoints.state(name)  # NotFound for an unknown endpoint
        return {"time": time.time(), "status": None, "variants": {}, "capture": {},
                "note": "no Ray cluster is running"}  # fmt: skip
    described = console.session.endpoints.describe(name)
    variants = (described.get("metrics") or {}).get("variants") or {}
    return {"time": time.time(), "status": described.get("status"), "variants": variants,
            "capture": (described.get("metrics") or {}).get("capture") or {}}  # fmt: skip


def endpoint_invoke(console, query, form, name):
    from starlette.responses import RedirectResponse

    body = (form.get("body") or "").encode()
    if not body.strip():
        raise SpecError("body: give the request to send (a CSV row, JSON, ...)")
    if len(body) > TRY_LIMIT:
        raise SpecError(f"body: at most {TRY_LIMIT} bytes from this form")
    content_type = form.get("content_type") or "text/csv"
    headers, data = console.session.endpoints.invoke(name, body, content_type=content_type)
    answer = data.decode("utf-8", errors="replace")[:TRY_LIMIT]
    variant = headers.get("x-amzn-invoked-production-variant") or headers.get(
        "X-Amzn-Invoked-Production-Variant"
    )
    from urllib.parse import urlencode

    text = f"[{variant}] {answer}" if variant else answer
    query_string = urlencode({"body": body.decode("utf-8", errors="replace"), "answer": text})
    return RedirectResponse(f"/endpoints/{q(name)}?{query_string}", status_code=303)
