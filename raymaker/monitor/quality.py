"""Model quality: predictions against ground truth, in Model Monitor's metric names.

``metrics(problem_type, labels, predicted, scores)`` gives SageMaker's statistics body
(``regression_metrics``, ``binary_classification_metrics`` or
``multiclass_classification_metrics``), each scalar ``{"value", "standard_deviation"}``; the
standard deviation is SageMaker's: the metric over 80% samples, 5 times, from 200 rows
(below: ``"NaN"``). ``suggest`` turns a baseline's metrics into constraints (each metric's
baseline value as its threshold, ``LessThanThreshold`` where higher is better), and
``check`` reports a violation per metric past its threshold, as SageMaker words it.
"""

from __future__ import annotations

import numpy as np

PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")
SECTIONS = {
    "Regression": ("regression_metrics", "regression_constraints"),
    "BinaryClassification": ("binary_classification_metrics", "binary_classification_constraints"),
    "MulticlassClassification": (
        "multiclass_classification_metrics",
        "multiclass_classification_constraints",
    ),  # fmt: skip
}
LOWER_IS_BETTER = ("mae", "mse", "rmse", "false_positive_rate", "false_negative_rate")
SUGGESTED = {
    "Regression": ("mae", "mse", "rmse", "r2"),
    "BinaryClassification": ("recall", "precision", "accuracy", "true_positive_rate",
                             "true_negative_rate", "false_positive_rate",
                             "false_negative_rate", "auc", "f0_5", "f1", "f2"),
    "MulticlassClassification": ("accuracy", "weighted_recall", "weighted_precision",
                                 "weighted_f0_5", "weighted_f1", "weighted_f2"),
}  # fmt: skip
MIN_ROWS_FOR_STD = 200


def metrics(problem_type: str, labels, predicted, scores=None, *, seed: int = 0) -> dict:
    """The statistics body for one dataset of merged predictions and labels."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    scores = None if scores is None else np.asarray(scores, dtype="float64")
    fn = {"Regression": _regression, "BinaryClassification": _binary,
          "MulticlassClassification": _multiclass}[problem_type]  # fmt: skip
    values = fn(labels, predicted, scores)
    rng = np.random.default_rng(seed)
    samples = []
    if len(labels) >= MIN_ROWS_FOR_STD:
        for _ in range(5):
            idx = rng.choice(len(labels), int(0.8 * len(labels)), replace=False)
            samples.append(fn(labels[idx], predicted[idx], None if scores is None else scores[idx]))
    out: dict = {}
    for name, value in values.items():
        if isinstance(value, dict):
            out[name] = value
            continue
        std = float(np.std([s[name] for s in samples])) if samples else "NaN"
        out[name] = {"value": _finite(value), "standard_deviation": std}
    return {SECTIONS[problem_type][0]: out}


def statistics(problem_type: str, labels, predicted, scores=None) -> dict:
    """A model quality statistics.json."""
    return {
        "version": 0.0,
        "dataset": {"item_count": int(len(labels))},
        **metrics(problem_type, labels, predicted, scores),
    }


def suggest(stats: dict, problem_type: str) -> dict:
    """Constraints from a baseline's statistics: each metric must not get worse than it was."""
    section, out_section = SECTIONS[problem_type]
    found = stats[section]
    rules = {}
    for name in SUGGESTED[problem_type]:
        entry = found.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), int | float):
            continue
        op = "GreaterThanThreshold" if name in LOWER_IS_BETTER else "LessThanThreshold"
        rules[name] = {"threshold": entry["value"], "comparison_operator": op}
    return {"version": 0.0, out_section: rules}


def check(stats: dict, constraints: dict, problem_type: str) -> list[dict]:
    """SageMaker's model quality violations of ``stats`` against ``constraints``."""
    section, rules_section = SECTIONS[problem_type]
    found = stats.get(section, {})
    out = []
    for name, rule in (constraints.get(rules_section) or {}).items():
        entry = found.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), int | float):
            continue
        value, threshold, op = entry["value"], float(rule["threshold"]), rule["comparison_operator"]
        broken = {
            "LessThanThreshold": value < threshold,
            "GreaterThanThreshold": value > threshold,
            "LessThanOrEqualToThreshold": value <= threshold,
            "GreaterThanOrEqualToThreshold": value >= threshold,
        }.get(op)
        if broken is None:
            from raymaker.errors import SpecError

            raise SpecError(f"{rules_section}.{name}.comparison_operator {op!r} is not known")
        if broken:
            std = entry.get("standard_deviation")
            spread = f" +/- {std:.4g}" if isinstance(std, float) else ""
            out.append({
                "constraint_check_type": op,
                "metric_name": name,
                "description": f"Metric {name} with {value:.4g}{spread} was {op} '{threshold:.4g}'",
            })  # fmt: skip
    return out


def _regression(y, p, scores) -> dict:
    from sklearn import metrics as m

    y, p = y.astype("float64"), p.astype("float64")
    mse = float(m.mean_squared_error(y, p))
    return {
        "mae": float(m.mean_absolute_error(y, p)),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "r2": float(m.r2_score(y, p)) if len(y) > 1 else float("nan"),
    }


def _confusion(y, p) -> dict:
    labels = sorted({str(v) for v in np.concatenate([y, p])})
    table = {a: {b: 0 for b in labels} for a in labels}
    for a, b in zip(y.astype(str), p.astype(str), strict=True):
        table[a][b] += 1
    return table


def _binary(y, p, scores) -> dict:
    from sklearn import metrics as m

    y, p = _as_int(y), _as_int(p)
    tp = int(((y == 1) & (p == 1)).sum())
    tn = int(((y == 0) & (p == 0)).sum())
    fp = int(((y == 0) & (p == 1)).sum())
    fn = int(((y == 1) & (p == 0)).sum())
    prevalence = y.mean() if len(y) else 0.0
    best = 1 if prevalence >= 0.5 else 0  # the constant classifier with the best accuracy
    out = {
        "confusion_matrix": _confusion(y, p),
        "recall": _div(tp, tp + fn),
        "precision": _div(tp, tp + fp),
        "accuracy": _div(tp + tn, len(y)),
        "recall_best_constant_classifier": float(best),
        "precision_best_constant_classifier": float(prevalence) if best else 0.0,
        "accuracy_best_constant_classifier": float(max(prevalence, 1 - prevalence)),
        "true_positive_rate": _div(tp, tp + fn),
        "true_negative_rate": _div(tn, tn + fp),
        "false_positive_rate": _div(fp, fp + tn),
        "false_negative_rate": _div(fn, fn + tp),
    }
    for beta, name in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        out[name] = float(m.fbeta_score(y, p, beta=beta, zero_division=0))
        out[f"{name}_best_constant_classifier"] = _fbeta(prevalence, 1.0, beta) if best else 0.0
    if scores is not None and len(set(y.tolist())) == 2:
        out["auc"] = float(m.roc_auc_score(y, scores))
        out["au_prc"] = float(m.average_precision_score(y, scores))
    return out


def _multiclass(y, p, scores) -> dict:
    from sklearn import metrics as m

    y, p = y.astype(str), p.astype(str)
    values, counts = np.unique(y, return_counts=True)
    constant = np.full(len(y), values[np.argmax(counts)]) if len(y) else y
    out: dict = {
        "confusion_matrix": _confusion(y, p),
        "accuracy": float(m.accuracy_score(y, p)),
        "accuracy_best_constant_classifier": float(m.accuracy_score(y, constant)),
    }
    for name, fn in (("recall", m.recall_score), ("precision", m.precision_score)):
        out[f"weighted_{name}"] = float(fn(y, p, average="weighted", zero_division=0))
        out[f"weighted_{name}_best_constant_classifier"] = float(
            fn(y, constant, average="weighted", zero_division=0)
        )
    for beta, name in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        out[f"weighted_{name}"] = float(
            m.fbeta_score(y, p, beta=beta, average="weighted", zero_division=0)
        )
        out[f"weighted_{name}_best_constant_classifier"] = float(
            m.fbeta_score(y, constant, beta=beta, average="weighted", zero_division=0)
        )
    return out


def _as_int(values: np.ndarray) -> np.ndarray:
    """Binary labels as 0/1 (numbers, booleans, or the text of either)."""
    if values.dtype.kind in "biuf":
        return (values.astype("float64") >= 0.5).astype(int)
    text = np.char.lower(values.astype(str))
    return np.isin(text, ("1", "1.0", "true", "yes")).astype(int)


def _div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def _fbeta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    denom = b2 * precision + recall
    return float((1 + b2) * precision * recall / denom) if denom else 0.0


def _finite(value: float):
    return value if np.isfinite(value) else "NaN"


def predictions(frame, problem_type: str, inference_attribute: str | None,
                probability_attribute: str | None, threshold: float = 0.5,
                default: str = "prediction") -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """``(predicted, scores)`` from a frame's answer columns: the label column
    (``inference_attribute``, else ``default``) and the probability column. A binary model
    that answers probabilities only is labelled at ``threshold``. Raises DataError naming
    the columns there are."""
    from raymaker.errors import DataError

    def column(name):
        if name not in frame.columns:
            raise DataError(f"the answers have no column {name!r}; columns: "
                            f"{', '.join(map(str, frame.columns))}")  # fmt: skip
        return frame[name].to_numpy()

    scores = column(probability_attribute).astype("float64") if probability_attribute else None
    if inference_attribute or scores is None:
        predicted = column(inference_attribute or default)
    else:
        predicted = (scores >= threshold).astype(int)
    probabilities = (
        problem_type == "BinaryClassification"
        and scores is None
        and predicted.dtype.kind == "f"
        and ((predicted > 0) & (predicted < 1)).any()
    )
    if probabilities:  # the label column holds probabilities: label them at the threshold
        scores, predicted = predicted, (predicted >= threshold).astype(int)
    return predicted, scores
