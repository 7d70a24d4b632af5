"""Global SHAP importances of an Autopilot model: which columns its predictions lean on.

Each member of the ensemble is explained by the exact method that fits it, on a sample of the
rows it learned from:

- LightGBM and XGBoost: TreeSHAP through the boosters' own contributions
  (``pred_contrib`` / ``pred_contribs``), in their margin space;
- scikit-learn's forests: shap's ``TreeExplainer`` (exact TreeSHAP), in probability space;
- the linear model: shap's ``LinearExplainer`` on its standardized inputs;
- the MLP: shap's ``PermutationExplainer`` against a background sample.

A member's importance of a feature is its mean absolute SHAP value (summed over classes),
normalized to sum to 1 (the members answer in different spaces, so raw values do not add);
fold models are averaged, and members weighted by their ensemble weight. Features the
automatic recipe derived from one column (one-hot values, date parts, hashed tokens) are
summed back into that column, so the report speaks of the data's own columns, as
SageMaker's explainability report does.
"""

from __future__ import annotations

import numpy as np

from raymaker.automl.objectives import REGRESSION

ROWS = 200  # rows explained by the boosters; the others explain fewer
FOREST_ROWS = 100
PERMUTATION_ROWS = 40
BACKGROUND = 50
FOLD_MODELS = 2  # fold models explained a member (their importances barely differ)


def importances(members, X, features: list[str], plan: dict[str, str], problem_type: str, *,
                seed: int = 0, deadline: float | None = None) -> dict:  # fmt: skip
    """``members`` as ``[(learner, Bagged, weight)]``; ``X`` the rows the model learned from
    (after the recipe). The report's numbers: per encoded feature and per source column,
    sorted, each summing to 1, and how each member was explained. Past ``deadline``
    (``time.monotonic()``) the members not yet explained, the lightest, are left out and
    named; the share of the ensemble's weight explained says how much that is."""
    import time

    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    sample = X[rng.choice(len(X), size=min(ROWS, len(X)), replace=False)]
    total = np.zeros(len(features))
    methods, skipped = [], []
    weight_sum = sum(w for _, _, w in members) or 1.0
    explained = 0.0
    for learner, bagged, weight in sorted(members, key=lambda m: -m[2]):
        if methods and deadline is not None and time.monotonic() > deadline:
            skipped.append(learner)
            continue
        share = np.zeros(len(features))
        models = bagged.models[:FOLD_MODELS]
        for fitted in models:
            values, method = _explain(learner, fitted.model, sample, problem_type, rng)
            share += _normalized(values)
        total += (weight / weight_sum) * share / len(models)
        explained += weight / weight_sum
        methods.append({"learner": learner, "weight": round(weight / weight_sum, 6),
                        "method": method, "fold_models": len(models)})  # fmt: skip
    total = _normalized_vector(total)
    columns = source_columns(features, plan)
    by_column: dict[str, float] = {}
    for feature, value in zip(features, total, strict=True):
        by_column[columns[feature]] = by_column.get(columns[feature], 0.0) + float(value)
    return {
        "method": "SHAP (mean |SHAP value|, normalized)",
        "rows_explained": len(sample),
        "members": methods,
        "weight_explained": round(explained, 6),
        "members_left_out": skipped,
        "columns": _sorted(by_column),
        "features": _sorted({f: float(v) for f, v in zip(features, total, strict=True)}),
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


def _explain(learner: str, model, X, problem_type: str, rng) -> tuple[np.ndarray, str]:
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
        inputs = inputs[:FOREST_ROWS]
        values = shap.TreeExplainer(last).shap_values(inputs, check_additivity=False)
        return _abs_sum(values, X.shape[1]), "TreeSHAP (shap TreeExplainer)"
    if learner == "linear":
        background = inputs[rng.choice(len(inputs), min(BACKGROUND * 4, len(inputs)), False)]
        values = shap.LinearExplainer(last, background).shap_values(inputs)
        return _abs_sum(values, X.shape[1]), "linear SHAP (shap LinearExplainer)"
    rows = X[: min(PERMUTATION_ROWS, len(X))]
    background = X[rng.choice(len(X), min(BACKGROUND, len(X)), replace=False)]

    def predict(data):
        if problem_type == REGRESSION:
            return np.asarray(model.predict(data), dtype=np.float64)
        return np.asarray(model.predict_proba(data), dtype=np.float64)

    explainer = shap.PermutationExplainer(predict, shap.maskers.Independent(background))
    values = explainer(rows, max_evals=2 * X.shape[1] + 1, silent=True).values
    return _abs_sum(values, X.shape[1]), "permutation SHAP (shap PermutationExplainer)"


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
    return _normalized_vector(np.asarray(values, dtype=np.float64).mean(axis=0))


def _normalized_vector(v: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(v, dtype=np.float64))
    total = v.sum()
    return v / total if total > 0 else v


def _sorted(values: dict[str, float]) -> list[dict]:
    return [{"name": k, "importance": round(v, 6)}
            for k, v in sorted(values.items(), key=lambda kv: -kv[1])]  # fmt: skip
