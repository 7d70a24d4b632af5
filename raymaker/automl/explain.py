"""Global SHAP importances of an Autopilot model: which columns its predictions lean on.

Each member of the ensemble is explained by the exact method that fits it, on a sample of the
rows it learned from:

- LightGBM and XGBoost: TreeSHAP through the boosters' own contributions
  (``pred_contrib`` / ``pred_contribs``), in their margin space;
- scikit-learn's forests: shap's ``TreeExplainer`` (exact TreeSHAP), in probability space, on
  a sample of ``FOREST_TREES`` of their trees (a forest's SHAP values are the mean of its
  trees', so the sample estimates them without bias at a fraction of the cost);
- the linear model: shap's ``LinearExplainer`` on its standardized inputs;
- the MLP: shap's ``DeepExplainer`` (DeepSHAP) on its network and standardized inputs,
  against a background sample, in its output (logit) space.

A member's importance of a feature is its mean absolute SHAP value (summed over classes),
normalized to sum to 1 (the members answer in different spaces, so raw values do not add);
fold models are averaged, and members weighted by their ensemble weight. Features the
automatic recipe derived from one column (one-hot values, date parts, hashed tokens) are
summed back into that column, so the report speaks of the data's own columns, as
SageMaker's explainability report does.
"""

from __future__ import annotations

import numpy as np

ROWS = 200  # rows explained by the boosters; the others explain fewer
FOREST_ROWS = 100
FOREST_TREES = 50
NETWORK_ROWS = 50
BACKGROUND = 50
FOLD_MODELS = 2  # fold models explained a member (their importances barely differ)


def importances(members, X, features: list[str], plan: dict[str, str], *, seed: int = 0,
                deadline: float | None = None) -> dict:  # fmt: skip
    """``members`` as ``[(learner, Bagged, weight)]``, or ``(learner, Bagged, weight, X,
    features)`` for a member that learned from other columns (a stacking layer: the
    features plus the layer below's predictions); ``X`` the rows the model learned from
    (after the recipe). The report's numbers: per encoded feature and per source column,
    sorted, each summing to 1, and how each member was explained. Past ``deadline``
    (``time.monotonic()``) the members not yet explained, the lightest, are left out and
    named; the share of the ensemble's weight explained says how much that is."""
    import time

    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    index = rng.choice(len(X), size=min(ROWS, len(X)), replace=False)
    total: dict[str, float] = dict.fromkeys(features, 0.0)
    methods, skipped = [], []
    weight_sum = sum(m[2] for m in members) or 1.0
    explained = 0.0
    for learner, bagged, weight, *own in sorted(members, key=lambda m: -m[2]):
        if methods and deadline is not None and time.monotonic() > deadline:
            skipped.append(learner)
            continue
        rows, names = (np.asarray(own[0], dtype=np.float64), own[1]) if own else (X, features)
        share = np.zeros(len(names))
        models = bagged.models[:FOLD_MODELS]
        for fitted in models:
            values, method = _explain(learner, fitted.model, rows[index], rng)
            share += _normalized(values)
        for name, value in zip(names, share / len(models), strict=True):
            total[name] = total.get(name, 0.0) + (weight / weight_sum) * float(value)
        explained += weight / weight_sum
        methods.append({"learner": learner, "weight": round(weight / weight_sum, 6),
                        "method": method, "fold_models": len(models)})  # fmt: skip
    norm = sum(total.values()) or 1.0
    total = {k: v / norm for k, v in total.items()}
    columns = source_columns(list(total), plan)
    by_column: dict[str, float] = {}
    for feature, value in total.items():
        by_column[columns[feature]] = by_column.get(columns[feature], 0.0) + value
    return {
        "method": "SHAP (mean |SHAP value|, normalized)",
        "rows_explained": len(index),
        "members": methods,
        "weight_explained": round(explained, 6),
        "members_left_out": skipped,
        "columns": _sorted(by_column),
        "features": _sorted(total),
    }


def source_columns(features: list[str], plan: dict[str, str]) -> dict[str, str]:
    """Encoded feature -> the data's column it came from (the recipe names a derived feature
    ``<column>_<part>``; the longest column that prefixes it wins)."""
    derived = sorted((c for c, kind in plan.items() if kind not in ("numeric", "drop")),
                     key=len, reverse=True)  # fmt: skip
    out = {}
    for feature in features:
        if feature in plan:
            out[feature] = feature
            continue
        out[feature] = next((c for c in derived if feature.startswith(f"{c}_")), feature)
    return out


def _explain(learner: str, model, X, rng) -> tuple[np.ndarray, str]:
    """``(|SHAP| summed over classes, per row and feature; the method's name)``."""
    if learner == "lightgbm":
        contrib = np.asarray(model.predict(X, pred_contrib=True))
        return _by_class(contrib, X.shape[1]), "TreeSHAP (LightGBM pred_contrib)"
    if learner == "xgboost":
        import xgboost as xgb

        contrib = model.get_booster().predict(xgb.DMatrix(X), pred_contribs=True)
        return _by_class(np.asarray(contrib), X.shape[1]), "TreeSHAP (XGBoost pred_contribs)"
    import shap

    inputs, last = _last_step(model, X)
    if learner in ("random_forest", "extra_trees"):
        forest = _some_trees(last, FOREST_TREES, rng)
        values = shap.TreeExplainer(forest).shap_values(inputs[:FOREST_ROWS],
                                                        check_additivity=False)  # fmt: skip
        return _abs_sum(values, X.shape[1]), "TreeSHAP (shap TreeExplainer)"
    if learner == "linear":
        background = inputs[rng.choice(len(inputs), min(BACKGROUND * 4, len(inputs)), False)]
        values = shap.LinearExplainer(last, background).shap_values(inputs)
        return _abs_sum(values, X.shape[1]), "linear SHAP (shap LinearExplainer)"
    if learner == "mlp":
        import torch

        inputs = torch.tensor(model.prep.transform(X), dtype=torch.float32)
        background = inputs[rng.choice(len(inputs), min(BACKGROUND, len(inputs)), False)]
        values = shap.DeepExplainer(model.net, background).shap_values(
            inputs[:NETWORK_ROWS], check_additivity=False)  # fmt: skip
        return _abs_sum(values, X.shape[1]), "DeepSHAP (shap DeepExplainer)"
    raise ValueError(f"no explainer for the learner {learner!r}")


def _some_trees(forest, trees: int, rng):
    """The forest with a random ``trees`` of its trees (a shallow copy; the model is kept)."""
    import copy

    if len(forest.estimators_) <= trees:
        return forest
    sample = copy.copy(forest)
    keep = np.sort(rng.choice(len(forest.estimators_), trees, replace=False))
    sample.estimators_ = [forest.estimators_[i] for i in keep]
    sample.n_estimators = trees
    return sample


def _last_step(model, X):
    """A scikit-learn pipeline's last estimator, and ``X`` through the steps before it."""
    steps = getattr(model, "steps", None)
    if not steps:
        return X, model
    inputs = X
    for _, step in steps[:-1]:
        inputs = step.transform(inputs)
    return np.asarray(inputs, dtype=np.float64), steps[-1][1]


def _by_class(contrib: np.ndarray, n: int) -> np.ndarray:
    """A booster's contributions (a bias column after each class's features) -> |SHAP|."""
    if contrib.ndim == 3:  # XGBoost multiclass: rows x classes x (features + 1)
        return np.abs(contrib[:, :, :n]).sum(axis=1)
    classes = contrib.shape[1] // (n + 1)
    parts = contrib.reshape(len(contrib), classes, n + 1)[:, :, :n]
    return np.abs(parts).sum(axis=1)


def _abs_sum(values, n: int) -> np.ndarray:
    """shap's values in any of its shapes (a list a class; rows x features [x classes])."""
    if isinstance(values, list):
        return np.sum([np.abs(np.asarray(v)) for v in values], axis=0)
    values = np.abs(np.asarray(values, dtype=np.float64))
    if values.ndim == 3:
        return values.sum(axis=2) if values.shape[1] == n else values.sum(axis=1)
    return values


def _normalized(values: np.ndarray) -> np.ndarray:
    """Mean |SHAP| a feature over the rows, as shares summing to 1."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).mean(axis=0))
    total = v.sum()
    return v / total if total > 0 else v


def stacked_names(features: list[str], inputs: list[str], prediction_columns: list[int],
                  labels: list | None) -> list[str]:  # fmt: skip
    """A stacking layer's column names: the features, then each input member's prediction
    (a column, or one a class)."""
    names = list(features)
    for member, width in zip(inputs, prediction_columns, strict=True):
        if width == 1:
            names.append(f"prediction of {member}")
        else:
            names += [f"prediction of {member} ({label})" for label in (labels or range(width))]
    return names


def _sorted(values: dict[str, float]) -> list[dict]:
    return [{"name": k, "importance": round(v, 6)}
            for k, v in sorted(values.items(), key=lambda kv: -kv[1])]  # fmt: skip
