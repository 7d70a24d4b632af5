"""The AutoML job without Ray: its spec's errors, the automatic recipe, the served ensemble's
response keys, the data checks a job fails on before any trial, and the SageMaker shapes of a
candidate-definitions-only job."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from raymaker.automl import ensemble, zoo
from raymaker.automl.checks import check_automl
from raymaker.automl.features import auto_recipe, plan_columns
from raymaker.automl.serving import AutoMLModel, check_response_keys, write_model
from raymaker.errors import SpecError
from raymaker.jobs.records import JobStatus
from raymaker.specs import parse_spec


def spec(**fields):
    return parse_spec({"kind": "AutoMLJob", "inputs": {"train": "data.csv"},
                       "target_attribute_name": "y", **fields})  # fmt: skip


@pytest.mark.parametrize("fields,message", [
    ({"algorithms": ["lightgmb"]}, "did you mean 'lightgbm'"),
    ({"mode": "ensemble"}, "ENSEMBLING"),
    ({"inputs": {"validation": "v.csv"}}, "needs a 'train' channel"),
    ({"inputs": {"train": "t.csv", "test": "x.csv"}}, "not: test"),
    ({"validation_fraction": 1.5}, "validation_fraction"),
    ({"problem_type": "Binary"}, "BinaryClassification"),
    ({"max_candidates": 0}, "max_candidates"),
])  # fmt: skip
def test_bad_specs_name_the_field_and_the_allowed_values(fields, message):
    with pytest.raises(SpecError, match=message):
        spec(**fields)


def test_objectives_are_checked_against_the_problem_type():
    assert check_automl(spec(objective="AUC", problem_type="BinaryClassification")) == []
    (problem,) = check_automl(spec(objective="AUC", problem_type="Regression"))
    assert "does not fit a Regression problem" in problem and "MSE" in problem
    (problem,) = check_automl(spec(objective="f1"))
    assert "did you mean 'F1'" in problem
    assert check_automl(spec(sample_weight_attribute_name="y"))


def test_the_automatic_recipe_picks_a_treatment_for_each_column():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n), "member": rng.random(n) > 0.5,
        "plan": rng.choice(["a", "b", None], n),
        "when": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "note": [" ".join(rng.choice(["x", "y", "z", "w"], 4)) for _ in range(n)],
        "user": [f"u{i}" for i in range(n)], "zip": rng.choice([f"z{i}" for i in range(90)], n),
        "empty": [None] * n,
    })  # fmt: skip
    assert plan_columns(frame) == {"age": "numeric", "member": "numeric", "plan": "onehot",
                                   "when": "datetime", "note": "text", "user": "drop",
                                   "zip": "ordinal", "empty": "drop"}  # fmt: skip
    recipe, _ = auto_recipe(frame)
    out = recipe.fit(frame).transform_frame(frame.head(3), inference=True)
    assert all(pd.api.types.is_numeric_dtype(out[c]) for c in out.columns)
    assert auto_recipe(frame[["age"]])[0] is None  # numbers alone need no recipe


@pytest.fixture
def binary_model(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    bagged = ensemble.bag(zoo.learner("linear", problem_type="BinaryClassification"), X, y,
                          problem_type="BinaryClassification", folds=3)  # fmt: skip
    import joblib

    joblib.dump(bagged, tmp_path / "bagged.joblib")
    folder = tmp_path / "model"
    members = [{"learner": "linear", "file": str(tmp_path / "bagged.joblib"), "weight": 1.0}]
    files = write_model(str(folder), members, problem_type="BinaryClassification",
                        classes=["no", "yes"], recipe_json=None)  # fmt: skip
    manifest = {"framework": "automl", "features": ["a", "b", "c"],
                "input_schema": {"a": "double", "b": "double", "c": "double"}, **files}  # fmt: skip
    return str(folder), manifest


def test_the_served_ensemble_answers_with_the_chosen_response_keys(binary_model, monkeypatch):
    folder, manifest = binary_model
    rows = pd.DataFrame({"a": [2.0, -2.0], "b": [0.0, 0.0], "c": [0.0, 0.0]})
    model = AutoMLModel(folder, manifest)
    assert model.predict(rows)[1] == [{"predicted_label": "yes"}, {"predicted_label": "no"}]
    assert model.csv_texts(model.score_frame(rows)) == ["yes", "no"]

    monkeypatch.setenv("SAGEMAKER_INFERENCE_OUTPUT", "probability,labels,predicted_label")
    model = AutoMLModel(folder, manifest)
    first = model.predict(rows)[1][0]
    assert list(first) == ["probability", "labels", "predicted_label"]
    assert first["labels"] == ["no", "yes"] and first["probability"] > 0.5
    line = model.csv_texts(model.score_frame(rows))[0]
    assert line.endswith(",\"['no', 'yes']\",yes")
    body = model.encode(*reversed(model.predict(rows)), "application/json")
    assert json.loads(body)["predictions"][1]["predicted_label"] == "no"


def test_a_stacked_member_predicts_from_the_features_and_its_inputs(tmp_path):
    import joblib

    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    problem = "BinaryClassification"
    low = ensemble.bag(zoo.learner("linear", problem_type=problem), X, y, problem_type=problem,
                       folds=3)  # fmt: skip
    high = ensemble.bag(zoo.learner("lightgbm", problem_type=problem),
                        zoo.stack_features(X, [low.oof], problem), y, problem_type=problem,
                        folds=3)  # fmt: skip
    joblib.dump(low, tmp_path / "low.joblib")
    joblib.dump(high, tmp_path / "high.joblib")
    members = [  # the input travels with weight 0: the blend is the stacked member alone
        {"learner": "linear", "file": str(tmp_path / "low.joblib"), "weight": 0.0},
        {"learner": "lightgbm", "member": "lightgbm-l2", "layer": 2, "inputs": ["linear"],
         "file": str(tmp_path / "high.joblib"), "weight": 1.0},
    ]  # fmt: skip
    files = write_model(str(tmp_path / "m"), members, problem_type=problem,
                        classes=["no", "yes"], recipe_json=None)  # fmt: skip
    manifest = {"framework": "automl", "features": list("abc"),
                "input_schema": dict.fromkeys("abc", "double"), **files}  # fmt: skip
    model = AutoMLModel(str(tmp_path / "m"), manifest)
    expected = high.predict(zoo.stack_features(X[:5], [low.predict(X[:5])], problem))
    assert np.allclose(model.scores(X[:5]), expected)

    from raymaker.automl.explain import importances, stacked_names

    names = stacked_names(list("abc"), ["linear"], [1], ["no", "yes"])
    assert names[-1] == "prediction of linear"
    out = importances([("lightgbm", high, 1.0, zoo.stack_features(X, [low.oof], problem), names)],
                      X, list("abc"), {})  # fmt: skip
    assert {c["name"] for c in out["columns"]} == {"a", "b", "c", "prediction of linear"}


def test_response_keys_are_checked():
    assert check_response_keys(None, "MulticlassClassification") == ["predicted_label"]
    assert check_response_keys("probabilities, labels", "BinaryClassification") == [
        "probabilities", "labels"]  # fmt: skip
    with pytest.raises(SpecError, match="did you mean 'predicted_label'"):
        check_response_keys(["predicted_labels"], "BinaryClassification")
    with pytest.raises(SpecError, match="for classification"):
        check_response_keys(["probability"], "Regression")
    assert check_response_keys(None, "Regression") == []


def run(tmp_path, frame: pd.DataFrame, **fields):
    from raymaker.jobs.runner import run_spec
    from raymaker.settings import Settings

    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    settings = Settings.from_env().replace(store=str(tmp_path / "store"))
    body = {"kind": "AutoMLJob", "inputs": {"train": str(path)}, "target_attribute_name": "y",
            **fields}  # fmt: skip
    return run_spec(parse_spec(body), name=fields.get("name", "am"), settings=settings), settings


@pytest.mark.parametrize("frame,fields,message", [
    (pd.DataFrame({"x": range(40), "label": [0, 1] * 20}), {},
     "target_attribute_name: column 'y' is not in the data"),
    (pd.DataFrame({"x": range(40), "y": [0, 1, 2, 3] * 10}),
     {"problem_type": "BinaryClassification"}, "the target has 4 values"),
    (pd.DataFrame({"x": range(40), "y": ["a"] * 37 + ["b"] * 3}), {},
     "'b' has 3"),
    (pd.DataFrame({"x": range(6), "y": [0, 1] * 3}), {}, "needs at least 10"),
    (pd.DataFrame({"x": range(40), "y": [0, 1] * 20}), {"objective": "MSE"},
     "does not fit"),
])  # fmt: skip
def test_bad_data_fails_the_job_before_any_trial_naming_the_problem(tmp_path, frame, fields,
                                                                    message):  # fmt: skip
    record, _ = run(tmp_path, frame, **fields)
    assert record.status == JobStatus.FAILED and message in record.failure_reason


def test_definitions_only_writes_rerunnable_specs_and_sagemaker_shapes(tmp_path):
    from raymaker.sagemaker.automl.describe import describe_auto_ml_job, list_candidates
    from raymaker.specs import load_spec
    from raymaker.storage import store_for_settings

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "y": rng.normal(size=60) * 3.5})
    record, settings = run(tmp_path, frame, name="defs", generate_candidate_definitions_only=True,
                           algorithms=["xgboost", "mlp"])  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.failure_reason
    result = record.result
    assert result["problem_type"] == "Regression" and result["problem_type_inferred"]
    assert [d["learner"] for d in result["candidate_definitions"]] == ["xgboost", "mlp"]
    store = store_for_settings(settings)
    again = load_spec(result["candidate_definitions"][0]["uri"], store=store)
    assert again.algorithms == ["xgboost"] and again.objective == "MSE"
    assert not again.generate_candidate_definitions_only

    desc = describe_auto_ml_job(store, record)
    assert desc["AutoMLJobStatus"] == "Completed"
    assert desc["AutoMLJobSecondaryStatus"] == "CandidateDefinitionsGenerated"
    assert desc["ResolvedAttributes"]["ProblemType"] == "Regression"
    assert desc["ResolvedAttributes"]["AutoMLJobObjective"] == {"MetricName": "MSE"}
    assert "BestCandidate" not in desc and list_candidates(store, record) == []
    with pytest.raises(SpecError, match="did you mean 'Name'"):
        list_candidates(store, record, sort_by="Nme")


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "random_forest", "linear", "mlp"])
def test_every_learner_honours_row_weights(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    noise = rng.random(300) < 0.5  # half the rows lie, with weight 0
    y_seen = np.where(noise, 1 - y, y)
    weights = np.where(noise, 0.0, 1.0)
    fit = zoo.learner(name, problem_type="BinaryClassification")
    bagged = ensemble.bag(fit, X, y_seen, problem_type="BinaryClassification", folds=3,
                          sample_weight=weights)  # fmt: skip
    clean = ~noise
    accuracy = (bagged.oof[clean].argmax(1) == y[clean]).mean()
    assert accuracy > 0.85, accuracy


def test_bad_weights_fail_the_job_naming_the_row(tmp_path):
    frame = pd.DataFrame({"x": range(40), "w": [1.0] * 39 + [-1.0], "y": [0, 1] * 20})
    record, _ = run(tmp_path, frame, sample_weight_attribute_name="w")
    assert record.status == JobStatus.FAILED
    assert "weights must be numbers >= 0; row 39 holds -1.0" in record.failure_reason


def test_the_decision_threshold_is_tuned_for_f1_on_imbalanced_rows():
    from raymaker.automl.objectives import objective_for

    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.2).astype(int)
    p1 = np.clip(0.25 * y + rng.normal(0.2, 0.12, 2000), 0, 1)  # positives rarely reach 0.5
    proba = np.column_stack([1 - p1, p1])
    f1 = objective_for("BinaryClassification", "F1")
    t = ensemble.decision_threshold(proba, y, f1)
    assert t < 0.5 and f1.score(y, proba, threshold=t) > f1.score(y, proba) + 0.1
    for name in ("AUC", "Recall", "LogLoss"):  # no threshold for these
        assert ensemble.decision_threshold(proba, y, objective_for("BinaryClassification",
                                                                  name)) == 0.5  # fmt: skip


def test_multi_fidelity_rungs_only_on_large_data():
    from raymaker.automl.hpo import MULTI_FIDELITY_ROWS, rungs

    assert rungs(MULTI_FIDELITY_ROWS - 1) == [MULTI_FIDELITY_ROWS - 1]  # one whole fit
    assert rungs(9000) == [1000, 3000, 9000]  # a ninth, a third, all


def test_a_feature_specification_picks_the_columns_and_names_a_wrong_one(tmp_path):
    import json

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.normal(size=60), "plan": ["a", "b", "c"] * 20,
                          "noise": rng.normal(size=60), "y": rng.normal(size=60)})  # fmt: skip
    spec_file = tmp_path / "features.json"
    spec_file.write_text(json.dumps({"FeatureAttributeNames": ["age", "plan"]}))
    record, _ = run(tmp_path, frame, name="fs", generate_candidate_definitions_only=True,
                    feature_specification_s3_uri=str(spec_file))  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.failure_reason
    assert set(record.result["features"]) == {"age", "plan"}  # noise is not learned from
    assert record.result["reports"]["DataExploration"].endswith("/data-exploration/")

    spec_file.write_text(json.dumps({"FeatureAttributeNames": ["age", "plann"]}))
    record, _ = run(tmp_path, frame, name="fs2", generate_candidate_definitions_only=True,
                    feature_specification_s3_uri=str(spec_file))  # fmt: skip
    assert record.status == JobStatus.FAILED
    assert "feature_specification_s3_uri: column 'plann'" in record.failure_reason
    assert "did you mean 'plan'" in record.failure_reason
