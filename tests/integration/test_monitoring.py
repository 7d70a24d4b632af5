"""Model Monitor on the real local head: a baseline job, a schedule whose run the scheduler
actor submits by itself, an on-demand run, batch transform input, and the CLI.

The capture files are written in the endpoints' capture format (``raymaker.serve.capture``'s
own ``record`` and ``capture_key``), with chosen shifts: the endpoint's capture writer itself
is covered by test_endpoints."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
from click.testing import CliRunner

import raymaker as rm
from raymaker.sagemaker.model_monitor import BatchTransformInput
from raymaker.serve.capture import capture_key, record


def rows(n, seed, shift=0.0, new_city=False):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": np.round(rng.normal(50, 10, n) + shift, 3),
        "city": rng.choice(["north", "south", "east"], n),
    })  # fmt: skip
    if new_city:
        df.loc[: n // 5, "city"] = "atlantis"
    return df


def write_capture(store, endpoint, df, at):
    lines = [
        json.dumps(record("text/csv", ",".join(map(str, r)).encode(), "text/csv", b"0.5",
                          inference_id=str(i), now=at))
        for i, r in enumerate(df.itertuples(index=False))
    ]  # fmt: skip
    store.write_text(capture_key("capture", endpoint, "AllTraffic", at), "\n".join(lines) + "\n")


def _json_of(output: str):
    """The JSON document a CLI printed. Ray forwards its workers' log lines (JobSupervisor)
    into this test process's streams once it has joined Ray, and CliRunner's output catches
    them, before or after the document: the document is decoded from its first line on."""
    lines = output.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
    return json.JSONDecoder().raw_decode("".join(lines[start:]))[0]


def _prometheus_has(tag: str, metric: str, timeout: float = 45.0) -> bool:
    import urllib.request

    import ray

    port = ray.nodes()[0]["MetricsExportPort"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = f"http://127.0.0.1:{port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        if any(line.startswith(metric) and tag in line for line in text.splitlines()):
            return True
        time.sleep(1)
    return False


def _until(check, what, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_scheduled_and_on_demand_runs_find_the_shifted_feature(ray_head, local_session,
                                                                tmp_path, monkeypatch):  # fmt: skip
    train = tmp_path / "train.csv"
    rows(3000, 0).to_csv(train, index=False)
    monitor = rm.DefaultModelMonitor(session=local_session)
    monitor.suggest_baseline(str(train), rm.DatasetFormat.csv(header=True), job_name="mon-base")
    stats = monitor.baseline_statistics().body_dict
    assert [f["name"] for f in stats["features"]] == ["age", "income", "city"]
    domains = {f["name"]: f.get("string_constraints")
               for f in monitor.suggested_constraints().body_dict["features"]}  # fmt: skip
    assert domains["city"] == {"domains": ["east", "north", "south"]}

    store = local_session.store
    write_capture(store, "ep-mon", rows(800, 1, shift=9.0, new_city=True), time.time() - 5)
    monitor.create_monitoring_schedule(
        endpoint_input=rm.sagemaker.model_monitor.EndpointInput("ep-mon"),
        monitor_schedule_name="mon-it",
        schedule_cron_expression=rm.CronExpressionGenerator.now(),
        data_analysis_start_time="-PT10M",
    )
    # the scheduler on the head submits the run by itself, within seconds
    done = _until(lambda: [e for e in monitor.list_executions()
                           if e.summary["MonitoringExecutionStatus"].startswith("Completed")],
                  "the scheduled execution")  # fmt: skip
    assert done[0].summary["MonitoringExecutionStatus"] == "CompletedWithViolations"
    found = {(v["feature_name"], v["constraint_check_type"])
             for v in monitor.latest_monitoring_constraint_violations().body_dict["violations"]}  # fmt: skip
    assert found == {("income", "baseline_drift_check"), ("city", "categorical_values_check"),
                     ("city", "baseline_drift_check")}  # fmt: skip
    assert monitor.latest_monitoring_statistics().body_dict["dataset"]["item_count"] == 800
    desc = monitor.describe_schedule()
    assert desc["MonitoringScheduleStatus"] == "Stopped"  # NOW runs once
    assert desc["LastMonitoringExecutionSummary"]["ProcessingJobName"] == done[0].job_name
    report = store.read_text(store.key(done[0].summary["Report"]))
    assert "atlantis" in report and "../assets/plotly.min.js" in report

    # on demand, with an override that lets income's shift pass and a dropped column
    monitor.update_monitoring_schedule(overrides={"income": {"comparison_threshold": 0.99}},
                                       data_analysis_start_time="-PT8S")  # fmt: skip
    assert monitor.describe_schedule()["Spec"]["overrides"]
    # the first window's rows are older than 8 s by now (two jobs ran since)
    write_capture(store, "ep-mon", rows(500, 2, shift=9.0).drop(columns=["city"]), time.time())
    execution = monitor.run_now()
    found = {(v["feature_name"], v["constraint_check_type"])
             for v in execution.constraint_violations().body_dict["violations"]}  # fmt: skip
    assert found == {("city", "missing_column_check")}

    # the scheduler's Prometheus gauge, on Ray's metrics port beside the endpoints' metrics
    from raymaker.cluster.connect import connect

    connect(local_session.settings)
    assert _prometheus_has('schedule="mon-it"', "ray_raymaker_monitor_violations")

    monkeypatch.setenv("RAYMAKER_STORE", local_session.settings.store)
    runner = CliRunner()
    from raymaker.cli.main import cli

    result = runner.invoke(cli, ["monitors", "violations", "mon-it"])
    assert result.exit_code == 0, result.output
    assert "missing_column_check" in result.output and "\x1b[" not in result.output
    result = runner.invoke(cli, ["monitors", "executions", "mon-it", "--output", "json"])
    assert [e["MonitoringExecutionStatus"] for e in _json_of(result.output)] == [
        "CompletedWithViolations", "CompletedWithViolations"]  # fmt: skip
    result = runner.invoke(cli, ["monitors", "list"])
    assert "mon-it" in result.output and "Stopped" in result.output
    result = runner.invoke(cli, ["monitors", "run", "nope"])
    assert result.exit_code != 0 and "does not exist" in str(result.exception)
    monitor.delete_monitoring_schedule()
    assert "mon-it" not in runner.invoke(cli, ["monitors", "list"]).output


def test_batch_transform_input_is_monitored(ray_head, local_session, tmp_path, monkeypatch):
    train, batch = tmp_path / "train.csv", tmp_path / "batch.csv"
    rows(2000, 3).to_csv(train, index=False)
    rows(1000, 4, shift=12.0).to_csv(batch, index=False)
    monitor = rm.DefaultModelMonitor(session=local_session)
    monitor.suggest_baseline(str(train), rm.DatasetFormat.csv(header=True))
    monitor.create_monitoring_schedule(
        batch_transform_input=BatchTransformInput(
            str(batch), dataset_format=rm.DatasetFormat.csv()
        ),
        monitor_schedule_name="mon-batch",
        schedule_cron_expression=rm.CronExpressionGenerator.daily(3),
    )
    execution = monitor.run_now()
    assert execution.summary["Items"] == 1000
    found = execution.constraint_violations().body_dict["violations"]
    assert {(v["feature_name"], v["constraint_check_type"]) for v in found} == {
        ("income", "baseline_drift_check")}  # fmt: skip
    assert monitor.describe_schedule()["MonitoringScheduleStatus"] == "Scheduled"
    monitor.stop_monitoring_schedule()
    assert monitor.describe_schedule()["MonitoringScheduleStatus"] == "Stopped"

    # the same through the CLI: a run on demand, describe, start
    from raymaker.cli.main import cli

    monkeypatch.setenv("RAYMAKER_STORE", local_session.settings.store)
    runner = CliRunner()
    result = runner.invoke(cli, ["monitors", "run", "mon-batch", "--output", "json"])
    assert result.exit_code == 0, result.output
    assert _json_of(result.output)["MonitoringExecutionStatus"] == "CompletedWithViolations"
    result = runner.invoke(cli, ["monitors", "describe", "mon-batch"])
    assert "last_violations" in result.output and "Stopped" in result.output
    result = runner.invoke(cli, ["monitors", "start", "mon-batch"])
    assert result.exit_code == 0 and "Scheduled" in result.output


def test_a_schedule_is_restored_and_runs_its_missed_run_once(ray_head, local_session, tmp_path):
    import ray

    from raymaker.cluster.connect import connect
    from raymaker.monitor import schedules
    from raymaker.monitor.scheduler import ACTOR, NAMESPACE

    train = tmp_path / "train.csv"
    rows(1000, 5).to_csv(train, index=False)
    monitor = rm.DefaultModelMonitor(session=local_session)
    monitor.suggest_baseline(str(train), rm.DatasetFormat.csv(header=True))
    store = local_session.store
    now = time.time()
    write_capture(store, "ep-back", rows(300, 6), now - 45 * 60)
    monitor.create_monitoring_schedule(endpoint_input="ep-back", monitor_schedule_name="mon-back",
                                       schedule_cron_expression="rate(1 hour)")  # fmt: skip
    # the head goes away (the scheduler with it) for three and a half hours
    connect(local_session.settings)
    ray.kill(ray.get_actor(ACTOR, namespace=NAMESPACE), no_restart=True)
    _until(lambda: not _alive(ray, ACTOR, NAMESPACE), "the scheduler to be gone", 30)
    before = {e.job_name for e in monitor.list_executions()}
    state = schedules.read_state(store, "mon-back")
    state.origin = state.last_scheduled = now - 3.5 * 3600
    schedules.write_state(store, state)

    result = local_session.reconcile()
    assert result["MonitoringSchedule"] == {"restored": ["mon-back"], "failed": {}}
    new = _until(lambda: [e for e in monitor.list_executions() if e.job_name not in before
                          and e.summary["MonitoringExecutionStatus"].startswith("Completed")],
                 "the missed run")  # fmt: skip
    time.sleep(3)  # a second catch-up run would have been submitted by now
    added = [e for e in monitor.list_executions() if e.job_name not in before]
    assert len(added) == 1 and new[0].summary["Items"] == 300
    assert schedules.read_state(store, "mon-back").last_scheduled == state.origin + 3 * 3600
    monitor.delete_monitoring_schedule()


def _alive(ray, name, namespace) -> bool:
    try:
        ray.get_actor(name, namespace=namespace)
        return True
    except ValueError:
        return False


def test_a_live_endpoints_capture_is_monitored_end_to_end(ray_head, local_session, tmp_path):
    """A deployed XGBoost endpoint capturing every request: traffic with one feature shifted,
    then the schedule's run finds that feature (and the answers' drift) and nothing else."""
    import urllib.request

    import xgboost as xgb

    from raymaker.storage import artifacts

    rng = np.random.default_rng(7)
    train = pd.DataFrame({"x1": rng.normal(size=2000), "x2": rng.normal(size=2000),
                          "x3": rng.uniform(0, 10, 2000)})  # fmt: skip
    label = (train["x1"] + 0.1 * train["x3"] > 0.5).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(train.to_numpy(), label=label), 20)  # fmt: skip
    folder = tmp_path / "model"
    folder.mkdir()
    booster.save_model(str(folder / "model.ubj"))
    artifacts.write_manifest(str(folder), {
        "framework": "xgboost", "task": "binary", "label": "y", "classes": [0, 1],
        "features": ["x1", "x2", "x3"], "input_schema": {c: "double" for c in train.columns},
        "output": {"type": "probability", "positive_class": 1, "classes": [0, 1]},
        "recipe": None,
    })  # fmt: skip
    model_uri = local_session.store.put_dir(str(folder), "models/mon-live")
    train.to_csv(tmp_path / "train.csv", index=False)
    monitor = rm.DefaultModelMonitor(session=local_session)
    monitor.suggest_baseline(str(tmp_path / "train.csv"), rm.DatasetFormat.csv(header=True))
    predictor = rm.Model(model_data=model_uri, session=local_session).deploy(
        endpoint_name="ep-live", instance_type="cpu.0.25",
        data_capture_config=rm.DataCaptureConfig(sampling_percentage=100),
    )  # fmt: skip
    try:
        url = local_session.endpoints.url("ep-live")
        traffic = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300),
                                "x3": rng.uniform(0, 10, 300) + 6})  # fmt: skip
        for start in range(0, 300, 10):  # 30 requests of 10 rows each
            body = traffic.iloc[start : start + 10].to_csv(header=False, index=False).encode()
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "text/csv"})
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 200
        store = local_session.store
        _until(lambda: sum(store.read_bytes(k).count(b"\n")
                           for k in store.list("capture/ep-live", recursive=True)) >= 30
               if store.exists("capture/ep-live") else False, "the capture files")  # fmt: skip
        monitor.create_monitoring_schedule(
            endpoint_input="ep-live", monitor_schedule_name="mon-live",
            schedule_cron_expression=rm.CronExpressionGenerator.daily(3),
            data_analysis_start_time="-PT10M", features=["x1", "x2", "x3"],
        )  # fmt: skip
        assert [type(m).__name__ for m in predictor.list_monitors()] == ["DefaultModelMonitor"]
        execution = monitor.run_now()
        assert execution.summary["Items"] == 300
        found = {(v["feature_name"], v["constraint_check_type"])
                 for v in execution.constraint_violations().body_dict["violations"]}  # fmt: skip
        assert found == {("x3", "baseline_drift_check")}
        monitor.delete_monitoring_schedule()
    finally:
        predictor.delete_endpoint()


def test_a_large_window_is_read_by_ray_tasks(ray_head, local_session, tmp_path):
    train = tmp_path / "train.csv"
    rows(1000, 8).to_csv(train, index=False)
    monitor = rm.DefaultModelMonitor(session=local_session)
    monitor.suggest_baseline(str(train), rm.DatasetFormat.csv(header=True))
    store = local_session.store
    now = time.time()
    for i in range(40):  # 40 capture files: past the driver's share (PARALLEL_FILES = 32)
        write_capture(store, "ep-wide", rows(10, 100 + i, shift=9.0), now - 5 - i * 0.01)
    monitor.create_monitoring_schedule(endpoint_input="ep-wide", monitor_schedule_name="mon-wide",
                                       schedule_cron_expression="cron(0 3 ? * * *)",
                                       data_analysis_start_time="-PT5M")  # fmt: skip
    execution = monitor.run_now()
    assert execution.summary["Items"] == 400
    assert "capture files in" in local_session.jobs.get(execution.job_name).logs()
    found = {(v["feature_name"], v["constraint_check_type"])
             for v in execution.constraint_violations().body_dict["violations"]}  # fmt: skip
    assert found == {("income", "baseline_drift_check")}
    monitor.delete_monitoring_schedule()
