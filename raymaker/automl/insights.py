"""The numbers of an Autopilot candidate's model insights report, as SageMaker's: the metrics,
and for classification the confusion matrix, each class's precision, recall and F1, and ROC
and precision-recall curves (binary: the positive class; multiclass: one against the rest);
for regression the predicted against the actual values and the residuals.

They are computed on the rows the candidate was scored on: the held-out rows, or (cross-
validated jobs) every training row's out-of-fold prediction, by a model that did not see it.
Curves are thinned to at most ``POINTS`` points; the scatter to ``SCATTER`` rows.
"""

from __future__ import annotations

import numpy as np

from raymaker.automl.objectives import REGRESSION, all_metrics

POINTS = 200
SCATTER = 2000


def model_insights(problem_type: str, y, prediction, *, classes: list | None,
                   sample_weight=None, threshold: float = 0.5,
                   scored_on: str = "holdout") -> dict:  # fmt: skip
    y = np.asarray(y)
    prediction = np.asarray(prediction, dtype=np.float64)
    out = {
        "problem_type": problem_type,
        "scored_on": scored_on,
        "rows": len(y),
        "metrics": all_metrics(problem_type, y, prediction, sample_weight, threshold),
    }
    if problem_type == REGRESSION:
        out.update(_regression(y.astype(np.float64), prediction))
    else:
        out.update(_classification(y, prediction, [str(c) for c in classes or []], threshold,
                                   sample_weight))  # fmt: skip
    return out


def _classification(y, prob, labels: list[str], threshold: float, w) -> dict:
    from sklearn import metrics

    k = prob.shape[1]
    labels = labels or [str(i) for i in range(k)]
    picks = (prob[:, 1] >= threshold).astype(int) if k == 2 else prob.argmax(axis=1)
    matrix = metrics.confusion_matrix(y, picks, labels=list(range(k)), sample_weight=w)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y, picks, labels=list(range(k)), zero_division=0, sample_weight=w
    )
    per_class = [
        {"label": labels[i], "precision": round(float(precision[i]), 6),
         "recall": round(float(recall[i]), 6), "f1": round(float(f1[i]), 6),
         "support": round(float(support[i]), 6)}
        for i in range(k)
    ]  # fmt: skip
    curves = []
    for i in [1] if k == 2 else range(k):
        positive = (y == i).astype(int)
        if positive.min() == positive.max():  # a class absent from these rows: no curve
            continue
        fpr, tpr, _ = metrics.roc_curve(positive, prob[:, i], sample_weight=w)
        precision_c, recall_c, _ = metrics.precision_recall_curve(positive, prob[:, i],
                                                                  sample_weight=w)  # fmt: skip
        curves.append({
            "label": labels[i],
            "auc": round(float(metrics.auc(fpr, tpr)), 6),
            "average_precision": round(float(metrics.average_precision_score(
                positive, prob[:, i], sample_weight=w)), 6),
            "roc": {"fpr": _thin(fpr), "tpr": _thin(tpr)},
            "pr": {"recall": _thin(recall_c), "precision": _thin(precision_c)},
        })  # fmt: skip
    return {
        "labels": labels,
        "threshold": threshold if k == 2 else None,
        "confusion_matrix": matrix.round(6).tolist(),
        "per_class": per_class,
        "curves": curves,
    }


def _regression(y, prediction) -> dict:
    residuals = y - prediction
    index = np.arange(len(y))
    if len(y) > SCATTER:
        index = np.random.default_rng(0).choice(len(y), SCATTER, replace=False)
    lo, hi = float(residuals.min()), float(residuals.max())
    if hi - lo <= 1e-9 * max(1.0, abs(lo)):  # (nearly) constant: one bin's worth of range
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(residuals, bins=min(40, max(5, len(y) // 10)), range=(lo, hi))
    return {
        "scatter": {"actual": _round(y[index]), "predicted": _round(prediction[index])},
        "residuals": {"counts": counts.tolist(), "edges": _round(edges),
                      "mean": float(residuals.mean()), "std": float(residuals.std())},
    }  # fmt: skip


def _thin(values: np.ndarray) -> list[float]:
    values = np.asarray(values, dtype=np.float64)
    if len(values) > POINTS:
        values = values[np.linspace(0, len(values) - 1, POINTS).round().astype(int)]
    return _round(values)


def _round(values) -> list[float]:
    return [round(float(v), 6) for v in values]
