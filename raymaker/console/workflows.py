"""Pipelines (definitions, executions, the graph with each step's live status, time and
cache hit; retry and stop) and monitors (schedules, executions, violations, reports)."""

from __future__ import annotations

from raymaker.console.app import Page, date, q, store_href
from raymaker.console.jobs import paged


def pipelines_list(console, query, form):
    rows = console.session.pipelines.list()
    shown, pager = paged(rows, query)
    page = Page("Pipelines", section="/pipelines")
    page.add("table", title="Pipelines", pager=pager, rows=shown,
             columns=["name", "version", "steps", "last_execution", "updated_at"],
             links={"name": "/pipelines/{name}",
                    "last_execution": "/executions/{last_execution}"})  # fmt: skip
    return page


def pipeline_page(console, query, form, name):
    pipelines = console.session.pipelines
    described = pipelines.describe(name)
    page = Page(
        name, section="/pipelines", subtitle=f"pipeline, version {described.get('version')}"
    )
    page.add("facts", facts={"created": described["created_at"],
                             "updated": described["updated_at"],
                             "steps": len(described["steps"])})  # fmt: skip
    page.add("picture", title="Graph", src=f"/api/pipelines/{q(name)}/picture")
    rows = pipelines.executions(name)
    page.add("table", title="Executions (newest first)", rows=rows,
             columns=["name", "status", "display_name", "created", "duration_s"],
             links={"name": "/executions/{name}"}, status_column="status")  # fmt: skip
    if described["parameters"]:
        page.add(
            "table",
            title="Parameters",
            columns=["Name", "Type", "DefaultValue"],
            rows=described["parameters"],
        )
    return page


def execution_page(console, query, form, execution):
    state = console.session.pipelines.execution(execution)
    status = state.get("status")
    terminal = status in ("Succeeded", "Failed", "Stopped")
    page = Page(f"{state.get('pipeline')} · {execution}", section="/pipelines",
                subtitle=f"execution: {status}")  # fmt: skip
    page.add("facts", facts={"status": status, "pipeline": state.get("pipeline"),
                             "parameters": state.get("parameters") or {},
                             "failure": state.get("failure_reason") or "-"})  # fmt: skip
    buttons = [{"label": "Open its job", "href": f"/jobs/{q(execution)}"}]
    if terminal and status != "Succeeded":
        buttons.append({"label": "Retry", "action": f"/executions/{q(execution)}/retry",
                        "role": "operate"})  # fmt: skip
    if not terminal:
        buttons.append({"label": "Stop", "action": f"/executions/{q(execution)}/stop",
                        "role": "operate", "confirm": "Stop this execution?"})  # fmt: skip
    page.add("buttons", buttons=buttons)
    page.add("picture", title="Steps", src=f"/api/executions/{q(execution)}/picture",
             live=not terminal)  # fmt: skip
    page.add("table", title="Steps", rows=[_step_row(s) for s in
                                           console.session.pipelines.steps(execution)],
             columns=["step", "status", "started", "seconds", "attempts", "cache", "job",
                      "failure"], links={"job": "/jobs/{job}"},
             status_column="status")  # fmt: skip
    return page


def _step_row(s: dict) -> dict:
    start, end = s.get("StartTime"), s.get("EndTime")
    hit = s.get("CacheHitResult")
    return {
        "step": s["StepName"], "status": s.get("StepStatus"), "started": date(start),
        "seconds": round(end - start, 2) if start and end else None,
        "attempts": s.get("AttemptCount"),
        "cache": "hit" if hit else (f"miss: {s['CacheMiss']}" if s.get("CacheMiss") else ""),
        "job": s.get("RaymakerJob") or (hit or {}).get("SourceJob"),
        "failure": s.get("FailureReason"),
    }  # fmt: skip


def pipeline_picture(console, query, form, name):
    from raymaker.pipelines import catalog, picture

    return {"svg": picture.svg(catalog.spec_of(console.session.store, name)), "terminal": True}


def execution_picture(console, query, form, execution):
    from raymaker.pipelines import catalog, picture

    state = console.session.pipelines.execution(execution)
    spec = catalog.spec_of_execution(console.session.jobs, execution)
    return {
        "svg": picture.svg(spec, state),
        "terminal": state.get("status") in ("Succeeded", "Failed", "Stopped"),
    }


def execution_retry(console, query, form, execution):
    console.session.pipelines.retry(execution)
    return f"/executions/{q(execution)}"


def execution_stop(console, query, form, execution):
    console.session.pipelines.stop(execution)
    return f"/executions/{q(execution)}"


def monitors_list(console, query, form):
    rows = console.session.monitors.list()
    shown, pager = paged(rows, query)
    page = Page("Monitors", section="/monitors")
    page.add("table", title="Monitoring schedules", pager=pager, rows=shown,
             columns=["MonitoringScheduleName", "MonitoringScheduleStatus", "MonitoringType",
                      "EndpointName", "ScheduleExpression", "LastExecution"],
             links={"MonitoringScheduleName": "/monitors/{MonitoringScheduleName}",
                    "EndpointName": "/endpoints/{EndpointName}",
                    "LastExecution": "/jobs/{LastExecution}"},
             status_column="MonitoringScheduleStatus")  # fmt: skip
    return page


def monitor_page(console, query, form, name):
    monitors = console.session.monitors
    described = monitors.describe(name)
    page = Page(name, section="/monitors", subtitle=described["MonitoringType"])
    page.add("facts", facts={
        "status": described["MonitoringScheduleStatus"],
        "endpoint": described.get("EndpointName") or "-",
        "schedule": described["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"],
        "created": described["CreationTime"], "failure": described.get("FailureReason") or "-",
    })  # fmt: skip
    executions = list(reversed(monitors.executions(name)))
    reports = [{"label": f"{e['ProcessingJobName']}: report", "href": _store_link(console,
                e["Report"])} for e in executions if e.get("Report")][:10]  # fmt: skip
    if reports:
        page.add("links", title="Drift and quality reports", links=reports)
    page.add("table", title="Executions (newest first)", rows=executions,
             columns=["ProcessingJobName", "MonitoringExecutionStatus", "ScheduledTime",
                      "Violations", "Items", "FailureReason"],
             links={"ProcessingJobName": "/jobs/{ProcessingJobName}"},
             status_column="MonitoringExecutionStatus")  # fmt: skip
    try:
        violations = monitors.violations(name)
    except Exception:  # noqa: BLE001 - no finished execution yet
        violations = None
    if violations:
        rows = violations.get("violations") or []
        page.add("table", title=f"Violations of {violations['execution']}",
                 columns=["feature_name", "constraint_check_type", "description"],
                 rows=rows)  # fmt: skip
    page.add("json", title="Schedule", value=described, collapsed=True)
    return page


def _store_link(console, uri: str) -> str:
    key = console.session.store.key(uri)
    return store_href(key)
