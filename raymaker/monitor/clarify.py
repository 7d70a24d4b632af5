"""What a ``ClarifyJob`` runs: Clarify's analysis.json (bias before and after training, SHAP
explanations) and a report page.

Predictions come from the model itself, loaded the way endpoints and batch transform load it
(``raymaker.inference.reference``). Explanations: an XGBoost or LightGBM built-in gives its
own TreeSHAP contributions; any other model is explained by shap's permutation explainer
over its predictions (the ``shap`` package), against ``baseline_rows`` background rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raymaker.errors import DataError
from raymaker.monitor import bias

AGGREGATE = {
    "mean_abs": lambda v: np.mean(np.abs(v), axis=0),
    "median": lambda v: np.median(v, axis=0),
    "mean_sq": lambda v: np.mean(np.square(v), axis=0),
}


def run_clarify(spec, ctx) -> dict:
    """Run the job's analyses; returns the analysis file's URI and the headline figures."""
    from raymaker.monitor.jobs import dataset_frames, publish, whole
    from raymaker.storage import layout

    ctx.progress(stage="reading", force=True)
    frame = whole(dataset_frames(ctx.store, spec.dataset), spec.dataset.uri)
    if spec.label not in frame.columns:
        raise DataError(f"label {spec.label!r} is not a column; columns: "
                        f"{', '.join(map(str, frame.columns))}")  # fmt: skip
    features = frame.drop(columns=[spec.label])
    analysis: dict = {"version": "1.0"}
    b = spec.bias
    common = {"label": spec.label, "label_values": b.label_values_or_threshold,
              "facet": b.facet_name, "facet_values": b.facet_values_or_threshold,
              "group": b.group_name, "methods": spec.methods} if b else {}  # fmt: skip
    if "pre_training_bias" in spec.analyses:
        ctx.progress(stage="pre-training bias", force=True)
        analysis["pre_training_bias_metrics"] = bias.report(frame, stage="pre", **common)
    model = None
    if {"post_training_bias", "explainability"} & set(spec.analyses):
        ctx.progress(stage="loading the model", force=True)
        model = load_model(ctx, spec.model_data)
    if "post_training_bias" in spec.analyses:
        ctx.progress(stage="post-training bias", force=True)
        scores = predict(model, features)
        positive = b.label_values_or_threshold[0]
        labelled = frame.assign(__predicted__=predicted_labels(scores, frame[spec.label], positive,
                                                      spec.probability_threshold))  # fmt: skip
        analysis["post_training_bias_metrics"] = bias.report(
            labelled, stage="post", predicted="__predicted__", **common
        )
    if "explainability" in spec.analyses:
        ctx.progress(stage="explainability", force=True)
        analysis["explanations"] = {
            "kernel_shap": {spec.label: explain(model, features, spec.shap)}
        }
    ctx.progress(stage="publishing", force=True)
    from raymaker.monitor.report import clarify_page

    files = {"analysis.json": analysis, "report.html": clarify_page(ctx.name, analysis)}
    target = ctx.store.key(spec.output_uri) if spec.output_uri else layout.job_output(ctx.name)
    uris = publish(ctx.store, files, staging=layout.job_staging(ctx.name, "clarify"),
                    target=target)  # fmt: skip
    from raymaker.data.charts import write_asset

    write_asset(ctx.store, target.rsplit("/", 1)[0])
    return {"analysis": uris["analysis.json"], "report": uris["report.html"], "rows": len(frame)}


def load_model(ctx, model_data: str):
    """The model's loaded Handler (fetched and verified into the job's work folder)."""
    from raymaker.inference import reference

    env = ctx.settings.job_env()
    ref = reference.resolve(ctx.store, model_data, store_env=env, where="model_data")
    return reference.load(ref, str(ctx.workdir / "model"))


def predict(handler, frame: pd.DataFrame) -> np.ndarray:
    """The model's scores for the frame's rows: a built-in scores the frame (its recipe
    applied); a model with handler code gets the rows as a CSV request."""
    model = handler.model
    if handler.hooks is None and hasattr(model, "score_frame"):
        return np.asarray(model.score_frame(frame))
    from raymaker.inference.handler import Request

    body = frame.to_csv(header=False, index=False).encode()
    (answer,) = handler.invoke([Request(body, "text/csv", "text/csv")])
    if answer.status >= 400:
        raise DataError(f"the model refused the data: {answer.body[:300]!r}")
    text = answer.body.decode().strip()
    return np.array([[float(v) for v in line.split(",")] for line in text.splitlines()]).squeeze()


def predicted_labels(
    scores: np.ndarray, truth: pd.Series, positive, threshold: float
) -> np.ndarray:
    """Predicted labels in the label column's own values: a score (binary) at or above the
    threshold is the positive label; a row of class scores, its class; a label, itself."""
    scores = np.asarray(scores)
    if scores.ndim == 2:
        classes = sorted(truth.dropna().unique().tolist())
        return np.array([classes[i] for i in scores.argmax(axis=1)], dtype=object)
    values = sorted(truth.dropna().unique().tolist(), key=str)
    if scores.dtype.kind == "f" and ((scores > 0) & (scores < 1)).any() and len(values) == 2:
        # the labels as the label column writes them (ground truth arrives as text)
        pos = next((v for v in values if str(v) == str(positive)), positive)
        neg = next(v for v in values if str(v) != str(positive))
        out = np.empty(len(scores), dtype=object)
        hit = scores >= threshold
        out[hit], out[~hit] = pos, neg
        return out
    return scores


def explain(handler, features: pd.DataFrame, shap_settings) -> dict:
    """Clarify's global SHAP values: ``{"global_shap_values": {feature: value},
    "expected_value": float}`` over ``num_samples`` sampled rows."""
    rng = np.random.default_rng(shap_settings.seed)
    rows = features.iloc[rng.permutation(len(features))[: shap_settings.num_samples]]
    model = handler.model
    booster = getattr(model, "booster", None) if handler.hooks is None else None
    if booster is not None and model.recipe is None and list(rows.columns) == model.features:
        values, expected = _tree_contributions(model, rows)
    else:
        values, expected = _permutation(handler, features, rows, shap_settings, rng)
    agg = AGGREGATE[shap_settings.agg_method](values)
    return {
        "global_shap_values": {c: float(v) for c, v in zip(rows.columns, agg, strict=True)},
        "expected_value": float(expected),
        "method": "tree" if booster is not None and model.recipe is None else "permutation",
    }


def _tree_contributions(model, rows: pd.DataFrame):
    """XGBoost's ``pred_contribs`` or LightGBM's ``pred_contrib``: exact TreeSHAP."""
    X = model.matrix(rows)
    if type(model).__name__ == "XGBoostModel":
        import xgboost as xgb

        names = model.booster.feature_names  # a booster trained on a frame checks them
        contrib = model.booster.predict(xgb.DMatrix(X, feature_names=names), pred_contribs=True)
    else:
        contrib = model.booster.predict(X, pred_contrib=True)
    contrib = np.asarray(contrib)
    return contrib[:, :-1], float(np.mean(contrib[:, -1]))


def _permutation(handler, features, rows, settings, rng):
    """shap's permutation explainer on the model's scores (any model, numeric or not:
    rows go through the model's own parsing)."""
    import shap

    background = features.iloc[rng.permutation(len(features))[: settings.baseline_rows]]
    columns = list(features.columns)

    def f(X):
        return np.asarray(predict(handler, pd.DataFrame(X, columns=columns)), dtype="float64")

    explainer = shap.explainers.Permutation(
        f, background.to_numpy(dtype=object), seed=settings.seed
    )
    found = explainer(rows.to_numpy(dtype=object))
    values = np.asarray(found.values)
    if values.ndim == 3:  # class scores: the positive (last) class
        values = values[..., -1]
    base = np.asarray(found.base_values).reshape(len(rows), -1)[:, -1]
    return values, float(np.mean(base))
