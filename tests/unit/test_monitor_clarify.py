"""Clarify without Ray: bias metrics against hand-computed values on a small table, and a
ClarifyJob (pre- and post-training bias, SHAP) run in this process on a real XGBoost model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raymaker.errors import SpecError
from raymaker.monitor import bias
from raymaker.specs import parse_spec

# 10 rows: facet d = "f" (4 rows, 1 positive label), a = "m" (6 rows, 4 positive labels)
SMALL = pd.DataFrame({
    "sex": ["f", "f", "f", "f", "m", "m", "m", "m", "m", "m"],
    "y":   [1, 0, 0, 0, 1, 1, 1, 1, 0, 0],
    "yhat": [1, 1, 0, 0, 1, 1, 1, 0, 0, 0],
})  # fmt: skip


def metric(section: dict, name: str) -> float:
    (entry,) = section["facets"]["sex"]
    return next(m["value"] for m in entry["metrics"] if m["name"] == name)


def test_pre_training_metrics_by_hand():
    found = bias.report(SMALL, label="y", label_values=[1], facet="sex", facet_values=["f"])
    q_a, q_d = 4 / 6, 1 / 4
    assert metric(found, "CI") == pytest.approx((6 - 4) / 10)
    assert metric(found, "DPL") == pytest.approx(q_a - q_d)
    assert metric(found, "KL") == pytest.approx(
        q_a * np.log(q_a / q_d) + (1 - q_a) * np.log((1 - q_a) / (1 - q_d))
    )
    assert metric(found, "TVD") == pytest.approx(abs(q_a - q_d))
    assert metric(found, "LP") == pytest.approx(np.sqrt(2) * abs(q_a - q_d))


def test_post_training_metrics_by_hand():
    found = bias.report(SMALL, label="y", label_values=[1], facet="sex", facet_values=["f"],
                        stage="post", predicted="yhat", methods=["DPPL", "DI", "AD", "RD"])  # fmt: skip
    qa, qd = 3 / 6, 2 / 4  # predicted positive proportions
    assert metric(found, "DPPL") == pytest.approx(qa - qd)
    assert metric(found, "DI") == pytest.approx(qd / qa)
    # accuracy a: 5/6 (4 of 6 right? y=1,1,1,1,0,0 vs 1,1,1,0,0,0 -> 5 right); d: 3/4
    assert metric(found, "AD") == pytest.approx(5 / 6 - 3 / 4)
    assert metric(found, "RD") == pytest.approx(3 / 4 - 1 / 1)


def test_unknown_bias_methods_are_named():
    with pytest.raises(SpecError, match="allowed: CI, DPL"):
        bias.methods_for("pre", ["CI", "DPPL"])
    assert bias.methods_for("post", ["dcacc"]) == ["DCA"]


def test_bias_drift_check_reports_what_moved():
    base = bias.report(SMALL, label="y", label_values=[1], facet="sex", facet_values=["f"])
    moved = SMALL.assign(y=[1, 1, 1, 0, 1, 1, 1, 1, 0, 0])
    now = bias.report(moved, label="y", label_values=[1], facet="sex", facet_values=["f"])
    found = bias.check_drift(base, now, tolerance=0.2)
    assert {v["metric_name"] for v in found} >= {"DPL"}
    assert all(v["constraint_check_type"] == "bias_drift_check" for v in found)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A real XGBoost built-in (x1 matters most, group some, x2 not at all) in a store."""
    import xgboost as xgb

    from raymaker.settings import Settings
    from raymaker.storage import artifacts, store_for_settings

    tmp = tmp_path_factory.mktemp("clarify")
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "group": rng.integers(0, 2, n).astype(float)})  # fmt: skip
    df["y"] = ((df["x1"] + 0.8 * df["group"] + rng.normal(0, 0.3, n)) > 0.5).astype(int)
    features = ["x1", "x2", "group"]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(df[features], label=df["y"]), 30)  # fmt: skip
    folder = tmp / "model"
    folder.mkdir()
    booster.save_model(str(folder / "model.ubj"))
    artifacts.write_manifest(str(folder), {
        "framework": "xgboost", "task": "binary", "label": "y", "classes": [0, 1],
        "features": features, "input_schema": {f: "double" for f in features},
        "output": {"type": "probability", "positive_class": 1, "classes": [0, 1]},
        "recipe": None,
    })  # fmt: skip
    settings = Settings.from_env().replace(store=str(tmp / "store"))
    store = store_for_settings(settings)
    uri = store.put_dir(str(folder), "models/clarify-xgb")
    data = tmp / "data.csv"
    df[[*features, "y"]].to_csv(data, index=False)
    return {"settings": settings, "store": store, "uri": uri, "booster": booster, "df": df,
            "features": features, "data": str(data)}  # fmt: skip


def run(model, spec):
    from raymaker.jobs.client import JobsClient
    from raymaker.jobs.staging import stage

    spec = stage(parse_spec(spec), model["store"], spec.get("name", "x"), None)
    record = JobsClient(model["settings"], model["store"]).run(spec)
    assert record.status.value == "SUCCEEDED", (record.failure_reason, record.traceback)
    return record


def test_a_clarify_job_runs_all_three_analyses(model):
    store, df, features = model["store"], model["df"], model["features"]
    record = run(model, {
        "kind": "ClarifyJob", "name": "clarify-1", "dataset": {"uri": model["data"]},
        "label": "y", "analyses": ["pre_training_bias", "post_training_bias", "explainability"],
        "bias": {"label_values_or_threshold": [1], "facet_name": "group",
                 "facet_values_or_threshold": [0]},
        "model_data": model["uri"], "shap": {"num_samples": 50},
    })  # fmt: skip
    analysis = store.read_json(store.key(record.result["analysis"]))
    pre = analysis["pre_training_bias_metrics"]
    names = {m["name"] for m in pre["facets"]["group"][0]["metrics"]}
    assert names == set(bias.PRE_TRAINING) - {"CDDL"}  # CDDL needs a group_name
    post = analysis["post_training_bias_metrics"]["facets"]["group"][0]["metrics"]
    predicted = model["booster"].inplace_predict(df[features].to_numpy()) >= 0.5
    d, a = df["group"] == 0, df["group"] == 1
    dppl = next(m["value"] for m in post if m["name"] == "DPPL")
    assert dppl == pytest.approx(predicted[a].mean() - predicted[d].mean())
    shap = analysis["explanations"]["kernel_shap"]["y"]
    assert shap["method"] == "tree"
    ranked = sorted(shap["global_shap_values"], key=shap["global_shap_values"].get)
    assert ranked[-1] == "x1" and ranked[0] == "x2"  # x2 is noise
    assert "Global SHAP values" in store.read_text(store.key(record.result["report"]))


def test_ndcg():
    from raymaker.monitor.model_checks import ndcg

    base = {"a": 1.5, "b": 0.5, "c": 0.05}
    assert ndcg(base, {"a": 3.0, "b": 1.0, "c": 0.0}) == pytest.approx(1.0)
    swapped = ndcg(base, {"a": 0.0, "b": 1.0, "c": 0.5})
    ideal = 1.5 + 0.5 / np.log2(3) + 0.05 / 2
    assert swapped == pytest.approx((0.5 + 0.05 / np.log2(3) + 1.5 / 2) / ideal)


def _capture(store, endpoint, df, features, answers, at):
    import json

    from raymaker.serve.capture import capture_key, record

    lines = [
        json.dumps(record("text/csv", ",".join(str(v) for v in row).encode(), "text/csv",
                          f"{p:.4f}".encode(), inference_id=f"i{i}", now=at))
        for i, (row, p) in enumerate(zip(df[features].to_numpy().tolist(), answers, strict=True))
    ]  # fmt: skip
    store.write_text(capture_key("capture", endpoint, "AllTraffic", at), "\n".join(lines) + "\n")


def _execute(model, spec):
    import time

    from raymaker.jobs.client import JobsClient
    from raymaker.monitor import schedules
    from raymaker.specs.monitor import MonitoringSchedule

    state = schedules.apply(model["store"], MonitoringSchedule.model_validate(spec))
    _, execution = schedules.execution_spec(state, time.time(), on_demand=True)
    record = JobsClient(model["settings"], model["store"]).run(execution)
    assert record.status.value == "SUCCEEDED", (record.failure_reason, record.traceback)
    return record, model["store"].read_json(
        model["store"].key(record.result["constraint_violations"])
    )


def test_attribution_drift_is_found_by_ndcg(model):
    import time

    store, df, features = model["store"], model["df"], model["features"]
    base = run(model, {"kind": "ClarifyJob", "name": "clarify-shap", "label": "y",
                       "dataset": {"uri": model["data"]}, "analyses": ["explainability"],
                       "model_data": model["uri"]})  # fmt: skip
    spec = {"kind": "MonitoringSchedule", "name": "attr", "endpoint": "ep-attr",
            "monitor_type": "ModelExplainability", "model_data": model["uri"],
            "features": features, "baseline_constraints": base.result["analysis"],
            "schedule_cron_expression": "rate(1 hour)", "data_analysis_start_time": "-PT1M"}  # fmt: skip
    same = df.sample(300, random_state=1)
    _capture(store, "ep-attr", same, features, [0.5] * 300, time.time() - 2)
    record, found = _execute(model, spec)
    assert record.result["ndcg"] > 0.9 and found["violations"] == []
    flat = df.sample(300, random_state=2).assign(x1=0.0)  # x1 no longer moves the answers
    store.delete("capture/ep-attr", recursive=True)
    _capture(store, "ep-attr", flat, features, [0.5] * 300, time.time() - 2)
    record, found = _execute(model, spec)
    assert record.result["ndcg"] < 0.9
    assert [v["constraint_check_type"] for v in found["violations"]] == [
        "feature_attribution_drift_check"]  # fmt: skip


def test_bias_drift_over_captured_answers_and_ground_truth(model):
    import json
    import time

    from raymaker.serve.capture import capture_key

    store, df, features = model["store"], model["df"], model["features"]
    base = run(model, {"kind": "ClarifyJob", "name": "clarify-bias", "label": "y",
                       "dataset": {"uri": model["data"]}, "analyses": ["post_training_bias"],
                       "bias": {"label_values_or_threshold": [1], "facet_name": "group",
                                "facet_values_or_threshold": [0]},
                       "model_data": model["uri"]})  # fmt: skip
    window = df.sample(400, random_state=3).reset_index(drop=True)
    # the model now answers 1 for every group-0 row: DPPL and DI move far from the baseline
    answers = np.where(window["group"] == 0, 0.99, 0.2)
    now = time.time()
    _capture(store, "ep-bias", window, features, answers, now - 2)
    truth = [{"groundTruthData": {"data": str(y), "encoding": "CSV"},
              "eventMetadata": {"eventId": f"i{i}"}, "eventVersion": "0"}
             for i, y in enumerate(window["y"])]  # fmt: skip
    key = capture_key("truth-bias", "a", "b", now).replace("a/b/", "")
    store.write_text(key, "".join(json.dumps(t) + "\n" for t in truth))
    spec = {"kind": "MonitoringSchedule", "name": "bias", "endpoint": "ep-bias",
            "monitor_type": "ModelBias", "features": features, "ground_truth_uri": "truth-bias",
            "bias": {"label_values_or_threshold": [1], "facet_name": "group",
                     "facet_values_or_threshold": [0]},
            "baseline_constraints": base.result["analysis"],
            "schedule_cron_expression": "rate(1 hour)", "data_analysis_start_time": "-PT1M"}  # fmt: skip
    record, found = _execute(model, spec)
    assert record.result["items"] == 400
    moved = {v["metric_name"] for v in found["violations"]}
    assert {"DPPL", "DI"} <= moved
    assert all(v["constraint_check_type"] == "bias_drift_check" for v in found["violations"])


def test_clarify_specs_name_what_is_missing():
    base = {"kind": "ClarifyJob", "dataset": {"uri": "d.csv"}, "label": "y"}
    with pytest.raises(SpecError, match="need bias"):
        parse_spec(base)
    with pytest.raises(SpecError, match="need model_data"):
        parse_spec({**base, "analyses": ["explainability"]})
