"""Autopilot's model zoo and stacking, without Ray: every learner answers in the objectives'
shapes for every problem type, and a stack never scores worse than its first layer."""

from __future__ import annotations

import numpy as np
import pytest

from raymaker.automl import objectives, zoo
from raymaker.errors import SpecError

RNG = np.random.default_rng(7)
X = RNG.normal(size=(240, 5))
X[RNG.random(X.shape) < 0.05] = np.nan  # missing values, as real tables have
SIGNAL = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) ** 2
TARGETS = {
    "BinaryClassification": (SIGNAL > 0.5).astype(int),
    "MulticlassClassification": np.digitize(SIGNAL, [0.0, 1.0]),
    "Regression": SIGNAL + 0.1 * RNG.normal(size=240),
}


@pytest.mark.parametrize("problem_type", list(TARGETS))
@pytest.mark.parametrize("name", list(zoo.LEARNERS))
def test_every_learner_answers_in_the_objectives_shape(name, problem_type):
    y = TARGETS[problem_type]
    fitted = zoo.learner(name, problem_type=problem_type)(X[:180], y[:180])
    pred = fitted.predict(X[180:])
    objective = objectives.objective_for(problem_type)
    if problem_type == "Regression":
        assert pred.shape == (60,)
        assert objective.score(y[180:], pred) < np.var(y[180:])  # beats predicting the mean
    else:
        k = len(np.unique(y))
        assert pred.shape == (60, k) and np.allclose(pred.sum(1), 1.0)
        accuracy = objectives.score("Accuracy", problem_type, y[180:], pred)
        assert accuracy > np.bincount(y[180:]).max() / 60  # beats the majority class


def test_a_stack_never_scores_worse_than_its_first_layer():
    y = TARGETS["BinaryClassification"]
    objective = objectives.objective_for("BinaryClassification", "LogLoss")
    stack = zoo.fit_stack(X, y, objective, learners=("lightgbm", "linear", "extra_trees"),
                          layers=2, folds=3)  # fmt: skip
    assert 1 <= len(stack.layers) <= 2
    scores = [layer.score for layer in stack.layers]
    assert all(objective.better(b, a) for a, b in zip(scores, scores[1:], strict=False))
    first = stack.layers[0]
    singles = [objective.score(y, b.oof) for b in first.bagged]
    assert first.score <= min(singles) + 1e-12  # selection: never worse than the best one
    pred = stack.predict(X[:7])
    assert pred.shape == (7, 2) and np.allclose(pred.sum(1), 1.0)


def test_an_unknown_learner_names_the_zoo():
    with pytest.raises(SpecError, match="'catboost' is not in the zoo; allowed: lightgbm"):
        zoo.learner("catboost", problem_type="Regression")
