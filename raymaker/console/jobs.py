"""Jobs pages: the list (every kind, paged, filtered) and one job (spec, stage timeline, logs
that follow, metric charts, artifacts and reports, traceback, lineage; a tuning job's
leaderboard and charts; an AutoML job's candidates), with stop and resume."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from raymaker.console import charts
from raymaker.console.app import PAGE_SIZE, Page, date, duration, link, q, store_href
from raymaker.errors import NotFound, SpecError

KINDS = ["TrainingJob", "ProcessingJob", "TransformJob", "TuningJob", "AutoMLJob", "Pipeline",
         "MonitoringSchedule", "Endpoint"]  # fmt: skip
STATUSES = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED"]
LOG_CHUNK = 200_000
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # Ray's coloured worker prefixes


def paged(rows: list, query) -> tuple[list, dict]:
    """One page of ``rows`` and the pager's facts (``page`` from the query, 1-based)."""
    try:
        number = max(1, int(query.get("page") or 1))
    except ValueError:
        raise SpecError(f"page {query.get('page')!r} is not a number") from None
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    start = (number - 1) * PAGE_SIZE
    others = [(k, v) for k, v in query.multi_items() if k != "page"]

    def to(n: int) -> str:
        return "?" + urlencode([*others, ("page", n)])

    return rows[start : start + PAGE_SIZE], {
        "page": number, "pages": pages, "total": len(rows),
        "prev": to(number - 1) if number > 1 else None,
        "next": to(number + 1) if number < pages else None,
    }  # fmt: skip


def job_table(rows: list[dict], *, title: str = "Jobs", pager: dict | None = None) -> dict:
    return {
        "type": "table", "title": title, "pager": pager,
        "columns": ["name", "kind", "status", "created", "duration", "parent"],
        "rows": [{"name": r["name"], "kind": r["kind"], "status": r["status"],
                  "created": date(r["created_at"]), "duration": duration(r["duration_s"]),
                  "parent": r.get("parent")} for r in rows],
        "links": {"name": "/jobs/{name}", "parent": "/jobs/{parent}"},
        "status_column": "status",
    }  # fmt: skip


def jobs_list(console, query, form):
    kind, status, text = query.get("kind"), query.get("status"), query.get("q")
    if kind and kind not in KINDS:
        raise SpecError(f"kind {kind!r} is unknown; kinds: {', '.join(KINDS)}")
    if status and status not in STATUSES:
        raise SpecError(f"status {status!r} is unknown; statuses: {', '.join(STATUSES)}")
    rows = console.index.job_rows(kind=kind, status=status, q=text,
                                  top_level=not query.get("trials"))  # fmt: skip
    shown, pager = paged(rows, query)
    page = Page("Jobs", section="/jobs")
    page.add("filters", fields=[
        {"name": "q", "label": "name", "value": text or ""},
        {"name": "kind", "label": "kind", "options": KINDS, "value": kind or ""},
        {"name": "status", "label": "status", "options": STATUSES, "value": status or ""},
        {"name": "trials", "label": "with trials", "check": bool(query.get("trials"))},
    ])  # fmt: skip
    page.blocks.append(job_table(shown, pager=pager))
    return page


def job_page(console, query, form, name):
    record = console.session.jobs.refresh(name)
    page = Page(name, section="/jobs", subtitle=record.kind, live=f"/api/jobs/{q(name)}")
    page.add("facts", live=True, facts={
        "status": record.status.value, "kind": record.kind,
        "created": date(record.created_at), "started": date(record.started_at),
        "ended": date(record.ended_at), "duration": duration(record.duration_s),
        "attempts": record.attempts, "host": record.host or "-",
        "peak memory": f"{record.peak_rss_mb:.0f} MB" if record.peak_rss_mb else "-",
        "parent": record.parent or "-",
    })  # fmt: skip
    buttons = []
    if not record.status.terminal:
        buttons.append({"label": "Stop", "action": f"/jobs/{q(name)}/stop", "role": "operate",
                        "confirm": f"Stop job {name}?"})  # fmt: skip
    elif record.status.value in ("FAILED", "STOPPED") and record.spec:
        buttons.append({"label": "Resume", "action": f"/jobs/{q(name)}/resume",
                        "role": "operate"})  # fmt: skip
    if buttons:
        page.add("buttons", buttons=buttons)
    if record.stages:
        page.add("timeline", title="Stages", stages=[[s, float(t)] for s, t in record.stages])
    if record.failure_reason or record.traceback:
        page.add("failure", reason=record.failure_reason, error=record.error,
                 traceback=record.traceback)  # fmt: skip
    if record.kind == "TuningJob":
        _tuning(console, page, name)
    elif record.kind == "AutoMLJob":
        _automl(console, page, record)
    elif record.kind == "Pipeline":
        page.add(
            "links",
            title="Pipeline execution",
            links=[{"label": "the graph and its steps", "href": f"/executions/{q(name)}"}],
        )
    points = console.session.metrics(name)
    if points or record.kind == "TrainingJob":
        page.add("charts", title="Metrics", id="metrics", src=f"/api/jobs/{q(name)}/metrics",
                 charts=charts.metric_figures(points), live=not record.status.terminal,
                 empty="no metrics yet")  # fmt: skip
    page.add("logs", title="Logs", src=f"/api/jobs/{q(name)}/logs",
             follow=not record.status.terminal)  # fmt: skip
    _outputs(console, page, record)
    _lineage(console, page, record)
    if record.result:
        page.add("json", title="Result", value=record.result)
    page.add("json", title="Spec", value=record.spec, collapsed=True)
    return page


def _tuning(console, page: Page, name: str) -> None:
    board = console.session.tuning_leaderboard(name)
    metric, kind = board["objective"]["metric_name"], board["objective"]["type"]
    trials = board["trials"]
    figures = [f for f in (charts.trials_figure(trials, metric, kind),
                           charts.parallel_figure(trials, metric)) if f]  # fmt: skip
    page.add("charts", title="Trials", charts=figures, empty="no finished trial yet")
    page.add("table", title=f"Leaderboard ({metric}, {kind}, best first)",
             columns=["rank", "training_job", "status", "objective", "hyperparameters",
                      "seconds"],
             rows=[{**t, "rank": i + 1} for i, t in enumerate(trials)],
             links={"training_job": "/jobs/{training_job}"}, status_column="status")  # fmt: skip


def _automl(console, page: Page, record) -> None:
    from raymaker.sagemaker.automl.describe import list_candidates

    rows = list_candidates(console.session.store, record)
    page.add("table", title="Candidates (best first)",
             columns=["rank", "candidate", "status", "objective", "value"],
             rows=[{"rank": i + 1, "candidate": c["CandidateName"],
                    "status": c["CandidateStatus"],
                    "objective": (c.get("FinalAutoMLJobObjectiveMetric") or {}).get("MetricName"),
                    "value": (c.get("FinalAutoMLJobObjectiveMetric") or {}).get("Value")}
                   for i, c in enumerate(rows)], status_column="status")  # fmt: skip


def _outputs(console, page: Page, record) -> None:
    """The job's reports (its output's pages, and pages its result names, such as a tuning
    job's ``plot_uri``) and its artifacts."""
    from raymaker.storage import layout

    store = console.session.store
    keys = store.list(layout.job_output(record.name), recursive=True)
    reports = [k for k in keys if k.endswith(".html")]
    for value in (record.result or {}).values():
        if isinstance(value, str) and value.endswith(".html"):
            try:
                key = store.key(value)
            except Exception:  # noqa: BLE001 - a page outside this store: not ours to show
                continue
            if key not in reports:
                reports.append(key)
    if reports:
        page.add("links", title="Reports", links=[
            {"label": k.split("/output/", 1)[-1].removeprefix(f"jobs/{record.name}/"),
             "href": store_href(k)} for k in reports[:50]
        ])  # fmt: skip
    if keys:
        page.add("table", title=f"Artifacts ({len(keys)} files)", columns=["file", "bytes"],
                 rows=[{"file": k.split("/output/", 1)[-1], "bytes": _size(store, k),
                        "href": store_href(k)} for k in keys[:100]],
                 links={"file": "{href}"})  # fmt: skip


def _size(store, key: str):
    try:
        return store.size(key)
    except (NotFound, OSError):
        return None


def _lineage(console, page: Page, record) -> None:
    """Where the job's model went: registered versions and the endpoints serving them."""
    versions = [r for r in console.index.version_rows() if r.get("job") == record.name]
    refs = {f"registry://{v['group']}/{v['version']}" for v in versions}
    model = (record.result or {}).get("model_data") or (record.result or {}).get("model")
    endpoints = [
        e for e in console.index.endpoint_rows()
        if any(m in refs or (model and m and str(m).startswith(str(model))) for m in e["models"])
    ]  # fmt: skip
    tracking = record.tracking or {}
    links = [
        {
            "label": f"model {v['group']} v{v['version']} ({v['status']})",
            "href": f"/models/{q(v['group'])}/{v['version']}",
        }
        for v in versions
    ]
    links += [{"label": f"endpoint {e['name']} ({e['status']})",
               "href": f"/endpoints/{q(e['name'])}"} for e in endpoints]  # fmt: skip
    if tracking.get("experiment"):
        links.append(
            {
                "label": f"MLflow run {tracking.get('run_id')} in {tracking['experiment']}",
                "href": link("/experiments", experiment=tracking["experiment"]),
            }
        )
    if links:
        page.add("links", title="Lineage", links=links)


# -- the live parts (JSON) ----------------------------------------------------------------------
def job_state(console, query, form, name):
    record = console.session.jobs.refresh(name)
    return {"status": record.status.value, "terminal": record.status.terminal,
            "facts": {"status": record.status.value, "ended": date(record.ended_at),
                      "duration": duration(record.duration_s)},
            "progress": record.progress, "stages": record.stages}  # fmt: skip


def job_logs(console, query, form, name):
    """The job's output from ``offset`` on (what a following page has not shown yet)."""
    try:
        offset = max(0, int(query.get("offset") or 0))
    except ValueError:
        raise SpecError(f"offset {query.get('offset')!r} is not a number") from None
    record = console.session.jobs.refresh(name)
    text = console.session.jobs.logs(name)
    if offset > len(text):  # the store's copy replaced Ray's: start again
        offset = 0
    chunk = text[offset : offset + LOG_CHUNK]
    return {"text": ANSI.sub("", chunk), "offset": offset + len(chunk), "reset": offset == 0,
            "terminal": record.status.terminal and offset + len(chunk) >= len(text)}  # fmt: skip


def job_metrics(console, query, form, name):
    record = console.session.jobs.refresh(name)
    figures = charts.metric_figures(console.session.metrics(name))
    return {"charts": figures, "terminal": record.status.terminal}


def job_stop(console, query, form, name):
    console.session.jobs.get(name).stop()
    return f"/jobs/{q(name)}"


def job_resume(console, query, form, name):
    record = console.session.jobs.get(name).describe()
    if record.status.value not in ("FAILED", "STOPPED"):
        raise SpecError(f"job {name!r} is {record.status.value}: only a FAILED or STOPPED "
                        "job can be resumed")  # fmt: skip
    console.session.jobs.submit(record.spec, name=name, resume=True)
    return f"/jobs/{q(name)}"
