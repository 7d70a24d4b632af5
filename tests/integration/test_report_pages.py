"""Autopilot's report pages in a real browser (Playwright driving Debian's chromium), opened
from the output folder as a user opens a downloaded one: every chart draws, nothing is
fetched from the network, no script fails."""

from __future__ import annotations

import numpy as np
import pytest

from raymaker.automl import reports
from raymaker.automl.ensemble import bag
from raymaker.automl.explain import importances
from raymaker.automl.insights import model_insights
from raymaker.automl.zoo import learner
from raymaker.storage import open_store

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    import os

    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), (
        f"these tests drive Debian's chromium ({CHROMIUM}): apt-get install chromium"
    )
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox"])  # fmt: skip
        yield launched
        launched.close()


def _pages(tmp_path, problem_type: str, classes: list | None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    if problem_type == "Regression":
        y = 2 * X[:, 0] - X[:, 1] + rng.normal(scale=0.2, size=240)
    elif classes and len(classes) == 2:
        y = (X[:, 0] + 0.5 * rng.normal(size=240) > 0).astype(int)
    else:
        y = np.digitize(X[:, 0] + 0.3 * X[:, 1], [-0.5, 0.5])
    features = ["a", "plan_basic", "plan_pro", "d"]
    plan = {"a": "numeric", "plan": "onehot", "d": "numeric"}
    bagged = bag(learner("lightgbm", problem_type=problem_type), X, y,
                 problem_type=problem_type, folds=3)  # fmt: skip
    insights = model_insights(problem_type, y, bagged.oof, classes=classes,
                              scored_on="out-of-fold")  # fmt: skip
    explanation = importances([("lightgbm", bagged, 1.0)], X, features, plan)
    assert {c["name"] for c in explanation["columns"]} == {"a", "plan", "d"}
    store = open_store(str(tmp_path / "store"))
    where = reports.write_candidate_reports(store, "out/job", "job-lightgbm", insights,
                                            explanation)  # fmt: skip
    return [store.uri(store.key(where[k] + "report.html")) for k in where]


@pytest.mark.parametrize("problem_type,classes,charts", [
    ("BinaryClassification", ["no", "yes"], 3),
    ("MulticlassClassification", ["a", "b", "c"], 3),
    ("Regression", None, 2),
])  # fmt: skip
def test_report_pages_draw_offline(browser, tmp_path, problem_type, classes, charts):
    insights_page, explainability_page = _pages(tmp_path, problem_type, classes)
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    for uri, drawn in ((insights_page, charts), (explainability_page, 2)):
        url = uri if uri.startswith("file:") else f"file://{uri}"
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot .main-svg")
        assert page.locator(".js-plotly-plot").count() == drawn
        assert page.locator(".js-plotly-plot .main-svg").count() >= drawn
    assert not errors
    assert all(u.startswith("file://") for u in requests), requests
    page.close()
