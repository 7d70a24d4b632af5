"""Autopilot on a real Ray head: each problem type from raw rows to an endpoint and a batch
transform with SageMaker's response keys, a budget kept, a stopped job that still has its best
candidate, candidate definitions re-run as jobs, and the CLI."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import raymaker as rm
from raymaker.errors import SpecError
from raymaker.jobs.records import JobStatus
from raymaker.sagemaker.deserializers import CSVDeserializer, JSONDeserializer

FAST = ["lightgbm", "linear-learner"]


def churn(n: int, seed: int = 0) -> pd.DataFrame:
    """Raw rows as a user has them: a category with missing values, a date, free text."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "pro", "team", None], n)
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.1] = np.nan
    spend = rng.gamma(2.0, 30.0, n)
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    words = np.array(["slow", "great", "support", "price", "cancel", "love", "bug", "fast"])
    notes = [" ".join(rng.choice(words, 4)) for _ in range(n)]
    logit = 0.04 * (np.nan_to_num(age, nan=40) - 45) - 0.02 * spend + (plan == "basic") * 1.2
    logit += np.array(["cancel" in t for t in notes]) * 1.5
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"age": age, "plan": plan, "spend": spend.round(2),
                         "signup": signup.strftime("%Y-%m-%d"), "notes": notes,
                         "churned": churned})  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("automl-data")
    churn(600).to_csv(folder / "churn.csv", index=False)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(450, 4))
    kinds = np.array(["setosa", "versicolor", "virginica"])[
        np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])
    ]
    multi = pd.DataFrame(X, columns=list("abcd")).assign(species=kinds)
    multi.to_csv(folder / "species.csv", index=False)
    reg = pd.DataFrame(X, columns=list("abcd"))
    reg["price"] = 3 * X[:, 0] - 2 * X[:, 1] ** 2 + rng.normal(scale=0.3, size=450)
    reg.to_csv(folder / "price.csv", index=False)
    big = churn(6000, seed=2)
    big.to_csv(folder / "big.csv", index=False)
    return {k: str(folder / f"{k}.csv") for k in ("churn", "species", "price", "big")}


def test_binary_end_to_end_from_raw_rows_to_endpoint_and_batch(ray_head, local_session, files,
                                                                tmp_path):  # fmt: skip
    automl = rm.AutoML(role="arn:aws:iam::1:role/x", target_attribute_name="churned",
                       algorithms=FAST, folds=3, session=local_session)  # fmt: skip
    automl.fit(files["churn"], job_name="am-binary")
    desc = automl.describe_auto_ml_job()
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["AutoMLJobSecondaryStatus"] == "Completed"
    assert desc["ResolvedAttributes"]["ProblemType"] == "BinaryClassification"  # inferred
    assert desc["ResolvedAttributes"]["AutoMLJobObjective"] == {"MetricName": "F1"}
    best = automl.best_candidate()
    assert best == desc["BestCandidate"] and best["CandidateStatus"] == "Completed"

    listed = automl.list_candidates()
    assert {c["CandidateName"] for c in listed} == {  # a stacking layer on the first two
        "am-binary-lightgbm", "am-binary-linear", "am-binary-lightgbm-l2", "am-binary-linear-l2",
        "am-binary-ensemble"}  # fmt: skip
    stacked = next(c for c in listed if c["CandidateName"] == "am-binary-linear-l2")
    assert stacked["CandidateStatus"] == "Completed" and stacked["InferenceContainers"]
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in listed]
    assert values == sorted(values, reverse=True) and listed[0] == best  # best first
    metrics = {m["MetricName"] for m in best["CandidateProperties"]["CandidateMetrics"]}
    assert {"F1", "AUC", "Accuracy", "LogLoss", "InferenceLatency"} <= metrics
    by_name = automl.list_candidates(sort_by="Name", sort_order="Ascending")
    assert [c["CandidateName"] for c in by_name] == sorted(c["CandidateName"] for c in listed)
    check_reports(local_session.store, desc, rows=600)

    keys = ["predicted_label", "probability", "probabilities", "labels"]
    predictor = automl.deploy(1, "ml.m5.large", inference_response_keys=keys,
                              endpoint_name="am-binary-ep",
                              deserializer=CSVDeserializer())  # fmt: skip
    try:
        rows = churn(5, seed=9).drop(columns=["churned"])
        rows.loc[0, "plan"] = "enterprise"  # a category never seen: still answered
        body = rows.to_csv(index=False, header=False)
        lines = predictor.predict(body)
        assert len(lines) == 5
        for label, probability, probabilities, labels in lines:
            assert label in ("no", "yes") and labels == "['no', 'yes']"
            probs = json.loads(probabilities)
            assert abs(sum(probs) - 1) < 1e-6  # probability: the predicted label's
            assert float(probability) == pytest.approx(probs[["no", "yes"].index(label)])
        predictor.deserializer = JSONDeserializer()
        first = predictor.predict(body)["predictions"][0]
        assert list(first) == keys and first["labels"] == ["no", "yes"]
    finally:
        predictor.delete_endpoint()

    model = automl.create_model("am-binary-model")  # default keys: predicted_label alone
    version = model.register(model_package_group_name="am-churn", approval_status="Approved")
    assert version.model_package_arn == "registry://am-churn/1"
    assert version.framework == "automl" and version.status == "Approved"
    store = local_session.store
    transformer = model.transformer(1, output_path=store.uri("am-batch"), accept="text/csv")
    features = tmp_path / "features.csv"
    churn(40, seed=5).drop(columns=["churned"]).to_csv(features, index=False, header=False)
    transformer.transform(str(features), content_type="text/csv", split_type="Line", wait=True)
    (result,) = [k for k in store.list("am-batch", recursive=True) if k.endswith(".out")]
    labels = store.read_text(result).split()
    assert len(labels) == 40 and set(labels) <= {"no", "yes"}


def check_reports(store, desc: dict, *, rows: int) -> tuple[dict, dict]:
    """The data exploration, model insights and explainability reports are in the job's
    output where describe says, and their numbers add up."""
    exploration = desc["AutoMLJobArtifacts"]["DataExplorationNotebookLocation"]
    profile = json.loads(store.read_text(store.key(exploration + "profile.json")))
    assert profile["rows"] == rows and profile["target"]
    assert store.exists(store.key(exploration + "report.html"))
    where = desc["BestCandidate"]["CandidateProperties"]["CandidateArtifactLocations"]
    insights = json.loads(store.read_text(store.key(where["ModelInsights"] + "insights.json")))
    analysis = json.loads(store.read_text(store.key(where["Explainability"] + "analysis.json")))
    assert insights["candidate"] == desc["BestCandidate"]["CandidateName"]
    assert insights["rows"] == rows and insights["scored_on"] == "out-of-fold"
    if "confusion_matrix" in insights:
        assert sum(map(sum, insights["confusion_matrix"])) == pytest.approx(rows)
    assert sum(c["importance"] for c in analysis["columns"]) == pytest.approx(1, abs=1e-3)
    assert analysis["weight_explained"] == pytest.approx(1)
    for folder in (where["ModelInsights"], where["Explainability"]):
        page = store.read_text(store.key(folder + "report.html"))
        assert '<script src="../assets/plotly.min.js">' in page and "cdn" not in page
        output = folder.rstrip("/").rsplit("/", 1)[0]
        assert store.exists(store.key(output + "/assets/plotly.min.js"))
    return insights, analysis


@pytest.mark.parametrize("data,target,problem", [
    ("species", "species", "MulticlassClassification"),
    ("price", "price", "Regression"),
])  # fmt: skip
def test_multiclass_and_regression_candidates_deploy(ray_head, local_session, files, data,
                                                     target, problem, tmp_path):  # fmt: skip
    name = f"am-{data}"
    automl = rm.AutoMLV2(
        rm.AutoMLTabularConfig(target, algorithms_config=["lightgbm", "xgboost"],
                               problem_type=problem, max_total_job_runtime_in_seconds=120),
        session=local_session,
    )  # fmt: skip
    automl.fit(rm.AutoMLDataChannel(s3_uri=files[data]), job_name=name)
    desc = automl.describe_auto_ml_job()
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    objective = {"Regression": "MSE", "MulticlassClassification": "Accuracy"}[problem]
    assert desc["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["MetricName"] == objective
    insights, analysis = check_reports(local_session.store, desc, rows=450)
    if problem == "Regression":
        assert len(insights["scatter"]["actual"]) == 450 and insights["residuals"]["counts"]
        assert analysis["columns"][0]["name"] in ("a", "b")  # what the price is made of
    else:
        assert insights["labels"] == ["setosa", "versicolor", "virginica"]
        assert len(insights["curves"]) == 3  # each class against the rest
        assert {c["name"] for c in analysis["columns"][:2]} == {"a", "b"}
    if problem == "Regression":
        with pytest.raises(SpecError, match="for classification"):
            automl.create_model(inference_response_keys=["probability"])
    else:
        with pytest.raises(SpecError, match="did you mean 'probability'"):
            automl.create_model(inference_response_keys=["probabilty"])
    # a candidate other than the best, by name; every response key a classifier has
    keys = None if problem == "Regression" else ["predicted_label", "probability",
                                                  "probabilities", "labels"]  # fmt: skip
    predictor = automl.deploy(candidate=f"{name}-xgboost", endpoint_name=f"{name}-ep",
                              inference_response_keys=keys)  # fmt: skip
    try:
        answer = predictor.predict("0.1,0.2,0.3,0.4\n-2,1,0,0\n")
        predictions = answer["predictions"]
        assert len(predictions) == 2
        if problem == "Regression":
            assert all(isinstance(p["score"], float) for p in predictions)
        else:
            second = predictions[1]
            assert list(second) == keys and second["predicted_label"] == "setosa"
            assert second["labels"] == ["setosa", "versicolor", "virginica"]
            assert second["probability"] == max(second["probabilities"])
    finally:
        predictor.delete_endpoint()
    # the best candidate scores a file of raw rows in a batch transform
    store = local_session.store
    transformer = automl.create_model(f"{name}-model").transformer(
        1, output_path=store.uri(f"{name}-batch"), accept="text/csv")  # fmt: skip
    rows = tmp_path / "rows.csv"
    rows.write_text("0.1,0.2,0.3,0.4\n-2,1,0,0\n2,0,0,0\n")
    transformer.transform(str(rows), content_type="text/csv", split_type="Line", wait=True)
    (out,) = [k for k in store.list(f"{name}-batch", recursive=True) if k.endswith(".out")]
    answers = store.read_text(out).split()
    assert len(answers) == 3
    if problem == "Regression":
        assert all(float(a) == float(a) for a in answers)
    else:
        assert answers[1] == "setosa" and answers[2] == "virginica"


def test_the_budget_is_kept_and_a_stopped_job_keeps_its_best(ray_head, local_session, files):
    budget = 25
    automl = rm.AutoML(target_attribute_name="churned", total_job_runtime_in_seconds=budget,
                       session=local_session)  # fmt: skip
    automl.fit(files["big"], job_name="am-budget")
    record = local_session.jobs.get("am-budget").describe()
    assert record.status == JobStatus.SUCCEEDED, record.failure_reason
    assert record.ended_at - record.started_at <= budget * 1.1
    desc = automl.describe_auto_ml_job()
    assert desc["AutoMLJobSecondaryStatus"] in ("MaxAutoMLJobRuntimeReached", "Completed")
    assert automl.best_candidate()["CandidateStatus"] == "Completed"
    statuses = {c["CandidateStatus"] for c in automl.list_candidates()}
    assert statuses <= {"Completed", "Stopped", "Failed"}

    stopped = rm.AutoML(target_attribute_name="churned", session=local_session)
    stopped.fit(files["big"], job_name="am-stop", wait=False, logs=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = stopped.list_candidates(status_equals="Completed")
        if done:
            break
        time.sleep(1)
    assert done, "no candidate finished in time"
    assert done[0]["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "F1"  # live leaderboard
    record = stopped.stop()
    assert record.status == JobStatus.STOPPED
    desc = stopped.describe_auto_ml_job()
    assert desc["AutoMLJobStatus"] == "Stopped" and desc["AutoMLJobSecondaryStatus"] == "Stopped"
    assert desc["BestCandidate"]["InferenceContainers"][0]["ModelDataUrl"]


def report_lines(output: str) -> list[str]:
    """The CLI's lines (this test process is a Ray driver: Ray forwards its workers' stderr,
    asyncio's "Task was destroyed" included, into whatever stream is current)."""
    labels = ("data exploration:", "model insights:", "explainability:")
    return [line for line in output.splitlines() if line.startswith(labels)]


def test_candidate_definitions_only_then_a_definition_reruns(ray_head, local_session, files,
                                                             monkeypatch, tmp_path):  # fmt: skip
    from raymaker.cli.main import cli

    monkeypatch.setenv("RAYMAKER_STORE", local_session.settings.store)
    runner = CliRunner()
    result = runner.invoke(cli, ["automl", "create", "--train", files["species"], "--target",
                                 "species", "--definitions-only", "--algorithms",
                                 "lightgbm,randomforest", "--name", "am-defs"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CandidateDefinitionsGenerated" in result.output
    desc = local_session.describe_auto_ml_job("am-defs")
    assert "BestCandidate" not in desc and desc["GenerateCandidateDefinitionsOnly"]
    result = runner.invoke(cli, ["automl", "reports", "am-defs"])  # explored, nothing trained
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in report_lines(result.output)] == ["data exploration"]
    record = local_session.jobs.get("am-defs").describe()
    definitions = record.result["candidate_definitions"]
    assert [d["learner"] for d in definitions] == ["lightgbm", "random_forest"]
    spec = rm.load_spec(definitions[0]["uri"], store=local_session.store)
    assert spec.algorithms == ["lightgbm"] and spec.problem_type == "MulticlassClassification"
    local_session.jobs.submit(spec).wait()
    rerun = local_session.describe_auto_ml_job(spec.name)
    assert rerun["BestCandidate"]["CandidateName"] == f"{spec.name}-lightgbm"

    result = runner.invoke(cli, ["automl", "candidates", spec.name])
    assert result.exit_code == 0 and f"{spec.name}-lightgbm" in result.output
    assert "\x1b[" not in result.output
    result = runner.invoke(cli, ["automl", "describe", spec.name, "-o", "json"])
    assert json.loads(result.output)["AutoMLJobStatus"] == "Completed"
    result = runner.invoke(cli, ["automl", "reports", spec.name, "--to", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    pages = [line.split(None, 2)[-1] for line in report_lines(result.output)]
    assert pages == [str(tmp_path / "r" / f / "report.html") for f in
                     ("data-exploration", "model-insights", "explainability")]  # fmt: skip
    assert all(os.path.isfile(p) for p in pages)
    assert (tmp_path / "r" / "assets" / "plotly.min.js").stat().st_size > 1_000_000


def test_hyperparameter_tuning_mode_searches_the_zoo(ray_head, local_session, files):
    automl = rm.AutoML(target_attribute_name="price", mode="HYPERPARAMETER_TUNING",
                       max_candidates=5, algorithms=["lightgbm", "linear-learner"],
                       random_seed=3, session=local_session)  # fmt: skip
    automl.fit(files["price"], job_name="am-hpo")
    desc = automl.describe_auto_ml_job()
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["ResolvedAttributes"]["ProblemType"] == "Regression"
    record = local_session.jobs.get("am-hpo").describe()
    assert record.result["mode"] == "HYPERPARAMETER_TUNING"
    assert record.result["metrics_from"] == "holdout"  # a fifth held out for the search
    listed = automl.list_candidates()
    assert len(listed) == 5 and not any(c["CandidateName"].endswith("ensemble") for c in listed)
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in listed]
    assert values == sorted(values)  # MSE: smallest first
    learners = {c["raymaker"]["learner"] for c in listed}
    assert learners <= {"lightgbm", "linear"}
    best = automl.best_candidate()
    assert best["CandidateName"] == listed[0]["CandidateName"]
    assert best["InferenceContainers"][0]["ModelDataUrl"].endswith("model.tar.gz")


def test_on_large_data_asha_stops_trailing_trials_at_a_rung(ray_head, local_session, files):
    automl = rm.AutoML(target_attribute_name="churned", mode="HYPERPARAMETER_TUNING",
                       max_candidates=8, algorithms=["lightgbm", "linear-learner"],
                       random_seed=0, session=local_session)  # fmt: skip
    automl.fit(files["big"], job_name="am-asha")  # 4,800 training rows: rungs of 533, 1,600
    desc = automl.describe_auto_ml_job()
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    listed = automl.list_candidates()
    assert len(listed) == 8
    stopped = [c for c in listed if c["CandidateStatus"] == "Stopped"]
    assert stopped and all("(ASHA)" in c["FailureReason"] for c in stopped)
    assert listed[0]["CandidateStatus"] == "Completed" and listed[0] == desc["BestCandidate"]
