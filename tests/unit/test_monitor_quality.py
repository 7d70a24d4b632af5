"""Model quality without Ray: SageMaker's metric names checked against hand-computed values,
suggested constraints, violations, and an execution that merges ground truth by inferenceId
(else eventId), run in this process."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from raymaker.monitor import quality, schedules
from raymaker.serve.capture import capture_key, record
from raymaker.specs.monitor import MonitoringSchedule


def test_binary_metrics_by_hand():
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([1, 0, 0, 1, 1])  # tp 2, fn 1, fp 1, tn 1
    found = quality.metrics("BinaryClassification", y, p)["binary_classification_metrics"]
    assert found["confusion_matrix"] == {"0": {"0": 1, "1": 1}, "1": {"0": 1, "1": 2}}
    assert found["recall"] == {"value": pytest.approx(2 / 3), "standard_deviation": "NaN"}
    assert found["precision"]["value"] == pytest.approx(2 / 3)
    assert found["accuracy"]["value"] == pytest.approx(3 / 5)
    assert found["true_negative_rate"]["value"] == pytest.approx(1 / 2)
    assert found["false_positive_rate"]["value"] == pytest.approx(1 / 2)
    assert found["accuracy_best_constant_classifier"]["value"] == pytest.approx(3 / 5)
    assert found["f1"]["value"] == pytest.approx(2 / 3)
    # f2 = 5PR/(4P+R) with P = R = 2/3
    assert found["f2"]["value"] == pytest.approx(2 / 3)


def test_regression_and_multiclass_metrics_by_hand():
    found = quality.metrics("Regression", np.array([1.0, 2, 3]), np.array([1.0, 2, 5]))
    reg = found["regression_metrics"]
    assert reg["mae"]["value"] == pytest.approx(2 / 3)
    assert reg["mse"]["value"] == pytest.approx(4 / 3)
    assert reg["rmse"]["value"] == pytest.approx(math.sqrt(4 / 3))
    y = np.array(["a", "a", "b", "c"])
    p = np.array(["a", "b", "b", "c"])
    multi = quality.metrics("MulticlassClassification", y, p)["multiclass_classification_metrics"]
    assert multi["accuracy"]["value"] == pytest.approx(3 / 4)
    # weighted recall: a 1/2 (weight 2/4), b 1 (1/4), c 1 (1/4)
    assert multi["weighted_recall"]["value"] == pytest.approx(0.75)
    assert multi["accuracy_best_constant_classifier"]["value"] == pytest.approx(2 / 4)


def test_standard_deviation_from_200_rows():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    found = quality.metrics("BinaryClassification", y, y ^ (rng.random(400) < 0.2))
    assert isinstance(found["binary_classification_metrics"]["accuracy"]["standard_deviation"],
                      float)  # fmt: skip


def test_suggested_constraints_and_their_violations():
    base = quality.statistics("Regression", np.array([1.0, 2, 3, 4]), np.array([1.1, 2, 3, 4]))
    rules = quality.suggest(base, "Regression")["regression_constraints"]
    assert rules["mae"]["comparison_operator"] == "GreaterThanThreshold"
    assert rules["r2"]["comparison_operator"] == "LessThanThreshold"
    worse = quality.statistics("Regression", np.array([1.0, 2, 3, 4]), np.array([2.0, 1, 4, 2]))
    found = quality.check(worse, {"regression_constraints": rules}, "Regression")
    assert {v["metric_name"] for v in found} == {"mae", "mse", "rmse", "r2"}
    assert found[0]["description"].startswith("Metric mae with 1.25 was GreaterThanThreshold")


def test_probabilities_are_labelled_at_the_threshold():
    frame = pd.DataFrame({"prediction": [0.2, 0.7, 0.5]})
    predicted, scores = quality.predictions(frame, "BinaryClassification", None, None, 0.6)
    assert list(predicted) == [0, 1, 0] and list(scores) == [0.2, 0.7, 0.5]
    frame = pd.DataFrame({"score": [0.9, 0.1], "label": ["1", "0"]})
    predicted, scores = quality.predictions(frame, "BinaryClassification", "label", "score")
    assert list(predicted) == ["1", "0"] and list(scores) == [0.9, 0.1]
    with pytest.raises(Exception, match="no column 'nope'"):
        quality.predictions(frame, "BinaryClassification", "nope", None)


def test_an_execution_merges_ground_truth_by_inference_id_else_event_id(tmp_path):
    from raymaker.jobs.client import JobsClient
    from raymaker.settings import Settings
    from raymaker.storage import store_for_settings

    settings = Settings.from_env().replace(store=str(tmp_path / "store"))
    store = store_for_settings(settings)
    now = time.time()
    answers = [0.9, 0.8, 0.1, 0.2]  # predicted 1, 1, 0, 0
    truth = ["1", "0", "0", "1"]  # right, wrong, right, wrong
    recs = [
        record("text/csv", b"1,2", "text/csv", str(a).encode(), event_id=f"e{i}",
               inference_id=f"r{i}" if i % 2 == 0 else None, now=now - 5)
        for i, a in enumerate(answers)
    ]  # fmt: skip
    store.write_text(capture_key("capture", "ep", "AllTraffic", now - 5),
                     "".join(json.dumps(r) + "\n" for r in recs))  # fmt: skip
    # ground truth keyed as SageMaker keys it: inferenceId where one was given, else eventId
    ids = ["r0", "e1", "r2", "e3"]
    gt = [{"groundTruthData": {"data": t, "encoding": "CSV"}, "eventMetadata": {"eventId": i},
           "eventVersion": "0"} for i, t in zip(ids, truth, strict=True)]  # fmt: skip
    store.write_text(capture_key("truth", "ep", "x", now - 1).replace("ep/x/", ""),
                     "".join(json.dumps(g) + "\n" for g in gt))  # fmt: skip
    store.write_json("b/constraints.json", {"binary_classification_constraints": {
        "accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}}})  # fmt: skip
    spec = MonitoringSchedule(name="mq", monitor_type="ModelQuality", endpoint="ep",
                              problem_type="BinaryClassification", ground_truth_uri="truth",
                              baseline_constraints="b/constraints.json",
                              schedule_cron_expression="rate(1 minute)")  # fmt: skip
    state = schedules.apply(store, spec)
    _, execution = schedules.execution_spec(state, now, on_demand=True)
    record_ = JobsClient(settings, store).run(execution)
    assert record_.status.value == "SUCCEEDED", record_.failure_reason
    assert record_.result["items"] == 4 and record_.result["metrics"]["accuracy"] == 0.5
    violations = store.read_json(store.key(record_.result["constraint_violations"]))
    assert [v["metric_name"] for v in violations["violations"]] == ["accuracy"]
    # what the scheduler's Prometheus gauges read for this schedule
    from raymaker.monitor.gauges import values

    found = {(name, tags.get("metric", "")): value for name, tags, value in values(store)}
    assert found[("raymaker_monitor_violations", "")] == 1.0
    assert found[("raymaker_monitor_metric", "accuracy")] == 0.5


def test_a_webhook_gets_the_violations_over_real_http(tmp_path):
    import http.server
    import threading

    from raymaker.jobs.client import JobsClient
    from raymaker.settings import Settings
    from raymaker.storage import store_for_settings

    got = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings.from_env().replace(store=str(tmp_path / "store"))
        store = store_for_settings(settings)
        store.write_text("d/batch.csv", "y,prob\n1,0.1\n0,0.9\n1,0.2\n")  # all wrong
        store.write_json("b/constraints.json", {"binary_classification_constraints": {
            "accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}}})  # fmt: skip
        spec = MonitoringSchedule(
            name="hooked", monitor_type="ModelQuality", problem_type="BinaryClassification",
            batch_transform_input={"uri": "d/batch.csv"}, ground_truth_attribute="y",
            probability_attribute="prob", baseline_constraints="b/constraints.json",
            webhook=f"http://127.0.0.1:{server.server_port}/alerts",
        )  # fmt: skip
        state = schedules.apply(store, spec)
        _, execution = schedules.execution_spec(state, time.time(), on_demand=True)
        record_ = JobsClient(settings, store).run(execution)
        assert record_.status.value == "SUCCEEDED", record_.failure_reason
    finally:
        server.shutdown()
    (body,) = got
    assert body["schedule"] == "hooked" and body["violations"] == 1
    assert body["violation_list"][0]["metric_name"] == "accuracy"
