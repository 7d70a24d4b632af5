"""Tuning jobs on a real Ray head: each strategy, warm start, early stopping, failed trials,
an objective never reported, and a tuning job resumed after its driver was killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import raymaker as rm
from raymaker.errors import JobFailed
from raymaker.jobs.records import JobStatus, read_record

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, str]:
    rng = np.random.default_rng(0)
    n = 3000
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    df["label"] = y
    folder = tmp_path_factory.mktemp("tuning-data")
    df[:2400].to_csv(folder / "train.csv", index=False)
    df[2400:].to_csv(folder / "val.csv", index=False)
    return {"train": str(folder / "train.csv"), "validation": str(folder / "val.csv")}


def xgb(session, **hps):
    return rm.XGBoost(label="label", hyperparameters={"num_round": 20, **hps}, session=session)


RANGES = {"eta": rm.ContinuousParameter(0.01, 0.5), "max_depth": rm.IntegerParameter(2, 8)}


def test_bayesian_tuner_runs_every_trial_as_a_training_job(ray_head, local_session, data):
    tuner = rm.HyperparameterTuner(
        xgb(local_session), "validation:logloss", RANGES, objective_type="Minimize",
        max_jobs=6, max_parallel_jobs=2, random_seed=3,
    )  # fmt: skip
    tuner.fit(data, job_name="tune-bayes")
    record = tuner.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["trials"] == 6 and record.result["succeeded"] == 6

    board = local_session.tuning_leaderboard("tune-bayes")
    objectives = [t["objective"] for t in board["trials"]]
    assert objectives == sorted(objectives)  # best first
    assert (
        tuner.best_training_job()
        == board["best"]["training_job"]
        == board["trials"][0]["training_job"]
    )
    store = local_session.store
    for t in board["trials"]:  # full training job records, linked to the tuning job
        trial = read_record(store, t["training_job"])
        assert trial.parent == "tune-bayes" and trial.status == JobStatus.SUCCEEDED
        assert trial.spec["hyperparameters"]["eta"] == t["hyperparameters"]["eta"]
        assert trial.spec["hyperparameters"]["num_round"] == 20
        assert store.exists(store.key(trial.result["model_data"]))
        assert t["steps"] == 20
        manifest = json.loads(store.read_text(
            store.key(trial.result["model_dir"]) + "/raymaker-model.json"))  # fmt: skip
        assert manifest["lineage"]["tuning_job"] == "tune-bayes"
    best = tuner.best_estimator()
    assert best.model_data == record.result["model_data"]

    df = tuner.analytics().dataframe()
    assert len(df) == 6 and set(df["TrainingJobStatus"]) == {"Completed"}
    assert {"eta", "max_depth", "TrainingJobName", "FinalObjectiveValue"} <= set(df.columns)
    assert df["FinalObjectiveValue"].min() == pytest.approx(record.result["best_objective"])
    page = store.read_text("jobs/tune-bayes/tuning.html")
    assert "Plotly.newPlot" in page and 'src="assets/plotly.min.js"' in page
    assert store.exists("jobs/tune-bayes/assets/plotly.min.js")
    assert len(store.read_json("jobs/tune-bayes/trials.json")["trials"]) == 6
    attached = rm.HyperparameterTuner.attach("tune-bayes", session=local_session)
    assert attached.best_training_job() == tuner.best_training_job()

    env = {**os.environ, "RAYMAKER_STORE": local_session.settings.store}
    plot = os.path.join(os.path.dirname(data["train"]), "tuning.html")
    out = subprocess.run(
        [sys.executable, "-m", "raymaker", "tuning", "describe", "tune-bayes", "--plot", plot],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    assert f"best: {tuner.best_training_job()}" in out and out.count("SUCCEEDED") == 7
    assert "validation:logloss" in open(plot).read()

    # the best model, deployed straight from the tuner
    predictor = tuner.deploy(instance_type="cpu.0.25", endpoint_name="tune-bayes-best")
    try:
        answer = predictor.predict([[0.1, -0.2, 0.3, 0.0, 1.0, -1.0]])
        assert 0.0 <= answer["predictions"][0]["score"] <= 1.0
        assert local_session.endpoints.state("tune-bayes-best")["variants"][0]["model_data"] \
            == record.result["model_data"]  # fmt: skip
    finally:
        predictor.delete_endpoint()


def test_tuning_on_an_s3_store(ray_head, s3_root, data):
    session = rm.Session(store=s3_root)
    tuner = rm.HyperparameterTuner(
        xgb(session), "validation:logloss", RANGES, objective_type="Minimize",
        strategy="Random", max_jobs=3, max_parallel_jobs=2, random_seed=5,
    )  # fmt: skip
    tuner.fit(data, job_name="tune-s3")
    result = tuner.describe().result
    assert result["succeeded"] == 3 and result["model_data"].startswith(s3_root)
    numbers = sorted(t["number"] for t in session.tuning_leaderboard("tune-s3")["trials"])
    assert numbers == [1, 2, 3]  # claimed with conditional puts on S3: no gaps, no repeats
    assert session.store.exists("jobs/tune-s3/tune/tuner.pkl")


def test_a_seeded_bayesian_search_repeats_itself(ray_head, local_session, data):
    def run(name):
        tuner = rm.HyperparameterTuner(
            xgb(local_session), "validation:logloss", RANGES, objective_type="Minimize",
            max_jobs=4, random_seed=11,
        )  # fmt: skip
        tuner.fit(data, job_name=name)
        return [
            (t["number"], t["hyperparameters"])
            for t in sorted(
                local_session.tuning_leaderboard(name)["trials"], key=lambda t: t["number"]
            )
        ]

    assert run("tune-seed-a") == run("tune-seed-b")


def test_grid_covers_every_combination_and_warm_start_skips_the_parents(
    ray_head, local_session, data
):
    grid = {"eta": rm.CategoricalParameter([0.1, 0.3]), "max_depth": rm.CategoricalParameter([3])}
    parent = rm.HyperparameterTuner(
        xgb(local_session), "validation:logloss", grid, objective_type="Minimize",
        strategy="Grid", max_parallel_jobs=2,
    )  # fmt: skip
    parent.fit(data, job_name="tune-grid-parent")
    assert parent.describe().result["trials"] == 2

    wider = {**grid, "max_depth": rm.CategoricalParameter([3, 6])}
    child = rm.HyperparameterTuner(
        xgb(local_session), "validation:logloss", wider, objective_type="Minimize",
        strategy="Grid", max_parallel_jobs=2,
        warm_start_config=rm.WarmStartConfig(
            rm.WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents=["tune-grid-parent"]
        ),
    )  # fmt: skip
    child.fit(data, job_name="tune-grid-child")
    result = child.describe().result
    assert result["trials"] == 2 and result["warm_start"]["observations"] == 2
    depths = {t["hyperparameters"]["max_depth"] for t in
              local_session.tuning_leaderboard("tune-grid-child")["trials"]}  # fmt: skip
    assert depths == {6}  # the parent's combinations were not trained again
    parent_best = parent.describe().result["best_objective"]
    assert result["overall_best_objective"] == min(parent_best, result["best_objective"])

    # transfer learning: the parent's trials seed a Bayesian search over continuous ranges
    transfer = rm.HyperparameterTuner(
        xgb(local_session), "validation:logloss", RANGES, objective_type="Minimize",
        max_jobs=2, random_seed=1,
        warm_start_config=rm.WarmStartConfig("TransferLearning", parents=["tune-grid-child",
                                                                          "tune-grid-parent"]),
    )  # fmt: skip
    transfer.fit(data, job_name="tune-transfer")
    warm = transfer.describe().result["warm_start"]
    assert warm["observations"] == 4 and warm["parents"] == ["tune-grid-child", "tune-grid-parent"]


def test_hyperband_cuts_weak_trials_early(ray_head, local_session, data):
    tuner = rm.HyperparameterTuner(
        rm.XGBoost(label="label", session=local_session), "validation:logloss", RANGES,
        objective_type="Minimize", strategy="Hyperband", max_jobs=6, max_parallel_jobs=2,
        strategy_config=rm.StrategyConfig(rm.HyperbandStrategyConfig(min_resource=3,
                                                                     max_resource=81)),
        random_seed=1,
    )  # fmt: skip
    tuner.fit(data, job_name="tune-hyperband")
    result = tuner.describe().result
    assert result["stopped_early"] >= 1 and result["total_steps"] < 6 * 81
    board = local_session.tuning_leaderboard("tune-hyperband")
    assert board["best"]["steps"] == 81 and board["best"]["status"] == "SUCCEEDED"
    cut = [t for t in board["trials"] if t["status"] == "STOPPED"]
    for t in cut:
        assert t["steps"] < 81 and t["objective"] is not None
        assert "stopped early" in read_record(local_session.store, t["training_job"]).failure_reason


def test_median_rule_stops_a_trial_behind_the_others(ray_head, local_session, data):
    tuner = rm.HyperparameterTuner(
        xgb(local_session, num_round=60), "validation:logloss",
        {"eta": rm.ContinuousParameter(0.001, 0.5, scaling_type="Logarithmic")},
        objective_type="Minimize", strategy="Random", max_jobs=8, early_stopping_type="Auto",
        random_seed=4,
    )  # fmt: skip
    tuner.fit(data, job_name="tune-median")
    result = tuner.describe().result
    assert result["stopped_early"] >= 1, local_session.tuning_leaderboard("tune-median")
    assert result["total_steps"] < 8 * 60


def test_trials_of_two_ray_train_workers_each(ray_head, local_session, data):
    tuner = rm.HyperparameterTuner(
        rm.XGBoost(label="label", hyperparameters={"num_round": 10}, instance_count=2,
                   session=local_session),
        "validation:logloss", {"eta": rm.ContinuousParameter(0.05, 0.5)},
        objective_type="Minimize", strategy="Random", max_jobs=2, random_seed=1,
    )  # fmt: skip
    tuner.fit(data, job_name="tune-two-workers")
    result = tuner.describe().result
    assert result["succeeded"] == 2 and result["total_steps"] == 20
    best = read_record(local_session.store, result["best_training_job"])
    assert best.result["execution"] == "ray_train" and best.result["workers"] == 2


SCRIPT = """\
import argparse, sys
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--fail", default="no")
a = p.parse_args()
if a.fail == "yes":
    raise RuntimeError("this configuration cannot train")
print(f"loss={(a.x - 0.3) ** 2:.6f}", flush=True)
"""


def script_estimator(session, tmp_path, script: str, **kw):
    folder = tmp_path / "src"  # not tmp_path itself: the test's store lives there
    folder.mkdir()
    (folder / "train.py").write_text(script)
    return rm.Estimator(
        entry_point="train.py", source_dir=str(folder),
        metric_definitions=[{"Name": "loss", "Regex": r"loss=([0-9.]+)"}], session=session, **kw,
    )  # fmt: skip


def test_failed_trials_are_recorded_and_do_not_stop_the_job(ray_head, local_session, tmp_path):
    tuner = rm.HyperparameterTuner(
        script_estimator(local_session, tmp_path, SCRIPT), "loss",
        {"x": rm.CategoricalParameter([0.2]), "fail": rm.CategoricalParameter(["no", "yes"])},
        objective_type="Minimize", strategy="Grid",
    )  # fmt: skip
    tuner.fit(job_name="tune-fails")
    result = tuner.describe().result
    assert result["succeeded"] == 1 and result["failed"] == 1
    failed = [t for t in local_session.tuning_leaderboard("tune-fails")["trials"]
              if t["status"] == "FAILED"][0]  # fmt: skip
    record = read_record(local_session.store, failed["training_job"])
    assert "this configuration cannot train" in record.traceback


def test_an_objective_no_trial_reports_fails_the_job_naming_what_was_reported(
    ray_head, local_session, tmp_path
):
    tuner = rm.HyperparameterTuner(
        script_estimator(local_session, tmp_path, SCRIPT), "validation:auc",
        {"x": rm.ContinuousParameter(0, 1)}, strategy="Random", max_jobs=5,
    )  # fmt: skip
    with pytest.raises(JobFailed, match=r"'validation:auc' was never reported.*reported: loss"):
        tuner.fit(job_name="tune-nometric")
    record = tuner.describe()
    assert record.status == JobStatus.FAILED
    assert len(local_session.tuning_leaderboard("tune-nometric")["trials"]) < 5  # stopped early


SLOW_SCRIPT = """\
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
a = p.parse_args()
time.sleep(1.5)
print(f"loss={(a.x - 0.3) ** 2:.6f}", flush=True)
"""


def test_a_killed_tuning_driver_resumes_without_rerunning_finished_trials(
    ray_head, local_session, tmp_path
):
    tuner = rm.HyperparameterTuner(
        script_estimator(local_session, tmp_path, SLOW_SCRIPT), "loss", {"x": rm.ContinuousParameter(0, 1)},
        objective_type="Minimize", strategy="Random", max_jobs=5, random_seed=2,
    )  # fmt: skip
    tuner.fit(job_name="tune-resume", wait=False)
    store = local_session.store

    def finished():
        board = local_session.tuning_leaderboard("tune-resume")
        return [t for t in board["trials"] if t["status"] == "SUCCEEDED"]

    deadline = time.monotonic() + 120
    while len(finished()) < 2:
        assert time.monotonic() < deadline, "trials did not finish"
        time.sleep(0.3)
    before = {t["training_job"]: read_record(store, t["training_job"]) for t in finished()}
    submission = read_record(store, "tune-resume").submission_id
    pid = local_session.jobs.api.details(submission)["driver_info"]["pid"]
    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while not local_session.jobs.refresh("tune-resume").status.terminal:
        assert time.monotonic() < deadline, "the killed driver was never noticed"
        time.sleep(0.3)
    assert local_session.jobs.refresh("tune-resume").status == JobStatus.FAILED

    tuner.fit(job_name="tune-resume", resume=True)
    record = tuner.describe()
    assert record.status == JobStatus.SUCCEEDED and record.attempts == 2
    assert record.result["succeeded"] == 5
    for name, old in before.items():  # finished trials were not run again
        now = read_record(store, name)
        assert now.attempts == 1 and now.started_at == old.started_at
    assert "resuming the experiment" in store.read_text("jobs/tune-resume/logs.txt")
    assert json.loads(store.read_text("jobs/tune-resume/trials.json"))["trials"]
