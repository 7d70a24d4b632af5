"""Clarify and the model monitors through the SDK on the real head: SageMakerClarifyProcessor
(bias before and after training, explainability), and ModelQualityMonitor, ModelBiasMonitor
and ModelExplainabilityMonitor over a batch transform's data, each run once on demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import raymaker as rm
from raymaker.sagemaker.clarify import (
    BiasConfig,
    DataConfig,
    ModelConfig,
    SageMakerClarifyProcessor,
    SHAPConfig,
)
from raymaker.sagemaker.model_monitor import BatchTransformInput

FEATURES = ["x1", "x2", "group"]


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "group": rng.integers(0, 2, n).astype(float)})  # fmt: skip
    df["y"] = ((df["x1"] + 0.8 * df["group"] + rng.normal(0, 0.3, n)) > 0.5).astype(int)
    return df


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """An XGBoost built-in (x1 matters most, group some, x2 not at all), as an artifact."""
    import xgboost as xgb

    from raymaker.storage import artifacts

    df = frame(1500, 0)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(df[FEATURES].to_numpy(), label=df["y"]), 30)  # fmt: skip
    folder = tmp_path_factory.mktemp("mon-models") / "model"
    folder.mkdir()
    booster.save_model(str(folder / "model.ubj"))
    artifacts.write_manifest(str(folder), {
        "framework": "xgboost", "task": "binary", "label": "y", "classes": [0, 1],
        "features": FEATURES, "input_schema": {f: "double" for f in FEATURES},
        "output": {"type": "probability", "positive_class": 1, "classes": [0, 1]},
        "recipe": None,
    })  # fmt: skip
    return str(folder), booster


def _uri(session, model) -> str:
    return session.store.put_dir(model[0], "models/mon-xgb")


def test_clarify_processor_bias_and_explainability(ray_head, local_session, tmp_path, model):
    data = tmp_path / "data.csv"
    frame(800, 1)[[*FEATURES, "y"]].to_csv(data, index=False)
    model_config = ModelConfig(model_data=_uri(local_session, model))
    clarify = SageMakerClarifyProcessor(session=local_session)
    clarify.run_bias(DataConfig(str(data), "clarify/bias", label="y"),
                     BiasConfig([1], "group", facet_values_or_threshold=[0]), model_config)  # fmt: skip
    store = local_session.store
    analysis = store.read_json("clarify/bias/analysis.json")
    names = {m["name"] for section in ("pre_training_bias_metrics", "post_training_bias_metrics")
             for m in analysis[section]["facets"]["group"][0]["metrics"]}  # fmt: skip
    assert {"CI", "DPL", "KL", "DPPL", "DI", "DCA", "AD", "FT"} <= names
    clarify.run_explainability(DataConfig(str(data), "clarify/shap", label="y"), model_config,
                               SHAPConfig(num_samples=60))  # fmt: skip
    shap = store.read_json("clarify/shap/analysis.json")["explanations"]["kernel_shap"]["y"]
    assert max(shap["global_shap_values"], key=shap["global_shap_values"].get) == "x1"
    assert "Explanations" in store.read_text("clarify/shap/report.html")


def test_model_quality_over_a_labelled_batch(ray_head, local_session, tmp_path, model):
    booster = model[1]
    val = frame(600, 2)
    val["prob"] = booster.inplace_predict(val[FEATURES].to_numpy())
    val[["y", "prob"]].to_csv(tmp_path / "val.csv", index=False)
    monitor = rm.ModelQualityMonitor(session=local_session)
    monitor.suggest_baseline(str(tmp_path / "val.csv"), rm.DatasetFormat.csv(),
                             problem_type="BinaryClassification", probability_attribute="prob",
                             ground_truth_attribute="y")  # fmt: skip
    rules = monitor.suggested_constraints().body_dict["binary_classification_constraints"]
    assert rules["accuracy"]["comparison_operator"] == "LessThanThreshold"
    later = frame(600, 3)
    later["prob"] = np.random.default_rng(3).uniform(
        size=600
    )  # the model got no better than chance
    later[["y", "prob"]].to_csv(tmp_path / "later.csv", index=False)
    monitor.create_monitoring_schedule(
        batch_transform_input=BatchTransformInput(str(tmp_path / "later.csv"),
                                                  dataset_format=rm.DatasetFormat.csv(),
                                                  probability_attribute="prob"),
        problem_type="BinaryClassification", ground_truth_attribute="y",
        monitor_schedule_name="mq-batch", schedule_cron_expression="cron(0 3 ? * * *)",
    )  # fmt: skip
    execution = monitor.run_now()
    broken = {v["metric_name"] for v in execution.constraint_violations().body_dict["violations"]}
    assert {"accuracy", "auc"} <= broken
    stats = execution.statistics().body_dict["binary_classification_metrics"]
    assert stats["auc"]["value"] < 0.7 and isinstance(stats["auc"]["standard_deviation"], float)
    listed = local_session.list_monitoring_schedules()["MonitoringScheduleSummaries"]
    assert "mq-batch" in [s["MonitoringScheduleName"] for s in listed]
    found = local_session.list_monitoring_executions("mq-batch")["MonitoringExecutionSummaries"]
    assert found[0]["MonitoringExecutionStatus"] == "CompletedWithViolations"
    local_session.delete_monitoring_schedule("mq-batch")


def test_bias_and_attribution_monitors_over_batches(ray_head, local_session, tmp_path, model):
    base = tmp_path / "base.csv"
    frame(800, 4)[[*FEATURES, "y"]].to_csv(base, index=False)
    model_config = ModelConfig(model_data=_uri(local_session, model))
    bias_config = BiasConfig([1], "group", facet_values_or_threshold=[0])

    bias = rm.ModelBiasMonitor(session=local_session)
    bias.suggest_baseline(DataConfig(str(base), label="y"), bias_config, model_config)
    batch = frame(600, 5)
    batch["prediction"] = np.where(batch["group"] == 0, 0.95, 0.05)  # group 0 always accepted
    batch.to_csv(tmp_path / "biased.csv", index=False)
    bias.create_monitoring_schedule(
        batch_transform_input=BatchTransformInput(str(tmp_path / "biased.csv"),
                                                  dataset_format=rm.DatasetFormat.csv()),
        ground_truth_attribute="y", monitor_schedule_name="bias-batch",
        schedule_cron_expression="cron(0 3 ? * * *)",
    )  # fmt: skip
    found = bias.run_now().constraint_violations().body_dict["violations"]
    assert {"DPPL", "DI"} <= {v["metric_name"] for v in found}
    assert {v["constraint_check_type"] for v in found} == {"bias_drift_check"}

    attribution = rm.ModelExplainabilityMonitor(session=local_session)
    attribution.suggest_baseline(DataConfig(str(base), label="y"), model_config=model_config,
                                 explainability_config=SHAPConfig(num_samples=60))  # fmt: skip
    flat = frame(300, 6)[FEATURES].assign(x1=0.0)  # x1 no longer moves the model
    flat.to_csv(tmp_path / "flat.csv", index=False)
    attribution.create_monitoring_schedule(
        batch_transform_input=BatchTransformInput(str(tmp_path / "flat.csv"),
                                                  dataset_format=rm.DatasetFormat.csv()),
        monitor_schedule_name="attr-batch", schedule_cron_expression="cron(0 3 ? * * *)",
    )  # fmt: skip
    execution = attribution.run_now()
    (violation,) = execution.constraint_violations().body_dict["violations"]
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert execution.statistics().body_dict["ndcg"] < 0.9


def test_model_quality_merges_captured_answers_with_ground_truth(ray_head, local_session,
                                                                 tmp_path):  # fmt: skip
    """Captured answers (some with an inferenceId, some keyed by eventId) and ground truth
    uploaded later in SageMaker's format, merged by the execution job on Ray."""
    import json
    import time

    from raymaker.serve.capture import capture_key, record

    store = local_session.store
    val = pd.DataFrame({"y": [1, 0] * 150, "prob": [0.9, 0.1] * 150})  # a perfect model
    val.to_csv(tmp_path / "val.csv", index=False)
    monitor = rm.ModelQualityMonitor(session=local_session)
    monitor.suggest_baseline(str(tmp_path / "val.csv"), rm.DatasetFormat.csv(),
                             problem_type="BinaryClassification", probability_attribute="prob",
                             ground_truth_attribute="y")  # fmt: skip
    now = time.time()
    rng = np.random.default_rng(9)
    truth = rng.integers(0, 2, 300)
    answers = np.where(rng.random(300) < 0.7, truth, 1 - truth)  # 70% right now
    recs = [record("text/csv", b"0.1,0.2,1", "text/csv", f"{0.8 if a else 0.2}".encode(),
                   event_id=f"e{i}", inference_id=f"r{i}" if i % 2 else None, now=now - 5)
            for i, a in enumerate(answers)]  # fmt: skip
    store.write_text(capture_key("capture", "ep-mq", "AllTraffic", now - 5),
                     "".join(json.dumps(r) + "\n" for r in recs))  # fmt: skip
    ids = [f"r{i}" if i % 2 else f"e{i}" for i in range(300)]
    gt = "".join(json.dumps({"groundTruthData": {"data": str(t), "encoding": "CSV"},
                             "eventMetadata": {"eventId": i}, "eventVersion": "0"}) + "\n"
                 for i, t in zip(ids, truth, strict=True))  # fmt: skip
    store.write_text(capture_key("ground-truth", "x", "y", now).replace("x/y/", ""), gt)
    monitor.create_monitoring_schedule(
        endpoint_input="ep-mq", ground_truth_input="ground-truth",
        problem_type="BinaryClassification", monitor_schedule_name="mq-live",
        schedule_cron_expression="cron(0 3 ? * * *)", data_analysis_start_time="-PT5M",
    )  # fmt: skip
    execution = monitor.run_now()
    assert execution.summary["Items"] == 300  # every answer found its label
    stats = execution.statistics().body_dict["binary_classification_metrics"]
    assert stats["accuracy"]["value"] == pytest.approx((answers == truth).mean())
    broken = {v["metric_name"] for v in execution.constraint_violations().body_dict["violations"]}
    assert "accuracy" in broken
    monitor.delete_monitoring_schedule()
