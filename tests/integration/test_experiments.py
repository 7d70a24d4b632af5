"""Every job an MLflow run, on a real Ray head: a SQLite store and a real ``mlflow server``
process on loopback. A built-in's run (parameters, per-round history, tags, datasets, model
in MLflow's format predicting what the endpoint predicts), a tuning job's trials as child
runs, a script's own MLflow calls in the job's run, and a server stopped mid-job losing
nothing once it is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

import raymaker as rm
from raymaker.jobs.records import JobStatus

COLUMNS = [f"f{i}" for i in range(4)]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, str]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 4))
    df = pd.DataFrame(X, columns=COLUMNS)
    df["label"] = (X[:, 0] - X[:, 1] > 0).astype(int)
    folder = tmp_path_factory.mktemp("exp-data")
    df[:480].to_csv(folder / "train.csv", index=False)
    df[480:].to_csv(folder / "validation.csv", index=False)
    return {"train": str(folder / "train.csv"), "validation": str(folder / "validation.csv")}


@pytest.fixture
def tracked(ray_head, local_settings, tmp_path):
    """A session whose jobs are MLflow runs in a fresh SQLite store."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    return rm.Session(settings=local_settings.replace(mlflow=True, mlflow_tracking_uri=uri)), uri


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """A real ``mlflow server`` process on loopback; stop() and start() keep its database."""

    def __init__(self, folder):
        self.folder, self.port = folder, _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> MlflowServer:
        argv = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", "1",
                "--backend-store-uri", f"sqlite:///{self.folder}/server.db",
                "--artifacts-destination", str(self.folder / "artifacts")]  # fmt: skip
        self.proc = subprocess.Popen(argv, cwd=self.folder, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("mlflow server did not start")

    def stop(self) -> None:
        import signal

        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
            self.proc = None


@pytest.fixture
def server(tmp_path):
    srv = MlflowServer(tmp_path).start()
    yield srv
    srv.stop()


def test_a_builtin_job_is_a_run_whose_model_predicts_what_its_endpoint_does(tracked, data):
    import mlflow
    from mlflow.tracking import MlflowClient

    session, uri = tracked
    est = rm.XGBoost(label="label", hyperparameters={"num_round": 12, "eta": 0.3},
                     instance_type="cpu.1", session=session)  # fmt: skip
    est.fit(
        data,
        job_name="exp-xgb",
        experiment_config={"ExperimentName": "churn", "TrialName": "t1", "RunName": "first"},
    )
    record = est.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    client = MlflowClient(uri)
    run = client.get_run(record.tracking["run_id"])
    assert run.info.run_name == "first" and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "churn"
    assert run.data.params == {"num_round": "12", "eta": "0.3"}

    history = client.get_metric_history(run.info.run_id, "validation-logloss")
    series = [p for p in est.metrics() if p["name"] == "validation-logloss"]
    assert [m.step for m in history] == [p["step"] for p in series] and len(history) == 12
    assert [m.value for m in history] == pytest.approx([p["value"] for p in series])

    manifest = json.loads(
        session.store.read_text(session.store.key(est.model_dir) + "/raymaker-model.json")
    )
    tags = run.data.tags
    assert tags["raymaker.job"] == "exp-xgb" and tags["raymaker.status"] == "SUCCEEDED"
    assert tags["raymaker.instance_type"] == "cpu.1" and tags["raymaker.instance_count"] == "1"
    assert tags["raymaker.code_sha256"] == manifest["lineage"]["code_sha256"]
    assert tags["raymaker.trial"] == "t1"
    assert tags["raymaker.job_uri"] == manifest["lineage"]["job_uri"]
    inputs = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"train", "validation"}
    for channel, dataset in inputs.items():
        assert dataset.digest == manifest["lineage"]["data"][channel]["sha256"][:36]
    paths = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert "model/MLmodel" in paths

    rows = pd.read_csv(data["validation"]).drop(columns="label").head(5)
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    got = pyfunc.predict(rows)
    predictor = est.deploy(endpoint_name="ep-exp", instance_type="cpu.0.5",
                           serializer=rm.JSONSerializer(),
                           deserializer=rm.JSONDeserializer())  # fmt: skip
    try:
        answer = predictor.predict({"instances": rows.to_dict(orient="records")})
    finally:
        predictor.delete_endpoint()
    served = answer["predictions"]
    assert got["score"].tolist() == pytest.approx([p["score"] for p in served], rel=1e-6)
    assert got["predicted_label"].tolist() == [p["predicted_label"] for p in served]

    # raymaker's registry mirrored into MLflow's: Approved is the alias "approved"
    mirrored = rm.Session(settings=session.settings.replace(mlflow_registry=True))
    version = est.create_model().register(model_package_group_name="churn-exp",
                                          approval_status="Approved")  # fmt: skip
    assert client.search_registered_models(filter_string="name = 'churn-exp'") == []  # not asked
    registry = mirrored.registry
    version = registry.register("churn-exp", est.model_data, approval_status="Approved")
    mv = client.get_model_version_by_alias("churn-exp", "approved")
    assert mv.run_id == run.info.run_id and mv.tags["raymaker.ref"] == version.ref
    assert mv.tags["raymaker.approval_status"] == "Approved"
    approved = mlflow.pyfunc.load_model("models:/churn-exp@approved").predict(rows)
    assert approved["score"].tolist() == pytest.approx(got["score"].tolist())
    registry.reject("churn-exp", version.version)
    assert "approved" not in client.get_registered_model("churn-exp").aliases
    assert client.get_model_version("churn-exp", mv.version).tags[
        "raymaker.approval_status"] == "Rejected"  # fmt: skip

    # registry:// resolves from MLflow's registry too: a version registered there by hand
    client.create_registered_model("mlflow-only")
    client.create_model_version("mlflow-only", f"{run.info.artifact_uri}/model",
                                run_id=run.info.run_id)  # fmt: skip
    resolved = registry.resolve("registry://mlflow-only/latest")
    assert resolved.model_data == est.model_data and resolved.version == 1
    with pytest.raises(rm.NotFound, match="neither raymaker's registry nor MLflow's"):
        registry.resolve("registry://nowhere/1")

    # a transform job is a run too, in the experiment its experiment_config names
    transformer = est.transformer(instance_type="cpu.1")
    transformer.transform(data["validation"], content_type="text/csv",
                          experiment_config={"ExperimentName": "churn", "RunName": "scoring"})  # fmt: skip
    scoring = client.get_run(transformer.latest_transform_job.describe().tracking["run_id"])
    assert scoring.info.run_name == "scoring" and scoring.info.status == "FINISHED"
    assert scoring.data.tags["raymaker.kind"] == "TransformJob"
    assert [d.dataset.name for d in scoring.inputs.dataset_inputs] == ["input"]

    # the CLI reads the same store
    env = {"RAYMAKER_MLFLOW_TRACKING_URI": uri}
    out = _cli(["experiments", "runs", "churn", "-o", "json"], env)
    assert [r["run_name"] for r in out] == ["scoring", "first"]  # newest first
    table = _cli(["experiments", "compare", "exp-xgb", "-o", "json"], env)
    assert {"": "param: eta", "first": "0.3"} in table


def _cli(args: list[str], env: dict[str, str]):
    from click.testing import CliRunner

    from raymaker.cli.main import cli

    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.stdout
    return json.loads(text[min(i for i in (text.find("["), text.find("{")) if i >= 0) :])


def test_on_an_s3_store_the_runs_artifacts_are_in_the_bucket(
    ray_head, s3_root, tmp_path, data, monkeypatch
):
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    settings = rm.Settings.from_env().replace(store=s3_root, mlflow=True, mlflow_tracking_uri=uri)
    session = rm.Session(settings=settings)
    est = rm.XGBoost(label="label", hyperparameters={"num_round": 3}, session=session)
    est.fit(data, job_name="exp-s3")
    record = est.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    client = MlflowClient(uri)
    run = client.get_run(record.tracking["run_id"])
    assert run.info.artifact_uri.startswith(f"{s3_root}/mlflow/artifacts/raymaker/")
    # MLflow's own client, here, finds the S3-compatible server as raymaker's jobs do
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", settings.s3_endpoint_url)
    assert "model/MLmodel" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    mlflow.set_tracking_uri(uri)
    rows = pd.read_csv(data["validation"]).drop(columns="label").head(3)
    assert len(mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(rows)) == 3


def test_a_tuning_jobs_trials_are_child_runs_of_its_run(tracked, data):
    from mlflow.tracking import MlflowClient

    session, uri = tracked
    est = rm.XGBoost(label="label", hyperparameters={"num_round": 5}, session=session)
    tuner = rm.HyperparameterTuner(est, "validation:logloss",
                                   {"eta": rm.ContinuousParameter(0.1, 0.5)},
                                   objective_type="Minimize", max_jobs=2, max_parallel_jobs=2)  # fmt: skip
    tuner.fit(data, job_name="exp-tune")
    record = tuner.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    client = MlflowClient(uri)
    parent = client.get_run(record.tracking["run_id"])
    assert parent.data.params["range.eta"].startswith("Continuous")
    assert parent.data.tags["raymaker.best_training_job"] == record.result["best_training_job"]
    assert parent.data.metrics["best_objective"] == pytest.approx(record.result["best_objective"])
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
    )
    assert len(children) == 2
    for child in children:
        assert child.info.status == "FINISHED"
        assert "eta" in child.data.params and "validation-logloss" in child.data.metrics


SCRIPT = """
import os, time
import mlflow
from raymaker.sagemaker.experiments import load_run
import raymaker

mlflow.log_param("script_param", "yes")
for step in range(int(os.environ.get("STEPS", "3"))):
    mlflow.log_metric("own_metric", step * 2.0, step=step)
    raymaker.report_metrics({"reported": step / 10}, step=step)
    time.sleep(float(os.environ.get("PAUSE", "0")))
with load_run() as run:
    run.log_parameter("via_load_run", 7)
os.makedirs(os.environ["SM_MODEL_DIR"], exist_ok=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("m")
"""


def test_a_scripts_own_mlflow_calls_land_in_the_jobs_run_on_a_server(
    ray_head, local_settings, server, tmp_path, data
):
    from mlflow.tracking import MlflowClient

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(SCRIPT)
    session = rm.Session(settings=local_settings.replace(mlflow=True,
                                                         mlflow_tracking_uri=server.uri))  # fmt: skip
    est = rm.Estimator(entry_point="train.py", source_dir=str(tmp_path / "code"),
                       session=session)  # fmt: skip
    est.fit({"train": data["train"]}, job_name="exp-script")
    record = est.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    client = MlflowClient(server.uri)
    run = client.get_run(record.tracking["run_id"])
    assert run.data.params["script_param"] == "yes" and run.data.params["via_load_run"] == "7"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "own_metric")] == [
        0.0, 2.0, 4.0
    ]  # fmt: skip
    assert len(client.get_metric_history(run.info.run_id, "reported")) == 3
    assert run.info.status == "FINISHED" and run.data.tags["raymaker.job"] == "exp-script"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "model")} == {
        "model/model.txt", "model/raymaker-model.json"
    }  # fmt: skip

    # a processing job is a run too
    from raymaker.sagemaker.processing import ProcessingInput, ProcessingOutput
    from raymaker.sagemaker.sklearn import SKLearnProcessor

    (tmp_path / "code" / "prep.py").write_text(
        "import os, shutil\n"
        "ml = os.environ['RAYMAKER_OPT_ML']\n"
        "shutil.copytree(f'{ml}/processing/input', f'{ml}/processing/out', dirs_exist_ok=True)\n"
    )
    processor = SKLearnProcessor(framework_version="1.2-1", instance_type="cpu.1",
                                 session=session)  # fmt: skip
    processor.run(str(tmp_path / "code" / "prep.py"),
                  inputs=[ProcessingInput(source=data["train"],
                                          destination="/opt/ml/processing/input")],
                  outputs=[ProcessingOutput(output_name="out", source="/opt/ml/processing/out")],
                  experiment_config={"ExperimentName": "prep"})  # fmt: skip
    prep = client.get_run(processor.latest_job.describe().tracking["run_id"])
    assert prep.info.status == "FINISHED" and prep.data.tags["raymaker.kind"] == "ProcessingJob"
    assert client.get_experiment(prep.info.experiment_id).name == "prep"
    assert [d.dataset.name for d in prep.inputs.dataset_inputs] == ["input-1"]


def test_a_server_stopped_mid_job_loses_no_metric_once_it_returns(
    ray_head, local_settings, server, tmp_path, data
):
    from mlflow.tracking import MlflowClient

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(
        "import time, raymaker\n"
        "for step in range(12):\n"
        "    raymaker.report_metrics({'loss': 1.0 / (step + 1)}, step=step)\n"
        "    time.sleep(0.5)\n"
        "import os; open(os.path.join(os.environ['SM_MODEL_DIR'], 'm'), 'w').write('m')\n"
    )
    session = rm.Session(settings=local_settings.replace(mlflow=True,
                                                         mlflow_tracking_uri=server.uri))  # fmt: skip
    est = rm.Estimator(entry_point="train.py", source_dir=str(tmp_path / "code"),
                       session=session)  # fmt: skip
    est.fit({"train": data["train"]}, job_name="exp-outage", wait=False)
    store = session.store
    deadline = time.time() + 120
    while not store.exists("jobs/exp-outage/mlflow-run.json"):  # the run exists: stop it
        assert time.time() < deadline
        time.sleep(0.2)
    server.stop()
    est.latest_training_job.wait(timeout=300)
    record = est.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.tracking["spooled"] == "mlflow/spool/exp-outage.json"
    assert "warning: MLflow tracking" in est.latest_training_job.logs()

    server.start()  # the machine's relay, or `experiments sync`, sends it now
    env = {"RAYMAKER_MLFLOW_TRACKING_URI": server.uri, "RAYMAKER_STORE": local_settings.store}
    _cli(["experiments", "sync", "-o", "json"], env)
    client = MlflowClient(server.uri)
    deadline = time.time() + 60
    while store.exists("mlflow/spool/exp-outage.json"):
        assert time.time() < deadline, store.read_text("mlflow/spool/exp-outage.json")[:2000]
        time.sleep(0.25)
    run = client.get_run(record.tracking["run_id"])
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in losses] == list(range(12))
    assert run.info.status == "FINISHED" and not store.exists("mlflow/spool/exp-outage.json")
