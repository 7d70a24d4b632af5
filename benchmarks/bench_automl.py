"""Autopilot (issue 21), its ensembling core so far: raymaker's bagged, stacked and selected
zoo (``raymaker.automl.zoo.fit_stack``, in one process, no Ray yet) against a default LightGBM,
on the datasets inside scikit-learn, each with its SageMaker objective on a fixed held-out 25%.

FLAML and AutoGluon, the issue's peers, are not in this run yet (their extra and the job
kind come with the rest of the issue).

    python benchmarks/bench_automl.py [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report  # noqa: E402

DATASETS = {  # name -> (loader, problem type)
    "breast_cancer": ("load_breast_cancer", "BinaryClassification"),
    "wine": ("load_wine", "MulticlassClassification"),
    "digits": ("load_digits", "MulticlassClassification"),
    "diabetes": ("load_diabetes", "Regression"),
}


def main() -> None:
    import lightgbm as lgb  # the default LightGBM: the library's own defaults
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    from raymaker.automl import objectives, zoo

    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    report = Report("automl_core", "Autopilot's stack vs a default LightGBM (held-out score)")
    for name, (loader, problem_type) in DATASETS.items():
        X, y = getattr(datasets, loader)(return_X_y=True)
        stratify = None if problem_type == "Regression" else y
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0,
                                                  stratify=stratify)  # fmt: skip
        objective = objectives.objective_for(problem_type)
        t = time.perf_counter()
        default = (lgb.LGBMRegressor if problem_type == "Regression" else lgb.LGBMClassifier)(
            verbose=-1, n_jobs=args.threads, random_state=0
        ).fit(X_tr, y_tr)
        base_pred = zoo.Fitted("lightgbm-default", default, problem_type).predict(X_te)
        base_s = time.perf_counter() - t
        t = time.perf_counter()
        stack = zoo.fit_stack(X_tr, y_tr, objective, threads=args.threads)
        pred = stack.predict(X_te)
        stack_s = time.perf_counter() - t
        base_score = objective.score(y_te, base_pred)
        score = objective.score(y_te, pred)
        label = f"{name} {objective.name}"
        report.add(f"{label}: default LightGBM", [base_score], unit="",
                   higher_is_better=objective.maximize)  # fmt: skip
        report.add(f"{label}: raymaker stack ({len(stack.layers)} layers)", [score], unit="",
                   baseline=f"{label}: default LightGBM",
                   higher_is_better=objective.maximize)  # fmt: skip
        report.notes.append(
            f"{name}: default LightGBM {base_s:.1f} s; stack {stack_s:.1f} s "
            f"({len(stack.layers[0].names)} learners x 5 folds a layer, {args.threads} threads); weights "
            + ", ".join(f"{n} {w:.2f}" for n, w in
                        zip(stack.layers[-1].names, stack.layers[-1].weights, strict=True) if w)
        )  # fmt: skip
    report.finish()


if __name__ == "__main__":
    main()
