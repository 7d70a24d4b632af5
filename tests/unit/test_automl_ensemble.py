"""Autopilot's pieces that need no Ray: SageMaker's objectives (scikit-learn's metrics under
SageMaker's names and defaults), k-fold bagging and greedy ensemble selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier

from raymaker.automl import ensemble, objectives
from raymaker.errors import SpecError


class Proba:
    """A classifier whose predict is its class probabilities (a candidate's shape)."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict_proba(X)


def test_objectives_have_sagemakers_names_defaults_and_directions():
    assert objectives.objective_for("Regression").name == "MSE"
    assert objectives.objective_for("BinaryClassification").name == "F1"
    assert objectives.objective_for("MulticlassClassification").name == "Accuracy"
    with pytest.raises(SpecError, match="'AUC' does not fit a Regression.*MSE, MAE, R2, RMSE"):
        objectives.objective_for("Regression", "AUC")
    with pytest.raises(SpecError, match="problem_type 'Classification'"):
        objectives.objective_for("Classification")
    mse = objectives.objective_for("Regression", "MSE")
    assert mse.better(0.1, 0.2) and not mse.maximize
    assert objectives.objective_for("Regression", "R2").better(0.9, 0.5)

    y = np.array([0, 1, 1, 0, 1])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6], [0.1, 0.9]])
    labels = proba.argmax(1)
    score = lambda name: objectives.score(name, "BinaryClassification", y, proba)  # noqa: E731
    assert score("F1") == pytest.approx(metrics.f1_score(y, labels))
    assert score("AUC") == pytest.approx(metrics.roc_auc_score(y, proba[:, 1]))
    assert score("LogLoss") == pytest.approx(metrics.log_loss(y, proba))
    assert objectives.score("RMSE", "Regression", [1.0, 2.0], [1.0, 4.0]) == pytest.approx(
        np.sqrt(2.0)
    )


def test_problem_types_are_inferred_as_sagemaker_does():
    assert objectives.infer_problem_type(["yes", "no", "yes"]) == "BinaryClassification"
    assert objectives.infer_problem_type(pd.Series([1, 2, 3, 1, 2, 3] * 10)) == (
        "MulticlassClassification"
    )
    assert objectives.infer_problem_type(np.random.default_rng(0).normal(size=500)) == (
        "Regression"
    )


def test_bagging_gives_every_row_one_prediction_by_a_model_that_did_not_see_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    seen = []

    def fit(X_train, y_train):
        seen.append({tuple(r) for r in X_train})
        return Proba(LogisticRegression().fit(X_train, y_train))

    bagged = ensemble.bag(fit, X, y, problem_type="BinaryClassification", folds=4)
    assert len(bagged.models) == 4 and bagged.oof.shape == (200, 2)
    assert np.allclose(bagged.oof.sum(1), 1.0)  # every row got probabilities
    for i, row in enumerate(X):  # ...from exactly the fold model that never trained on it
        assert sum(tuple(row) not in s for s in seen) == 1, i
    assert bagged.predict(X[:3]).shape == (3, 2)
    regression = ensemble.bag(lambda a, b: Ridge().fit(a, b), X, X[:, 1] * 2,
                              problem_type="Regression", folds=3)  # fmt: skip
    assert regression.oof.shape == (200,)


def test_greedy_selection_never_loses_to_the_best_single_candidate():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 5))
    y = ((X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.3 * rng.normal(size=600)) > 0.5).astype(int)
    fits = {
        "linear": lambda a, b: Proba(LogisticRegression().fit(a, b)),
        "tree": lambda a, b: Proba(DecisionTreeClassifier(max_depth=4, random_state=0).fit(a, b)),
        "stump": lambda a, b: Proba(DecisionTreeClassifier(max_depth=1, random_state=0).fit(a, b)),
    }
    oof = [ensemble.bag(f, X, y, problem_type="BinaryClassification").oof for f in fits.values()]
    objective = objectives.objective_for("BinaryClassification", "LogLoss")
    chosen = ensemble.select(oof, y, objective, rounds=20)
    assert chosen.weights.sum() == pytest.approx(1.0) and (chosen.weights >= 0).all()
    assert not objective.better(chosen.best_single, chosen.score)  # never worse than one
    assert chosen.score < chosen.best_single  # here, blending helps (lower log loss)
    blended = ensemble.blend(oof, chosen.weights)
    assert objective.score(y, blended) == pytest.approx(chosen.score)

    one = ensemble.select([oof[0]], y, objective, rounds=5)
    assert one.weights.tolist() == [1.0]
    with pytest.raises(ValueError):
        ensemble.select([], y, objective)
