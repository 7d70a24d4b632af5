"""The console's app driven in-process (Starlette's TestClient; no Ray): every page renders the
store's objects, lists filter and page, bad input is a 4xx naming the problem, roles gate
each action, the index follows the store, and the store browser stays inside the store."""

from __future__ import annotations

import json
import time

import pytest
from test_inference import model_dir  # noqa: F401 - a fixture

from raymaker.console.app import build
from raymaker.console.index import Index
from raymaker.jobs.records import JobRecord, JobStatus, write_record
from raymaker.sagemaker.session import Session
from raymaker.settings import Settings
from raymaker.storage import layout


def _job(store, name, kind="TrainingJob", status=JobStatus.SUCCEEDED, **fields):
    now = time.time()
    record = JobRecord(name=name, kind=kind, status=status, created_at=fields.pop("at", now),
                       started_at=now - 60, ended_at=now - 1,
                       stages=[("queued", 1.5), ("training", 50.0)], **fields)  # fmt: skip
    write_record(store, record)
    return record


@pytest.fixture(scope="module")
def session(tmp_path_factory, model_dir):  # noqa: F811 - the fixture imported above
    root = tmp_path_factory.mktemp("console")
    settings = Settings.from_env().replace(store=str(root / "store"), home=root / "home",
                                           serve_token=None)  # fmt: skip
    sess = Session(settings=settings)
    store = sess.store
    for i in range(120):
        _job(store, f"bulk-{i:03d}", kind="ProcessingJob", at=1_700_000_000 + i)
    _job(store, "train-churn", hyperparameters={"eta": 0.2},
         spec={"kind": "TrainingJob", "hyperparameters": {"eta": 0.2}})  # fmt: skip
    points = [{"name": "validation:auc", "value": 0.5 + s / 100, "step": s, "time": s}
              for s in range(30)]  # fmt: skip
    store.write_text(layout.job_metrics("train-churn"),
                     "".join(json.dumps(p) + "\n" for p in points))  # fmt: skip
    store.write_text(layout.job_logs("train-churn"), "epoch 1\nepoch 2\n")
    store.write_text(layout.job_output("train-churn", "report.html"), "<h1>a report</h1>")
    _job(store, "broken", status=JobStatus.FAILED, failure_reason="ZeroDivisionError: oops",
         traceback='Traceback (most recent call last):\n  File "train.py", line 3\n'
                   "ZeroDivisionError: oops", spec={"kind": "TrainingJob"})  # fmt: skip
    store.put_dir(model_dir[0], "models/m")
    sess.registry.register("churn", "models/m", lineage={"job": "train-churn"})
    sess.registry.register("churn", "models/m", lineage={"job": "train-churn"})
    store.write_json("endpoints/churn/state.json", {
        "name": "churn", "status": "InService", "url": "http://127.0.0.1:8080",
        "updated_at": time.time(), "spec": {"kind": "Endpoint", "name": "churn", "variants": [
            {"name": "AllTraffic", "model_data": "registry://churn/1"}]},
        "variants": [{"name": "AllTraffic", "model_data": store.uri("models/m"),
                      "registry": "registry://churn/1"}]})  # fmt: skip
    _job(store, "automl-churn", kind="AutoMLJob", spec={"kind": "AutoMLJob"},
         result={"objective": "F1", "candidates": [
             {"CandidateName": "automl-churn-lightgbm", "CandidateStatus": "Completed",
              "metrics": {"F1": 0.71}},
             {"CandidateName": "automl-churn-xgboost", "CandidateStatus": "Completed",
              "metrics": {"F1": 0.78}},
             {"CandidateName": "automl-churn-mlp", "CandidateStatus": "Failed",
              "FailureReason": "diverged"}]})  # fmt: skip
    store.write_text(layout.job_output("automl-churn", "insights", "report.html"), "<h1>i</h1>")
    _monitor(store)
    _experiment(settings)
    return sess


def _monitor(store) -> None:
    """A schedule on the endpoint, and one finished execution that found violations."""
    from raymaker.monitor import schedules
    from raymaker.specs.monitor import MonitoringSchedule

    spec = MonitoringSchedule(name="churn-quality", endpoint="churn",
                              baseline_statistics="s.json",
                              schedule_cron_expression="rate(60 minutes)")  # fmt: skip
    schedules.apply(store, spec)
    where = "monitoring/churn-quality/executions/churn-quality-1"
    store.write_json(f"{where}/constraint_violations.json", {"violations": [
        {"feature_name": "age", "constraint_check_type": "baseline_drift_check",
         "description": "distance 0.4 exceeds 0.1"}]})  # fmt: skip
    store.write_text(f"{where}/report.html", "<h1>drift</h1>")
    _job(store, "churn-quality-1", kind="MonitoringExecution",
         spec={"schedule": "churn-quality"},
         result={"violations": 1, "items": 100,
                 "constraint_violations": store.uri(f"{where}/constraint_violations.json"),
                 "report": store.uri(f"{where}/report.html")})  # fmt: skip


def _experiment(settings) -> None:
    """Two MLflow runs in the session's tracking store, as two jobs' runs."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.tracking_uri())
    experiment = client.create_experiment("churn")
    for name, auc in (("train-a", 0.81), ("train-b", 0.86)):
        run = client.create_run(experiment, run_name=name, tags={"raymaker.job": name})
        client.log_param(run.info.run_id, "eta", 0.1)
        client.log_metric(run.info.run_id, "validation:auc", auc)
        client.set_terminated(run.info.run_id)


@pytest.fixture(scope="module")
def open_client(session):
    from starlette.testclient import TestClient

    return TestClient(build(session, required=False))


@pytest.fixture(scope="module")
def locked(session):
    """A console that needs a token on every request, and a token of each role."""
    from starlette.testclient import TestClient

    made = {role: session.tokens.create(f"{role}-user", [role])[0]
            for role in ("viewer", "operator", "approver")}  # fmt: skip
    return TestClient(build(session, required=True)), made


@pytest.mark.parametrize("path,expected", [
    ("/", ["Recent jobs", "train-churn", "churn"]),
    ("/jobs", ["train-churn", "broken", "FAILED"]),
    ("/jobs/train-churn", ["Stages", "training", "validation:auc", "report.html", "churn v1",
                           "endpoint churn"]),
    ("/jobs/broken", ["Why it failed", "ZeroDivisionError: oops", "line 3", "Resume"]),
    ("/jobs/automl-churn", ["Candidates (best first)", "automl-churn-xgboost", "0.78", "Failed",
                            "insights/report.html"]),
    ("/models", ["churn"]),
    ("/models/churn", ["PendingManualApproval", "Compare selected"]),
    ("/models/churn/1", ["Approve", "Reject", "training train-churn", "endpoint churn"]),
    ("/models/churn/compare?v=1&v=2", ["v1", "v2", "status"]),
    ("/endpoints", ["churn", "InService"]),
    ("/endpoints/churn", ["AllTraffic", "registry://churn/1", "Try it", "churn-quality"]),
    ("/pipelines", ["Pipelines"]),
    ("/monitors", ["churn-quality", "Scheduled", "rate(60 minutes)"]),
    ("/monitors/churn-quality", ["CompletedWithViolations", "baseline_drift_check",
                                 "distance 0.4 exceeds 0.1", "churn-quality-1: report"]),
    ("/experiments", ["churn"]),
    ("/experiments?experiment=churn", ["train-a", "train-b", "FINISHED", "Compare selected"]),
    ("/data?prefix=jobs/train-churn", ["metrics.jsonl", "output/"]),
])  # fmt: skip
def test_every_page_renders_the_stores_objects(open_client, path, expected):
    answer = open_client.get(path)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    for text in expected:
        assert text in answer.text, f"{text!r} not on {path}"


def test_runs_side_by_side(open_client):
    runs = open_client.get("/experiments?experiment=churn").text
    import re

    ids = re.findall(r'name="run" value="([0-9a-f]+)"', runs)
    assert len(ids) == 2
    page = open_client.get(f"/experiments/compare?experiment=churn&run={ids[0]}&run={ids[1]}")
    assert page.status_code == 200
    assert "metric: validation:auc" in page.text and "0.86" in page.text


def test_lists_page_and_filter(open_client):
    first = open_client.get("/jobs?kind=ProcessingJob").text
    assert "page 1 of 3" in first and "bulk-119" in first and "bulk-000" not in first
    assert 'href="?kind=ProcessingJob&amp;page=2"' in first
    third = open_client.get("/jobs?kind=ProcessingJob&page=3").text
    assert "bulk-000" in third and "train-churn" not in third
    found = open_client.get("/jobs?q=BROK").text
    assert "broken" in found and "bulk-001" not in found
    assert "train-churn" not in open_client.get("/jobs?status=FAILED").text
    automl = open_client.get("/jobs/automl-churn").text
    assert automl.index("automl-churn-xgboost") < automl.index("automl-churn-lightgbm")


@pytest.mark.parametrize("path,status,message", [
    ("/jobs?status=DONE", 400, "status &#39;DONE&#39; is unknown; statuses: PENDING"),
    ("/jobs?page=x", 400, "page &#39;x&#39; is not a number"),
    ("/jobs/nope", 404, "no job named &#39;nope&#39;"),
    ("/models/nope", 404, "model group &#39;nope&#39; does not exist"),
    ("/models/churn/9", 404, "no version 9"),
    ("/endpoints/nope", 404, "nope"),
    ("/api/jobs/train-churn/logs?offset=-x", 400, "offset"),
    ("/store/nothing/here.txt", 404, "does not exist"),
])  # fmt: skip
def test_bad_requests_get_a_4xx_naming_the_problem(open_client, path, status, message):
    answer = open_client.get(path)
    assert answer.status_code == status
    assert message in answer.text and "Traceback" not in answer.text


def test_the_store_browser_stays_inside_the_store(open_client, tmp_path):
    assert open_client.get("/store/jobs/train-churn/output/report.html").text == "<h1>a report</h1>"
    page = open_client.get("/store/jobs/train-churn/output/report.html")
    assert page.headers["content-security-policy"].startswith("sandbox")  # its own origin
    for escape in ["/store/..%2F..%2F..%2Fetc%2Fpasswd", "/store/%2E%2E/%2E%2E/etc/passwd"]:
        answer = open_client.get(escape)
        assert answer.status_code in (400, 404) and "root:" not in answer.text


def test_logs_and_metrics_come_as_json(open_client):
    logs = open_client.get("/api/jobs/train-churn/logs").json()
    assert logs["text"] == "epoch 1\nepoch 2\n" and logs["terminal"]
    rest = open_client.get(f"/api/jobs/train-churn/logs?offset={logs['offset']}").json()
    assert rest["text"] == "" and rest["terminal"]
    charts = open_client.get("/api/jobs/train-churn/metrics").json()["charts"]
    assert [c["name"] for c in charts] == ["validation:auc"]
    assert len(charts[0]["figure"]["data"][0]["y"]) == 30
    assert open_client.get("/api/jobs/nope").status_code == 404


def test_roles_gate_every_action(session, locked):
    client, made = locked
    assert client.get("/jobs").status_code == 401  # no token
    assert client.get("/store/jobs/train-churn/output/report.html").status_code == 401
    assert client.get("/store/jobs/x/assets/plotly.min.js").status_code == 200  # public library
    assert "Sign in" in client.get("/jobs").text
    viewer = {"Authorization": f"Bearer {made['viewer']}"}
    assert client.get("/jobs", headers=viewer).status_code == 200
    for path in [
        "/models/churn/1/status",
        "/jobs/broken/resume",
        "/models/churn/1/deploy",
        "/endpoints/churn/invoke",
        "/jobs/train-churn/stop",
    ]:
        answer = client.post(path, headers=viewer, data={"status": "Approved", "body": "1"})
        assert answer.status_code == 403, path
        assert "viewer-user (viewer) may not" in answer.text
    approver = {"Authorization": f"Bearer {made['approver']}"}
    answer = client.post("/models/churn/2/status", headers=approver,
                         data={"status": "Approved", "reason": "beats v1"},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/models/churn/2"
    last = session.registry.get("churn", 2).history[-1]
    assert (last["status"], last["by"], last["comment"]) == ("Approved", "approver-user",
                                                             "beats v1")  # fmt: skip
    assert client.post("/jobs/broken/resume", headers=approver).status_code == 403
    bad = client.post("/models/churn/2/status", headers=approver, data={"status": "Maybe"})
    assert bad.status_code == 400 and "allowed: Approved, Rejected" in bad.text
    foreign = client.post("/models/churn/2/status", data={"status": "Rejected"},
                          headers={**approver, "Origin": "http://evil.example"})  # fmt: skip
    assert foreign.status_code == 401 and "may not act on this console" in foreign.text


def test_signing_in_sets_a_cookie_that_later_pages_use(locked):
    from starlette.testclient import TestClient

    client, made = locked
    fresh = TestClient(client.app)
    wrong = fresh.post("/login", data={"token": "rmk_nope_nope"})
    assert wrong.status_code == 401 and "wrong or unknown token" in wrong.text
    signed = fresh.post("/login", data={"token": made["viewer"], "next": "//evil.example"},
                        follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert "httponly" in signed.headers["set-cookie"].lower()
    assert "samesite=strict" in signed.headers["set-cookie"].lower()
    page = fresh.get("/models/churn/1")
    assert page.status_code == 200 and "viewer-user" in page.text
    assert "disabled" in page.text  # the approve buttons, for a viewer


def test_the_index_follows_the_store(session):
    index = Index(session.store, refresh_s=0)
    assert {r["name"] for r in index.job_rows(q="train-churn")} == {"train-churn"}
    before = len(index.job_rows())
    _job(session.store, "late-arrival", kind="TransformJob")
    assert index.job_rows(q="late")[0]["kind"] == "TransformJob"
    assert len(index.job_rows()) == before + 1
    record = session.jobs.get("late-arrival").describe()
    record.status = JobStatus.FAILED
    write_record(session.store, record)
    assert index.job_rows(q="late")[0]["status"] == "FAILED"
    session.store.delete(layout.job_dir("late-arrival"), recursive=True)
    assert index.job_rows(q="late") == []
    session.registry.reject("churn", 1, "stale")
    assert {r["version"]: r["status"] for r in index.version_rows(group="churn")}[1] == "Rejected"
    assert index.groups() == [{"group": "churn", "versions": 2, "latest": 2, "approved": 2}]


def test_static_assets_ship_offline(open_client):
    plotly = open_client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    assert open_client.get("/static/console.js").status_code == 200
    assert open_client.get("/static/../app.py").status_code == 404
    assert open_client.get("/static/nope.js").status_code == 404
    # a store page's Plotly is the console's own copy, served without a cookie (its sandboxed
    # page sends none): the library is public, the store's bytes are not read
    beside = open_client.get("/store/jobs/x/assets/plotly.min.js")
    assert beside.status_code == 200 and beside.content == plotly.content


def test_the_console_refuses_to_listen_beyond_loopback_without_any_token(tmp_path):
    from raymaker.console.server import prepare
    from raymaker.errors import SpecError

    settings = Settings.from_env().replace(store=str(tmp_path / "s"), serve_token=None)
    with pytest.raises(SpecError, match="raymaker tokens create"):
        prepare(Session(settings=settings), "0.0.0.0")


def test_the_gateway_serves_the_registered_console(session):
    import asyncio

    from test_gateway import call

    from raymaker.console.server import Background
    from raymaker.serve import console_route
    from raymaker.serve.gateway import Gateway

    gw = Gateway("127.0.0.1", 0, None, 1000, {"RAYMAKER_STORE": session.settings.store})
    status, _, body = asyncio.run(call(gw, "/jobs", method="GET"))
    assert status == 404  # no console registered: as before
    console = Background(session, gateway=True)
    try:
        assert session.store.read_json(console_route.KEY)["url"] == console.url
        gw.console._checked = 0.0  # look again now (it rechecks every 5 s)

        async def both():
            page = await call(gw, "/jobs/train-churn", method="GET",
                              headers={"Host": "127.0.0.1:8080"})  # fmt: skip
            posted = await call(gw, "/models/churn/2/status", b"status=Approved&reason=via+gw",
                                headers={"Host": "127.0.0.1:8080",
                                         "Origin": "http://127.0.0.1:8080",
                                         "Content-Type": "application/x-www-form-urlencoded"},
                                )  # fmt: skip
            await gw.console.close()
            return page, posted

        (status, headers, body), (posted, where, _) = asyncio.run(both())
        assert status == 200 and b"validation:auc" in body
        assert headers["content-type"].startswith("text/html")
        assert posted == 303 and where["location"] == "/models/churn/2"
        assert session.registry.get("churn", 2).history[-1]["comment"] == "via gw"
    finally:
        console.stop()
    assert not session.store.exists(console_route.KEY)
