"""The console in a real browser (Playwright driving Debian's chromium) over real jobs, a real
endpoint, a registry and a pipeline: pages show what the test made, the job's chart draws its
metric, logs follow a running job, approving in the page records who approved, a viewer may
not deploy or approve (403) and beyond loopback no token gets 401. Each page's screenshot is
kept under ``test-artifacts/console/`` (``RAYMAKER_TEST_ARTIFACTS`` moves it)."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_report_pages import browser  # noqa: F401 - a fixture

import raymaker as rm
from raymaker.console.server import Background
from raymaker.quickstart import CHURN_RECIPE, make_churn_data

ARTIFACTS = Path(os.environ.get("RAYMAKER_TEST_ARTIFACTS", "test-artifacts")) / "console"
TICKS = """
import time
for i in range(24):
    print(f"tick {i}", flush=True)
    time.sleep(0.4)
"""


@pytest.fixture(scope="module")
def world(ray_head, tmp_path_factory):
    """A store with a trained model in the registry (two versions), an endpoint serving v1,
    a pipeline execution, tokens of three roles, and the console beyond loopback."""
    import yaml

    root = tmp_path_factory.mktemp("console")
    session = rm.Session(store=str(root / "store"))
    path = root / "churn.csv"
    make_churn_data(600).to_csv(path, index=False)
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"steps": CHURN_RECIPE}))
    data = session.upload_data(str(path), key_prefix="churn")
    est = rm.XGBoost(label="churn", hyperparameters={"num_round": 12, "eval_metric": "auc"},
                     recipe=str(recipe), session=session)  # fmt: skip
    est.fit({"train": data, "validation": data}, job_name="console-train", logs=False)
    est.register(model_package_group_name="churn", approval_status="Approved")
    est.register(model_package_group_name="churn")
    predictor = rm.Model(model_data="registry://churn/1", session=session).deploy(
        1, "cpu.0.25", endpoint_name="console-ep"
    )
    tuner = rm.HyperparameterTuner(
        rm.XGBoost(label="churn", hyperparameters={"num_round": 5, "eval_metric": "auc"},
                   recipe=str(recipe),
                   session=session), "validation:auc",
        {"eta": rm.ContinuousParameter(0.05, 0.5), "max_depth": rm.IntegerParameter(2, 6)},
        strategy="Random", max_jobs=3, max_parallel_jobs=2, random_seed=1,
    )  # fmt: skip
    tuner.fit({"train": data, "validation": data}, job_name="console-tune")
    hello = root / "hello.py"
    hello.write_text("print('hello from a step')\n")
    session.jobs.submit({"kind": "Pipeline", "name": "console-pipe", "Steps": [
        {"Name": "hello", "Type": "Processing", "Arguments": {"code": str(hello)}}]},
        name="console-pipe-run", wait=True, timeout=180)  # fmt: skip
    made = {role: session.tokens.create(f"{role}-user", [role])[0]
            for role in ("viewer", "approver", "operator")}  # fmt: skip
    console = Background(session, host="0.0.0.0")  # beyond loopback: a token on every request
    yield session, console, made, root
    console.stop()
    predictor.delete_endpoint()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextlib.contextmanager
def browsing(browser, console, token):  # noqa: F811 - the fixture imported above
    """A page signed in with ``token`` (through the sign-in form a 401 shows); no script on
    any page it opens may fail."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{console.url}/jobs")
        assert "Sign in" in page.content()  # 401 with the sign-in form
        page.fill("input[name=token]", token)
        page.click("text=Sign in")
        page.wait_for_url(f"{console.url}/")
        yield page
        assert not errors, errors
    finally:
        context.close()


def _request(url: str, *, token: str | None = None, data: dict | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if data is not None:
        from urllib.parse import urlencode

        body = urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers),
                                    timeout=30) as reply:  # fmt: skip
            return reply.status
    except urllib.error.HTTPError as e:
        return e.code


def test_pages_show_what_was_made(world, browser):  # noqa: F811
    session, console, made, _ = world
    with browsing(browser, console, made["operator"]) as page:
        for name, path, expected in [
            ("home", "/", ["console-train", "console-ep", "churn", "console-pipe"]),
            ("jobs", "/jobs", ["console-train", "TrainingJob", "SUCCEEDED"]),
            ("models", "/models/churn", ["Approved", "PendingManualApproval"]),
            ("endpoints", "/endpoints", ["console-ep", "InService"]),
            ("pipeline", "/pipelines/console-pipe", ["console-pipe-run"]),
            ("execution", "/executions/console-pipe-run", ["hello", "Succeeded"]),
            ("monitors", "/monitors", ["Monitoring schedules"]),
            ("experiments", "/experiments", ["Experiments (MLflow)"]),
            ("data", "/data?prefix=churn", ["churn.csv"]),
        ]:
            page.goto(console.url + path)
            page.wait_for_load_state("networkidle")
            text = page.inner_text("main")
            for item in expected:
                assert item in text, f"{item!r} not on {path}"
            _shot(page, name)
        page.goto(f"{console.url}/executions/console-pipe-run")
        page.wait_for_selector(".picture svg", timeout=90_000)  # the graph, from its JSON
        assert "hello" in page.inner_text(".picture")


def test_the_job_page_charts_its_metric(world, browser):  # noqa: F811
    _, console, made, _ = world
    with browsing(browser, console, made["viewer"]) as page:
        page.goto(f"{console.url}/jobs/console-train")
        page.wait_for_selector(".chart .main-svg", timeout=90_000)
        titles = page.locator(".chart .gtitle").all_text_contents()
        assert "validation-auc" in titles, titles
        assert page.locator(".chart .scatterlayer .trace").count() >= len(titles)
        assert "training" in page.inner_text(".timeline")
        expect(page.locator("pre.logs")).not_to_be_empty()
        assert page.get_by_role("button", name="Resume").count() == 0  # it succeeded
        _shot(page, "job")


def test_the_tuning_page_ranks_trials_and_charts_them(world, browser):  # noqa: F811
    _, console, made, _ = world
    with browsing(browser, console, made["viewer"]) as page:
        page.goto(f"{console.url}/jobs/console-tune")
        page.wait_for_selector(".parcoords", timeout=90_000)  # hyperparameters vs objective
        titles = page.locator(".chart .gtitle").all_text_contents()
        assert "validation:auc by trial (Maximize)" in titles, titles
        board = page.locator("section", has_text="Leaderboard").locator("tbody tr")
        assert board.count() == 3
        values = [float(v) for v in board.locator("td:nth-child(4)").all_inner_texts()]
        assert values == sorted(values, reverse=True)  # best first
        _shot(page, "tuning")
        page.get_by_role("link", name="tuning.html").click()  # its report, sandboxed
        page.wait_for_selector(".main-svg", timeout=90_000)  # Plotly, from beside the page
        assert "Tuning job console-tune" in page.inner_text("h1")


def test_logs_follow_a_running_job(world, browser):  # noqa: F811
    session, console, made, root = world
    script = root / "ticks.py"
    script.write_text(TICKS)
    handle = session.jobs.submit({"kind": "ProcessingJob", "code": str(script)},
                                 name="console-ticks")  # fmt: skip
    with browsing(browser, console, made["viewer"]) as page:
        page.goto(f"{console.url}/jobs/console-ticks")
        expect(page.locator("pre.logs")).to_contain_text("tick 2", timeout=90_000)
        early = page.inner_text("pre.logs")
        assert "tick 23" not in early  # shown while it runs, not only at the end
        expect(page.locator("pre.logs")).to_contain_text("tick 23", timeout=60_000)
        _shot(page, "job-running")
        assert handle.wait(timeout=60).status.value == "SUCCEEDED"
        text = page.inner_text("pre.logs")
        assert text.count("tick 23") == 1  # followed, not repeated


def test_an_operator_stops_a_running_job_from_its_page(world, browser):  # noqa: F811
    session, console, made, root = world
    script = root / "ticks.py"
    script.write_text(TICKS.replace("range(24)", "range(300)"))
    handle = session.jobs.submit({"kind": "ProcessingJob", "code": str(script)},
                                 name="console-stop")  # fmt: skip
    with browsing(browser, console, made["operator"]) as page:
        page.on("dialog", lambda dialog: dialog.accept())  # "Stop job console-stop?"
        page.goto(f"{console.url}/jobs/console-stop")
        expect(page.locator("pre.logs")).to_contain_text("tick 1", timeout=90_000)
        page.get_by_role("button", name="Stop").click()
        expect(page.locator(".facts [data-fact=status]")).to_have_text("STOPPED", timeout=60_000)
        assert handle.describe().status.value == "STOPPED"


def test_approving_in_the_page_records_who(world, browser):  # noqa: F811
    session, console, made, _ = world
    with browsing(browser, console, made["approver"]) as page:
        page.goto(f"{console.url}/models/churn/2")
        page.fill("input[name=reason]", "AUC holds on the new data")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(f"{console.url}/models/churn/2")
        assert "Approved" in page.inner_text(".facts")
        assert "approver-user" in page.inner_text("main")
        _shot(page, "model-version")
        last = session.registry.get("churn", 2).history[-1]
        assert (last["status"], last["by"], last["comment"]) == (
            "Approved", "approver-user", "AUC holds on the new data")  # fmt: skip
        assert page.get_by_role("button", name="Deploy").is_disabled()  # not an operator


def test_try_it_invokes_the_endpoint(world, browser):  # noqa: F811
    _, console, made, _ = world
    with browsing(browser, console, made["operator"]) as page:
        page.goto(f"{console.url}/endpoints/console-ep")
        page.fill("textarea[name=body]", "3,month-to-month,95.0,280.0,4")
        page.get_by_role("button", name="Invoke").click()
        page.wait_for_selector("pre.answer")
        answer = page.inner_text("pre.answer")
        assert answer.startswith("[AllTraffic]") and "0." in answer
        page.wait_for_selector(".endpoint-live .main-svg", timeout=30_000)  # live traffic
        _shot(page, "endpoint")


def test_roles_and_tokens_over_http(world):
    session, console, made, _ = world
    url = console.url
    assert _request(f"{url}/jobs") == 401  # beyond loopback, no token
    assert _request(f"{url}/api/jobs/console-train") == 401
    assert _request(f"{url}/jobs", token="rmk_bad_token") == 401
    assert _request(f"{url}/jobs", token=made["viewer"]) == 200
    viewer = made["viewer"]
    assert _request(f"{url}/models/churn/1/status", token=viewer,
                    data={"status": "Rejected"}) == 403  # fmt: skip
    assert _request(f"{url}/models/churn/2/deploy", token=viewer,
                    data={"endpoint": "console-ep"}) == 403  # fmt: skip
    assert _request(f"{url}/endpoints/console-ep/invoke", token=viewer,
                    data={"body": "1"}) == 403  # fmt: skip
    assert _request(f"{url}/models/churn/1/deploy", token=made["approver"],
                    data={"endpoint": "console-ep"}) == 403  # fmt: skip
    assert session.registry.get("churn", 1).status == "Approved"  # nothing changed
    state = json.loads(_read(f"{url}/api/jobs/console-train", made["viewer"]))
    assert state["status"] == "SUCCEEDED" and state["terminal"]
    session.tokens.revoke("viewer-user")
    import time

    time.sleep(2.1)  # a revoked token stops working within two seconds
    assert _request(f"{url}/jobs", token=viewer) == 401


def _read(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.read()
