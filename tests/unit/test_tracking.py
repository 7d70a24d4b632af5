"""Experiments over MLflow without Ray: SageMaker's Run API and ExperimentAnalytics on a real
SQLite store, a ledger spooled while a real ``mlflow server`` is down and replayed once it is
up, ``experiment_config`` checks, and MLflow's UI (loopback, or a token beyond it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import raymaker as rm
from raymaker.errors import NotFound, SpecError


@pytest.fixture
def session(tmp_path):
    settings = rm.Settings.from_env().replace(
        store=str(tmp_path / "store"), mlflow=True,
        mlflow_tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",
    )  # fmt: skip
    return rm.Session(settings=settings)


def test_run_logs_and_reads_back_and_analytics_summarize_the_history(session):
    from mlflow.tracking import MlflowClient

    from raymaker.sagemaker.analytics import ExperimentAnalytics
    from raymaker.sagemaker.experiments import list_runs, load_run

    with rm.Run("study", "r1", session=session) as run:
        run.log_parameter("lr", 0.1)
        run.log_parameters({"depth": 4, "kind": "gbm"})
        for step, loss in enumerate([0.9, 0.5, 0.4]):
            run.log_metric("loss", loss, step=step)
        run.log_confusion_matrix([0, 1, 1, 0], [0, 1, 0, 0], title="cm")
        run.log_roc_curve([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.3], title="roc")
        run.log_precision_recall([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.3], title="pr")
        run.log_artifact("raw", "s3://bucket/raw.csv", is_output=False)
    with rm.Run("study", "r2", session=session) as other:
        other.log_metric("loss", 0.7)

    client = MlflowClient(session.settings.tracking_uri())
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "r1"
    assert got.data.params == {"lr": "0.1", "depth": "4", "kind": "gbm"}
    assert got.data.metrics["roc.auc"] == pytest.approx(1.0)
    assert got.data.tags["artifact.input.raw"] == "s3://bucket/raw.csv"
    files = {a.path for a in client.list_artifacts(run.run_id, "output")}
    assert files == {"output/cm.json", "output/roc.json", "output/pr.json"}
    matrix = __import__("json").loads(
        open(client.download_artifacts(run.run_id, "output/cm.json")).read()
    )
    assert matrix["type"] == "ConfusionMatrix" and matrix["data"]["matrix"] == [[2, 0], [1, 1]]

    again = load_run("r1", "study", session=session)  # reopening by name: the same run
    assert again.run_id == run.run_id and again.parameters["lr"] == "0.1"
    assert [r.run_name for r in list_runs("study", session=session)] == ["r2", "r1"]

    frame = ExperimentAnalytics("study", session=session, sort_by="loss - Min",
                                sort_order="Ascending").dataframe()  # fmt: skip
    first = frame.iloc[0]
    assert first["DisplayName"] == "r1" and first["lr"] == 0.1 and first["depth"] == 4
    assert first["loss - Min"] == 0.4 and first["loss - Max"] == 0.9
    assert first["loss - Count"] == 3 and first["loss - Last"] == 0.4
    assert first["loss - Avg"] == pytest.approx(0.6)
    assert frame.iloc[1]["DisplayName"] == "r2"

    with pytest.raises(NotFound, match="no run named 'r9'"):
        load_run("r9", "study", session=session)
    with pytest.raises(NotFound, match="no MLflow experiment named 'nope'"):
        ExperimentAnalytics("nope", session=session).dataframe()
    with pytest.raises(SpecError, match="inside a job's script"):
        load_run(session=session)


def test_jobs_launched_inside_a_run_take_its_experiment_config(session):
    with rm.Run("study", "ctx", session=session):
        spec = rm.XGBoost(label="y", session=session).training_job_spec({"train": "data/x"})
    assert spec.experiment_config.experiment_name == "study"
    assert spec.experiment_config.run_name == "ctx"
    outside = rm.XGBoost(label="y", session=session).training_job_spec({"train": "data/x"})
    assert outside.experiment_config is None


def test_experiment_config_names_the_field_and_its_allowed_keys():
    with pytest.raises(SpecError) as err:
        rm.parse_spec({"kind": "TrainingJob", "algorithm": "xgboost", "label": "y",
                       "inputs": {"train": "data/x"},
                       "experiment_config": {"ExperimentName": "e", "RunNmae": "r"}})  # fmt: skip
    assert "experiment_config" in str(err.value) and "RunNmae" in str(err.value)
    with pytest.raises(SpecError, match="ExperimentName|experiment_name"):
        rm.parse_spec({"kind": "TrainingJob", "algorithm": "xgboost", "label": "y",
                       "inputs": {"train": "data/x"},
                       "experiment_config": {"ExperimentName": ""}})  # fmt: skip


def test_settings_track_in_home_by_default_and_jobs_inherit_the_resolved_uri(tmp_path):
    settings = rm.Settings.from_env({"RAYMAKER_HOME": str(tmp_path)})
    assert settings.mlflow and settings.tracking_uri() == f"sqlite:///{tmp_path}/mlflow.db"
    env = settings.job_env()
    assert env["RAYMAKER_MLFLOW_TRACKING_URI"] == settings.tracking_uri()
    assert env["RAYMAKER_MLFLOW"] == "1"
    off = rm.Settings.from_env({"RAYMAKER_HOME": str(tmp_path), "RAYMAKER_MLFLOW": "0"})
    assert not off.mlflow and off.job_env()["RAYMAKER_MLFLOW"] == "0"
    assert not settings.mlflow_registry
    assert rm.Settings.from_env({"RAYMAKER_MLFLOW_REGISTRY": "1"}).mlflow_registry
    with pytest.raises(SpecError, match="RAYMAKER_MLFLOW='maybe'"):
        rm.Settings.from_env({"RAYMAKER_MLFLOW": "maybe"})


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 90.0, auth: str | None = None) -> int:
    deadline = time.time() + timeout
    while True:
        request = urllib.request.Request(url)
        if auth:
            request.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=3) as reply:
                return reply.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def test_a_ledger_spooled_while_the_server_is_down_is_replayed_once_it_is_up(tmp_path):
    from mlflow.tracking import MlflowClient

    from raymaker.storage import open_store
    from raymaker.tracking import ledger as lg

    store = open_store(str(tmp_path / "store"))
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    book = lg.new_ledger(job="j1", uri=uri, experiment="outage", run_name="j1",
                         tags={"raymaker.job": "j1"}, params={"a": 1})  # fmt: skip
    book["metrics"] = [{"name": "loss", "value": 1 / (i + 1), "step": i, "time": time.time()}
                       for i in range(1500)]  # fmt: skip
    book["status"], book["end_time"] = "FINISHED", int(time.time() * 1000)
    with pytest.raises(lg.Unreachable):
        lg.flush(book, store)
    lg.spool(book, store)
    assert lg.replay(store)["waiting"].keys() == {"j1"}

    argv = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
            str(port), "--workers", "1", "--backend-store-uri",
            f"sqlite:///{tmp_path}/server.db"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        assert _wait_http(uri + "/health") == 200
        assert lg.replay(store) == {"sent": ["j1"], "waiting": {}}
        client = MlflowClient(uri)
        (run,) = client.search_runs([client.get_experiment_by_name("outage").experiment_id])
        assert run.info.status == "FINISHED" and run.data.params == {"a": "1"}
        assert len(client.get_metric_history(run.info.run_id, "loss")) == 1500
        assert store.list(lg.layout.mlflow_spool()) == []
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_the_ui_needs_a_token_beyond_loopback_and_serves_mlflows_pages(tmp_path, session):
    with pytest.raises(SpecError, match="beyond loopback: give --token"):
        session.experiments.ui_command(host="0.0.0.0", port=5000, token=None)
    with pytest.raises(SpecError, match="at least 12 characters"):
        session.experiments.ui_command(host="0.0.0.0", port=5000, token="short")

    port = _free_port()
    env = {**os.environ, "RAYMAKER_HOME": str(tmp_path),
           "RAYMAKER_MLFLOW_TRACKING_URI": session.settings.tracking_uri()}  # fmt: skip
    argv = [sys.executable, "-m", "raymaker", "experiments", "ui", "--host", "0.0.0.0",
            "--port", str(port), "--token", "s3cret-token-12"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        api = base + "/api/2.0/mlflow/experiments/search?max_results=5"
        assert _wait_http(api) == 401
        import base64

        good = "Basic " + base64.b64encode(b"admin:s3cret-token-12").decode()
        bad = "Basic " + base64.b64encode(b"admin:wrong").decode()
        assert _wait_http(api, auth=good) == 200
        assert _wait_http(api, auth=bad) == 401
        with urllib.request.urlopen(urllib.request.Request(
            base + "/", headers={"Authorization": good}), timeout=5) as reply:  # fmt: skip
            assert b"<title>MLflow</title>" in reply.read()
    finally:
        os.killpg(proc.pid, 2)
        proc.wait(timeout=30)


def test_the_second_job_on_a_machine_hands_its_run_to_the_warm_relay(tmp_path, monkeypatch):
    """The first job tracks itself in a thread and starts the machine's relay; the next one
    only writes its ledger and waits for the relay to end its run."""
    import numpy as np
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from raymaker.jobs.runner import run_spec
    from raymaker.storage import store_for_settings
    from raymaker.tracking import relay

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    for key, value in {"RAYMAKER_STORE": str(tmp_path / "store"), "RAYMAKER_MLFLOW": "1",
                       "RAYMAKER_MLFLOW_TRACKING_URI": uri}.items():  # fmt: skip
        monkeypatch.setenv(key, value)  # what the relay the first job starts inherits
    settings = rm.Settings.from_env()
    store = store_for_settings(settings)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    frame["y"] = (frame["a"] > 0).astype(int)
    frame.to_csv(tmp_path / "train.csv", index=False)
    store.upload(str(tmp_path / "train.csv"), "data/t")
    spec = {"kind": "TrainingJob", "algorithm": "xgboost", "label": "y", "instance_type": "local",
            "inputs": {"train": "data/t"}, "hyperparameters": {"num_round": 5}}  # fmt: skip
    first = run_spec(rm.parse_spec({**spec, "name": "first"}), settings=settings, store=store)
    assert first.status.value == "SUCCEEDED" and first.tracking["via"] == "thread"
    deadline = time.time() + 60
    while not relay.alive(store):
        assert time.time() < deadline, "the relay did not start"
        time.sleep(0.2)
    try:
        second = run_spec(rm.parse_spec({**spec, "name": "second"}), settings=settings,
                          store=store)  # fmt: skip
        assert second.status.value == "SUCCEEDED" and second.tracking["via"] == "relay"
        client = MlflowClient(uri)
        run = client.get_run(second.tracking["run_id"])
        assert run.info.status == "FINISHED" and run.data.tags["raymaker.job"] == "second"
        assert len(client.get_metric_history(run.info.run_id, "train-logloss")) == 5
        assert {a.path for a in client.list_artifacts(run.info.run_id, "model")} >= {
            "model/MLmodel"
        }  # fmt: skip
        assert store.list("mlflow/spool") == []
    finally:
        beat = store.read_json(relay.heartbeat_key())
        os.kill(beat["pid"], 15)


def test_a_job_context_pickles_without_its_mlflow_run(tmp_path):
    """Ray Tune pickles closures over the job's context (an AutoML job's trainable): the run,
    with its thread and locks, stays with the driver."""
    import pickle
    import threading
    from pathlib import Path

    from raymaker.jobs.records import JobRecord
    from raymaker.jobs.runner import JobContext
    from raymaker.storage import open_store

    ctx = JobContext(name="j", store=open_store(str(tmp_path)), settings=rm.Settings.from_env(),
                     workdir=Path(tmp_path), record=JobRecord(name="j", kind="AutoMLJob"))  # fmt: skip
    ctx.tracker = threading.Lock()  # stands for the JobRun: not picklable
    copy = pickle.loads(pickle.dumps(ctx))
    assert copy.tracker is None and copy.name == "j" and ctx.tracker is not None
    assert copy.mlflow_env() == {}
