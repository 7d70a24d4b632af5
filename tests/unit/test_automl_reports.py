"""The numbers behind Autopilot's model insights and explainability reports, without Ray."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn import metrics

from raymaker.automl.ensemble import bag
from raymaker.automl.explain import _by_class, importances, source_columns
from raymaker.automl.insights import model_insights
from raymaker.automl.zoo import learner


def test_encoded_features_map_back_to_their_columns():
    plan = {"age": "numeric", "plan": "onehot", "plan_type": "onehot", "signup": "datetime",
            "notes": "text", "id": "drop"}  # fmt: skip
    features = ["age", "plan_basic", "plan_type_a", "signup_year", "notes_h3", "other"]
    assert source_columns(features, plan) == {
        "age": "age", "plan_basic": "plan", "plan_type_a": "plan_type",
        "signup_year": "signup", "notes_h3": "notes", "other": "other",
    }  # fmt: skip


def test_binary_insights_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p1 = np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1)
    prob = np.column_stack([1 - p1, p1])
    out = model_insights("BinaryClassification", y, prob, classes=["no", "yes"], threshold=0.6)
    assert out["threshold"] == 0.6 and out["labels"] == ["no", "yes"]
    picks = (p1 >= 0.6).astype(int)
    assert out["confusion_matrix"] == metrics.confusion_matrix(y, picks).tolist()
    (curve,) = out["curves"]  # the positive class only
    assert curve["label"] == "yes"
    assert curve["auc"] == pytest.approx(metrics.roc_auc_score(y, p1), abs=1e-6)
    assert len(curve["roc"]["fpr"]) <= 200 and curve["roc"]["tpr"][-1] == 1.0
    assert out["per_class"][1]["recall"] == pytest.approx(metrics.recall_score(y, picks))


def test_multiclass_insights_have_a_curve_a_class_present():
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    prob = np.eye(3)[[0, 1, 2, 1, 1, 2, 0, 0]] * 0.7 + 0.1
    out = model_insights("MulticlassClassification", y, prob, classes=["a", "b", "c"])
    assert [c["label"] for c in out["curves"]] == ["a", "b", "c"]
    assert np.trace(out["confusion_matrix"]) == 6 and out["threshold"] is None
    absent = model_insights("MulticlassClassification", np.array([0, 1, 0, 1]),
                            np.full((4, 3), 1 / 3), classes=["a", "b", "c"])  # fmt: skip
    assert [c["label"] for c in absent["curves"]] == ["a", "b"]  # no row of "c": no curve


def test_regression_insights():
    y = np.linspace(0, 10, 3000)
    out = model_insights("Regression", y, y + 1.0, classes=None)
    assert out["metrics"]["MAE"] == pytest.approx(1.0)
    assert len(out["scatter"]["actual"]) == 2000  # thinned
    assert out["residuals"]["mean"] == pytest.approx(-1.0) and sum(out["residuals"]["counts"])


def test_booster_contributions_by_class():
    contrib = np.arange(2 * 3 * 4, dtype=float).reshape(2, 12)  # 3 classes x (3 features + bias)
    assert _by_class(contrib, 3).tolist() == [[12, 15, 18], [48, 51, 54]]
    assert _by_class(np.ones((2, 3, 4)), 3).tolist() == [[3, 3, 3], [3, 3, 3]]


@pytest.mark.parametrize("problem_type", ["BinaryClassification", "Regression"])
def test_importances_find_the_signal_with_every_method(problem_type):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = 3 * X[:, 1] + 0.1 * rng.normal(size=200)
    if problem_type != "Regression":
        y = (y > 0).astype(int)
    members = [(name, bag(learner(name, problem_type=problem_type), X, y,
                          problem_type=problem_type, folds=2), 1.0)
               for name in ("lightgbm", "xgboost", "random_forest", "linear")]  # fmt: skip
    out = importances(members, X, ["a", "b", "c"], {c: "numeric" for c in "abc"})
    assert out["columns"][0]["name"] == "b" and out["columns"][0]["importance"] > 0.5
    assert sum(c["importance"] for c in out["columns"]) == pytest.approx(1)
    assert out["weight_explained"] == pytest.approx(1) and not out["members_left_out"]
    methods = {m["learner"]: m["method"] for m in out["members"]}
    assert methods["lightgbm"].startswith("TreeSHAP (LightGBM")
    assert methods["random_forest"] == "TreeSHAP (shap TreeExplainer)"


def test_past_the_deadline_the_lightest_members_are_left_out_and_named():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(120, 3)), rng.normal(size=120)
    fit = bag(learner("linear", problem_type="Regression"), X, y, problem_type="Regression",
              folds=2)  # fmt: skip
    members = [("linear", fit, 0.2), ("lightgbm", bag(learner("lightgbm", problem_type=
               "Regression"), X, y, problem_type="Regression", folds=2), 0.8)]  # fmt: skip
    out = importances(members, X, list("abc"), {}, deadline=time.monotonic() - 1)
    assert [m["learner"] for m in out["members"]] == ["lightgbm"]  # the heaviest, always
    assert out["members_left_out"] == ["linear"] and out["weight_explained"] == 0.8
