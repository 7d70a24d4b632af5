"""The parts of Autopilot's ENSEMBLING mode that need no Ray: k-fold bagging with out-of-fold
predictions, and greedy ensemble selection over them (Caruana et al., 2004, as AutoGluon does
it: rounds of adding, with replacement, the candidate that most improves the blend).

A "fit" is ``fit(X_train, y_train) -> model`` with ``model.predict(X)`` giving a candidate's
prediction (``objectives``' shapes). Bagging gives every row a prediction by the fold model
that did not see it; selection scores blends of those, so it never rewards memorizing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raymaker.automl.objectives import REGRESSION, Objective


@dataclass
class Bagged:
    """One candidate bagged over k folds: its fold models and out-of-fold predictions."""

    models: list
    oof: np.ndarray  # a prediction for every training row, by the model that did not see it

    def predict(self, X) -> np.ndarray:
        """The fold models' mean prediction (what the candidate answers on new rows)."""
        return np.mean([m.predict(X) for m in self.models], axis=0)


def bag(fit, X, y, *, problem_type: str, folds: int = 5, seed: int = 0, on_fold=None,
        sample_weight=None) -> Bagged:  # fmt: skip
    """Fit ``fit`` on k folds (stratified for classification); ``Bagged`` with each row's
    out-of-fold prediction. ``on_fold(i)`` is called after each fold (a trial reports there,
    where Ray Tune may stop it). A fit marked ``out_of_bag`` (a bootstrapped forest, as
    AutoGluon does it) is fitted once and its out-of-bag predictions are the out-of-fold ones."""
    from sklearn.model_selection import KFold, StratifiedKFold

    y = np.asarray(y)
    if getattr(fit, "out_of_bag", False):  # a bootstrapped forest: one fit, out-of-bag rows
        model = fit(X, y) if sample_weight is None else fit(X, y, sample_weight)
        if on_fold is not None:
            on_fold(folds)
        return Bagged([model], model.oob())
    splitter = (
        KFold(folds, shuffle=True, random_state=seed)
        if problem_type == REGRESSION
        else StratifiedKFold(folds, shuffle=True, random_state=seed)
    )
    models, oof = [], None
    for train, held in splitter.split(np.zeros(len(y)), y):
        if sample_weight is None:
            model = fit(_rows(X, train), y[train])
        else:  # row weights: a fit that takes them (the zoo's learners do)
            model = fit(_rows(X, train), y[train], np.asarray(sample_weight)[train])
        part = np.asarray(model.predict(_rows(X, held)), dtype=np.float64)
        if oof is None:
            oof = np.zeros((len(y), *part.shape[1:]), dtype=np.float64)
        oof[held] = part
        models.append(model)
        if on_fold is not None:
            on_fold(len(models))
    return Bagged(models, oof)


@dataclass
class Selection:
    """Greedy ensemble selection's result: a weight a candidate (summing to 1), the kept
    blend's score, the blend's score after each round, and the best single candidate's."""

    weights: np.ndarray
    score: float
    history: list[float]
    best_single: float


def select(
    predictions: list[np.ndarray],
    y,
    objective: Objective,
    *,
    rounds: int = 25,
    sample_weight=None,
) -> Selection:
    """Weights over ``predictions`` (each candidate's out-of-fold predictions) by greedy
    selection with replacement: each round adds the candidate whose addition scores best; the
    round with the best blend is kept, so the blend is never worse than the best single one."""
    if not predictions:
        raise ValueError("greedy ensemble selection needs at least one candidate")
    y = np.asarray(y)
    singles = [objective.score(y, p, sample_weight) for p in predictions]
    first = max(range(len(singles)), key=lambda i: singles[i] if objective.maximize
                else -singles[i])  # fmt: skip
    counts = np.zeros(len(predictions))
    counts[first] = 1
    blend = np.asarray(predictions[first], dtype=np.float64).copy()
    scores, best_counts, best = [singles[first]], counts.copy(), singles[first]
    for n in range(1, rounds):
        trial = [objective.score(y, (blend * n + p) / (n + 1), sample_weight) for p in predictions]
        pick = max(range(len(trial)), key=lambda i: trial[i] if objective.maximize
                   else -trial[i])  # fmt: skip
        blend = (blend * n + predictions[pick]) / (n + 1)
        counts[pick] += 1
        scores.append(trial[pick])
        if objective.better(trial[pick], best):
            best, best_counts = trial[pick], counts.copy()
    weights = best_counts / best_counts.sum()
    return Selection(weights=weights, score=best, history=scores, best_single=singles[first])


def blend(predictions: list[np.ndarray], weights) -> np.ndarray:
    """The weighted blend of candidates' predictions (probabilities or values)."""
    return np.tensordot(
        np.asarray(weights, dtype=np.float64),
        np.stack([np.asarray(p, dtype=np.float64) for p in predictions]),
        1,
    )


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def decision_threshold(prediction, y, objective: Objective, sample_weight=None) -> float:
    """The positive-class probability above which a binary prediction is positive, chosen
    on out-of-fold predictions for the objective (F1, Accuracy, BalancedAccuracy: AutoGluon's
    decision-threshold calibration); 0.5 for every other objective and problem type."""
    from raymaker.automl.objectives import BINARY, THRESHOLD_TUNED

    prediction = np.asarray(prediction, dtype=np.float64)
    if objective.problem_type != BINARY or objective.name not in THRESHOLD_TUNED:
        return 0.5
    candidates = np.unique(np.round(np.quantile(prediction[:, 1], np.linspace(0.02, 0.98, 49)),
                                    4))  # fmt: skip
    best, best_score = 0.5, objective.score(y, prediction, sample_weight)
    for t in candidates:
        value = objective.score(y, prediction, sample_weight, threshold=float(t))
        if objective.better(value, best_score + 1e-9):
            best, best_score = float(t), value
    return best
