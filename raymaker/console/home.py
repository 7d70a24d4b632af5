"""Home (recent jobs, endpoints, models, pipelines, monitors, the cluster), experiments
(MLflow's runs and comparisons) and data (profiles, and the store, read-only)."""

from __future__ import annotations

import mimetypes

from raymaker.console.app import Page, date, link, q, store_href
from raymaker.console.jobs import job_table, paged
from raymaker.errors import NotFound, SpecError
from raymaker.storage import layout

PREVIEW_BYTES = 64 * 1024
RAW_TYPES = {".html": "text/html", ".json": "application/json", ".svg": "image/svg+xml",
             ".png": "image/png", ".csv": "text/plain", ".txt": "text/plain",
             ".jsonl": "text/plain", ".yaml": "text/plain", ".js": "text/javascript"}  # fmt: skip


def home(console, query, form):
    index = console.index
    page = Page("raymaker", section="/", subtitle=console.session.store.uri())
    jobs = index.job_rows(top_level=True)
    running = sum(1 for r in jobs if r["status"] in ("PENDING", "RUNNING"))
    endpoints = index.endpoint_rows()
    groups = index.groups()
    page.add(
        "facts",
        facts={
            "jobs": len(jobs),
            "running": running,
            "endpoints": len(endpoints),
            "model groups": len(groups),
            "signed in as": f"{console.principal.name} ({', '.join(console.principal.roles)})",
        },
    )
    page.blocks.append(job_table(jobs[:10], title="Recent jobs"))
    page.add("table", title="Endpoints", columns=["name", "status", "models"], rows=endpoints[:10],
             links={"name": "/endpoints/{name}"}, status_column="status")  # fmt: skip
    page.add("table", title="Models", columns=["group", "versions", "latest", "approved"],
             rows=groups[:10], links={"group": "/models/{group}"})  # fmt: skip
    pipelines = console.session.pipelines.list()[:10]
    page.add(
        "table",
        title="Pipelines",
        columns=["name", "steps", "last_execution"],
        rows=pipelines,
        links={"name": "/pipelines/{name}", "last_execution": "/executions/{last_execution}"},
    )
    monitors = console.session.monitors.list()[:10]
    page.add("table", title="Monitors", rows=monitors,
             columns=["MonitoringScheduleName", "MonitoringScheduleStatus", "EndpointName"],
             links={"MonitoringScheduleName": "/monitors/{MonitoringScheduleName}"},
             status_column="MonitoringScheduleStatus")  # fmt: skip
    page.add("cluster", title="Cluster", src="/api/cluster")
    return page


def cluster_url(session) -> str | None:
    """The running cluster's dashboard URL, or None: the console never starts one."""
    from raymaker.cluster import dashboard_url
    from raymaker.errors import ClusterError

    try:
        return session.settings.jobs_api or dashboard_url(session.settings, start=False)
    except ClusterError:
        return None


def cluster(console, query, form):
    """Ray's own summary of nodes and resources (``ray status``), when a cluster runs."""
    from raymaker.cluster import auth_headers
    from raymaker.cluster.rest import RayJobsApi

    url = cluster_url(console.session)
    if url is None:
        return {"url": None, "status": "no Ray cluster is running (`raymaker cluster up`)"}
    try:
        api = RayJobsApi(url, headers=auth_headers(url), timeout=5)
        return {"url": url, "status": api.cluster_status()}
    except Exception as exc:  # noqa: BLE001 - the store's pages still work without it
        return {"url": url, "status": f"the cluster at {url} does not answer: {exc}"}


def experiments(console, query, form):
    catalog = console.session.experiments
    chosen = query.get("experiment")
    page = Page("Experiments", section="/experiments", subtitle=catalog.uri)
    rows = catalog.list()
    page.add("table", title="Experiments (MLflow)", columns=["experiment", "created_at",
             "stage"], rows=[{**r, "created_at": date(r.get("created_at"))} for r in rows],
             links={"experiment": "/experiments?experiment={experiment}"})  # fmt: skip
    if chosen:
        runs = catalog.runs(chosen, max_results=500)
        shown, pager = paged(runs, query)
        page.add(
            "table",
            title=f"Runs of {chosen} (newest first)",
            pager=pager,
            columns=["run_name", "status", "job", "kind", "started", "metrics"],
            rows=[
                {
                    **r,
                    "started": date(r.get("started_at")),
                    "metrics": {k: v for k, v in sorted(r["metrics"].items())[:4]},
                }
                for r in shown
            ],
            links={"job": "/jobs/{job}"},
            status_column="status",
            select={
                "name": "run",
                "column": "run_id",
                "action": "/experiments/compare",
                "label": "Compare selected",
                "extra": {"experiment": chosen},
            },
        )
    page.add("links", title="MLflow's own UI", links=[{
        "label": "`raymaker experiments ui` serves MLflow's UI on this tracking store",
        "href": None}])  # fmt: skip
    return page


def compare_runs(console, query, form):
    refs = query.getlist("run")
    if len(refs) < 1:
        raise SpecError("run: choose runs to compare (?run=<id>&run=<id>)")
    rows = console.session.experiments.compare(refs, query.get("experiment"))
    columns = list(rows[0]) if rows else [""]
    page = Page("Runs side by side", section="/experiments")
    page.add("table", title="Parameters and metrics", columns=columns, rows=rows)
    return page


def data(console, query, form):
    store = console.session.store
    prefix = (query.get("prefix") or "").strip("/")
    page = Page("Data", section="/data", subtitle=store.uri(prefix))
    profiles = [k for k in store.list(layout.PROFILES, recursive=True) if k.endswith(".html")]
    if profiles and not prefix:
        page.add("links", title="Profiles", links=[
            {"label": k.removeprefix(f"{layout.PROFILES}/"), "href": store_href(k)}
            for k in profiles[:100]])  # fmt: skip
    keys = store.list(prefix)
    if prefix and not keys:
        raise NotFound(f"nothing in the store under {prefix!r}")
    shown, pager = paged(keys, query)
    rows = []
    for key in shown:
        is_file = store.list(key) == [key]  # a folder lists its children
        rows.append(
            {
                "name": key.rsplit("/", 1)[-1] + ("" if is_file else "/"),
                "open": "open" if is_file else "",
                "href": store_href(key),
                "browse": link("/data", prefix=key) if not is_file else store_href(key),
            }
        )
    crumbs, path = [{"label": "store", "href": "/data"}], ""
    for part in [p for p in prefix.split("/") if p]:
        path = f"{path}/{part}".strip("/")
        crumbs.append({"label": part, "href": link("/data", prefix=path)})
    page.add("crumbs", crumbs=crumbs)
    page.add(
        "table",
        title="Objects (read-only)",
        pager=pager,
        columns=["name"],
        rows=rows,
        links={"name": "{browse}"},
    )
    return page


def store_object(console, query, form, key):
    """One object of the store, read-only. Pages are served sandboxed (their own origin, no
    access to the console's cookie); anything else is shown as text or downloaded."""
    from starlette.responses import Response

    store = console.session.store
    try:
        data = store.read_bytes(key)
    except (NotFound, IsADirectoryError):
        if store.list(key):
            return link("/data", prefix=key)
        raise NotFound(f"{store.uri(key)} does not exist") from None
    suffix = key[key.rfind(".") :].lower() if "." in key.rsplit("/", 1)[-1] else ""
    media = RAW_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
               "Content-Security-Policy": "sandbox allow-scripts; default-src 'self' "
                                          "'unsafe-inline' 'unsafe-eval' data:"}  # fmt: skip
    if media.startswith(("application/octet", "application/x-")):
        headers["Content-Disposition"] = f'attachment; filename="{q(key.rsplit("/", 1)[-1])}"'
    return Response(data, media_type=media, headers=headers)
