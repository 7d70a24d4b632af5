"""Autopilot's problem types and objective metrics, with SageMaker's names and defaults,
computed by scikit-learn's metrics.

A prediction is what a candidate gives for rows: regression, a value a row (shape ``(n,)``);
classification, a probability a class (shape ``(n, k)``, classes encoded ``0..k-1`` in the
order of the job's labels). ``score`` turns it into the objective's value; ``better`` says which
of two values wins (some objectives are minimized).
"""

from __future__ import annotations

from dataclasses import dataclass

from raymaker.errors import SpecError

REGRESSION = "Regression"
BINARY = "BinaryClassification"
MULTICLASS = "MulticlassClassification"
PROBLEM_TYPES = (REGRESSION, BINARY, MULTICLASS)

# SageMaker's defaults per problem type, and the objectives each allows (LogLoss is reported
# for every classification candidate; InferenceLatency is measured, not an objective here)
DEFAULT_OBJECTIVE = {REGRESSION: "MSE", BINARY: "F1", MULTICLASS: "Accuracy"}
ALLOWED = {
    REGRESSION: ("MSE", "MAE", "R2", "RMSE"),
    BINARY: ("F1", "Accuracy", "AUC", "BalancedAccuracy", "Precision", "Recall", "LogLoss"),
    MULTICLASS: ("Accuracy", "BalancedAccuracy", "F1macro", "PrecisionMacro", "RecallMacro",
                 "LogLoss"),
}  # fmt: skip
MINIMIZED = frozenset({"MSE", "MAE", "RMSE", "LogLoss"})
# binary objectives a decision threshold is tuned for (Precision or Recall alone would run to
# an extreme threshold; AUC and LogLoss do not depend on one)
THRESHOLD_TUNED = frozenset({"F1", "Accuracy", "BalancedAccuracy"})


@dataclass(frozen=True)
class Objective:
    name: str
    problem_type: str

    @property
    def maximize(self) -> bool:
        return self.name not in MINIMIZED

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self.maximize else a < b

    def score(self, y_true, prediction, sample_weight=None, threshold: float = 0.5) -> float:
        return score(self.name, self.problem_type, y_true, prediction, sample_weight, threshold)


def objective_for(problem_type: str, metric_name: str | None = None) -> Objective:
    """The objective of a job: ``metric_name`` (SageMaker's ``job_objective["MetricName"]``) or
    the problem type's default. Raises SpecError naming the allowed ones."""
    if problem_type not in PROBLEM_TYPES:
        raise SpecError(f"problem_type {problem_type!r}: allowed: {', '.join(PROBLEM_TYPES)}")
    name = metric_name or DEFAULT_OBJECTIVE[problem_type]
    if name not in ALLOWED[problem_type]:
        raise SpecError(
            f"job_objective.MetricName {name!r} does not fit a {problem_type} problem; "
            f"allowed: {', '.join(ALLOWED[problem_type])}"
        )
    return Objective(name, problem_type)


def score(name: str, problem_type: str, y_true, prediction, sample_weight=None,
          threshold: float = 0.5) -> float:  # fmt: skip
    """The value of objective ``name`` for ``prediction`` against ``y_true`` (encoded), each
    row weighted by ``sample_weight`` when given; a binary label is the positive class from
    ``threshold`` on its probability."""
    import numpy as np
    from sklearn import metrics

    y_true = np.asarray(y_true)
    prediction = np.asarray(prediction, dtype=np.float64)
    if problem_type == REGRESSION:
        fns = {
            "MSE": metrics.mean_squared_error,
            "MAE": metrics.mean_absolute_error,
            "R2": metrics.r2_score,
            "RMSE": lambda a, b, **w: float(np.sqrt(metrics.mean_squared_error(a, b, **w))),
        }
        return float(fns[name](y_true, prediction.reshape(-1), sample_weight=sample_weight))
    proba = prediction if prediction.ndim == 2 else np.column_stack([1 - prediction, prediction])
    labels = (proba[:, 1] >= threshold).astype(int) if proba.shape[1] == 2 else proba.argmax(1)
    k = proba.shape[1]
    if name == "LogLoss":
        clipped = np.clip(proba, 1e-15, 1.0)
        return float(metrics.log_loss(y_true, clipped / clipped.sum(1, keepdims=True),
                                      labels=list(range(k)),
                                      sample_weight=sample_weight))  # fmt: skip
    if name == "AUC":
        return float(metrics.roc_auc_score(y_true, proba[:, 1], sample_weight=sample_weight))
    fns = {
        "Accuracy": metrics.accuracy_score,
        "BalancedAccuracy": metrics.balanced_accuracy_score,
        "F1": lambda a, b, **w: metrics.f1_score(a, b, zero_division=0, **w),
        "Precision": lambda a, b, **w: metrics.precision_score(a, b, zero_division=0, **w),
        "Recall": lambda a, b, **w: metrics.recall_score(a, b, zero_division=0, **w),
        "F1macro": lambda a, b, **w: metrics.f1_score(a, b, average="macro", zero_division=0, **w),
        "PrecisionMacro": lambda a, b, **w: metrics.precision_score(
            a, b, average="macro", zero_division=0, **w
        ),
        "RecallMacro": lambda a, b, **w: metrics.recall_score(
            a, b, average="macro", zero_division=0, **w
        ),
    }
    return float(fns[name](y_true, labels, sample_weight=sample_weight))


def all_metrics(problem_type: str, y_true, prediction, sample_weight=None,
                threshold: float = 0.5) -> dict[str, float]:  # fmt: skip
    """Every objective of the problem type (and LogLoss), as a candidate reports them; one that
    is undefined on these rows (AUC with one class present) is left out."""
    names = list(ALLOWED[problem_type])
    if problem_type != REGRESSION and "LogLoss" not in names:
        names.append("LogLoss")
    out = {}
    for name in names:
        try:
            value = score(name, problem_type, y_true, prediction, sample_weight, threshold)
            out[name] = round(value, 6)
        except ValueError:
            continue
    return out


def infer_problem_type(target) -> str:
    """SageMaker's inference of a problem type from the target column: two values, binary; a
    few distinct non-float (or integral) values, multiclass; else regression."""
    import numpy as np
    import pandas as pd

    values = pd.Series(target).dropna()
    distinct = values.nunique()
    if distinct == 2:
        return BINARY
    numeric = pd.api.types.is_numeric_dtype(values)
    integral = numeric and bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    if not numeric or (integral and distinct <= max(20, int(len(values) ** 0.5 // 10))):
        return MULTICLASS
    return REGRESSION
