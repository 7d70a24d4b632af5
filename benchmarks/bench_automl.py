"""Autopilot (issue 21): raymaker's AutoML job against FLAML, AutoGluon and a default LightGBM,
at the same wall-clock budget, on the same fixed held-out 25% of each dataset, each scored with
its SageMaker objective (F1, Accuracy or MSE).

raymaker runs as a user runs it: ``rm.AutoML(...).fit(csv)`` submitted to a warm local head,
and its best candidate (the model an endpoint would serve, raw rows in) predicts the held-out
rows. FLAML runs in this process (``pip install -e .[bench]``); AutoGluon (``medium_quality``)
in its own virtual environment, given by ``--autogluon-python`` (its pins do not sit beside
raymaker's)::

    python3 -m venv ~/venv-ag && ~/venv-ag/bin/pip install torch==2.13.0 \
        "autogluon.tabular[lightgbm,xgboost]"  # torch first: the CPU build, not CUDA wheels
    python benchmarks/bench_automl.py --budget 60 --autogluon-python ~/venv-ag/bin/python

Ratios: the score against the default LightGBM's (> 1 better), the wall time against the
budget (>= 1: kept), one row's prediction latency against the default LightGBM's (> 1 faster). The datasets: scikit-learn's own, plus generated ones with
categoricals, missing values and a skewed target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report, warm_session  # noqa: E402

FLAML_METRIC = {"F1": "f1", "Accuracy": "accuracy", "MSE": "mse"}
AUTOGLUON_METRIC = {"F1": "f1", "Accuracy": "accuracy", "MSE": "mean_squared_error"}
LATENCY_ROWS = 20

AUTOGLUON_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from autogluon.tabular import TabularPredictor
args = json.loads(sys.argv[1])
train = pd.read_parquet(args["train"]); test = pd.read_parquet(args["test"])
started = time.perf_counter()
predictor = TabularPredictor(label="target", problem_type=args["problem_type"],
                             eval_metric=args["metric"], path=args["path"], verbosity=0)
predictor.fit(train, time_limit=args["budget"], presets="medium_quality")
wall = time.perf_counter() - started
if args["problem_type"] == "regression":
    out = predictor.predict(test).to_numpy(dtype=float)
else:
    proba = predictor.predict_proba(test)
    out = proba[sorted(proba.columns)].to_numpy(dtype=float)
times = []
for i in range(args["latency_rows"]):
    row = test.iloc[[i]]
    t = time.perf_counter()
    predictor.predict(row)
    times.append(time.perf_counter() - t)
np.save(args["out"], out)
print(json.dumps({"wall": wall, "latency": float(np.median(times))}))
"""


# -- datasets -------------------------------------------------------------------------------------
def sklearn_data(loader: str, problem_type: str):
    from sklearn import datasets

    frame = getattr(datasets, loader)(as_frame=True).frame
    frame = frame.rename(columns={frame.columns[-1]: "target"})
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    return frame, problem_type


def generated_binary(seed: int = 0):
    """Customers: categoricals (one with 40 values), missing values, an interaction."""
    rng = np.random.default_rng(seed)
    n = 4000
    region = rng.choice([f"r{i}" for i in range(40)], n)
    plan = rng.choice(["basic", "plus", "pro", None], n, p=[0.4, 0.3, 0.2, 0.1])
    tenure = rng.gamma(2, 12, n)
    spend = rng.lognormal(3, 0.8, n)
    tenure[rng.random(n) < 0.15] = np.nan
    effect = {f"r{i}": rng.normal(0, 0.8) for i in range(40)}
    logit = (np.vectorize(effect.get)(region) + (plan == "basic") * 1.0
             - 0.04 * np.nan_to_num(tenure, nan=24) + 0.3 * np.log(spend) * (plan == "pro"))  # fmt: skip
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"region": region, "plan": plan, "tenure": tenure, "spend": spend,
                         "target": y}), "BinaryClassification"  # fmt: skip


def generated_regression(seed: int = 1):
    """House prices: a skewed (log-normal) target, a categorical, missing values."""
    rng = np.random.default_rng(seed)
    n = 4000
    city = rng.choice(["a", "b", "c", "d", "e"], n)
    rooms = rng.integers(1, 8, n).astype(float)
    area = rng.normal(80, 25, n).clip(20)
    age = rng.uniform(0, 100, n)
    rooms[rng.random(n) < 0.1] = np.nan
    base = {"a": 12.0, "b": 11.6, "c": 11.2, "d": 11.9, "e": 10.8}
    log_price = (np.vectorize(base.get)(city) + 0.008 * area + 0.05 * np.nan_to_num(rooms, nan=3)
                 - 0.003 * age + rng.normal(0, 0.25, n))  # fmt: skip
    return pd.DataFrame({"city": city, "rooms": rooms, "area": area, "age": age,
                         "target": np.exp(log_price) / 1000}), "Regression"  # fmt: skip


DATASETS = {
    "breast_cancer": lambda: sklearn_data("load_breast_cancer", "BinaryClassification"),
    "wine": lambda: sklearn_data("load_wine", "MulticlassClassification"),
    "digits": lambda: sklearn_data("load_digits", "MulticlassClassification"),
    "diabetes": lambda: sklearn_data("load_diabetes", "Regression"),
    "customers (generated)": generated_binary,
    "house prices (generated)": generated_regression,
}


# -- the contenders -------------------------------------------------------------------------------
def categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings as pandas categories (what LightGBM and FLAML take natively)."""
    out = frame.copy()
    for c in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c])):
            out[c] = out[c].astype("category")
    return out


def run_default_lightgbm(train, test, problem_type, threads):
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if problem_type == "Regression" else lgb.LGBMClassifier
    X, X_test = categories(train.drop(columns="target")), categories(test)
    started = time.perf_counter()
    model = cls(verbose=-1, n_jobs=threads, random_state=0).fit(X, train["target"])
    wall = time.perf_counter() - started
    predict = model.predict if problem_type == "Regression" else model.predict_proba
    return predict(X_test), wall, latency(lambda row: predict(row), X_test)


def run_flaml(train, test, problem_type, objective, budget, threads):
    from flaml import AutoML

    automl = AutoML()
    X, X_test = categories(train.drop(columns="target")), categories(test)
    started = time.perf_counter()
    automl.fit(X, train["target"], task="regression" if problem_type == "Regression"
               else "classification", metric=FLAML_METRIC[objective], time_budget=budget,
               n_jobs=threads, verbose=0, seed=0)  # fmt: skip
    wall = time.perf_counter() - started
    predict = automl.predict if problem_type == "Regression" else automl.predict_proba
    return predict(X_test), wall, latency(lambda row: predict(row), X_test)


def run_autogluon(python, train, test, problem_type, objective, budget, tmp):
    train.to_parquet(os.path.join(tmp, "train.parquet"))
    test.to_parquet(os.path.join(tmp, "test.parquet"))
    args = {"train": os.path.join(tmp, "train.parquet"), "test": os.path.join(tmp, "test.parquet"),
            "problem_type": {"Regression": "regression", "BinaryClassification": "binary"}.get(
                problem_type, "multiclass"),
            "metric": AUTOGLUON_METRIC[objective], "budget": budget,
            "path": os.path.join(tmp, "ag"), "out": os.path.join(tmp, "ag.npy"),
            "latency_rows": LATENCY_ROWS}  # fmt: skip
    done = subprocess.run([python, "-c", AUTOGLUON_SCRIPT, json.dumps(args)], capture_output=True,
                          text=True, timeout=budget * 4 + 300)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return np.load(args["out"]), result["wall"], result["latency"]


def run_raymaker(session, train, test, problem_type, budget, tmp, name):
    import raymaker as rm
    from raymaker.automl.serving import AutoMLModel
    from raymaker.storage import artifacts

    path = os.path.join(tmp, f"{name}.csv")
    train.to_csv(path, index=False)
    automl = rm.AutoML(target_attribute_name="target", problem_type=problem_type,
                       total_job_runtime_in_seconds=budget, session=session)  # fmt: skip
    started = time.perf_counter()
    automl.fit(path, job_name=name)
    wall = time.perf_counter() - started
    best = automl.best_candidate()
    folder = os.path.join(tmp, f"{name}-model")
    manifest = artifacts.download(session.store, best["InferenceContainers"][0]["ModelDataUrl"],
                                  folder)  # fmt: skip
    model = AutoMLModel(folder, manifest)
    scores = model.score_frame(test)
    members = best["raymaker"].get("members") or []
    return scores, wall, latency(model.score_frame, test), best["CandidateName"], members


def latency(predict, frame) -> float:
    predict(frame.iloc[[0]])  # warm
    times = []
    for i in range(min(LATENCY_ROWS, len(frame))):
        row = frame.iloc[[i]]
        t = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


# -- the run --------------------------------------------------------------------------------------
def main() -> None:
    from sklearn.model_selection import train_test_split

    from raymaker.automl import objectives

    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=60, help="Seconds each AutoML gets.")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--autogluon-python", help="Python of AutoGluon's own venv.")
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    args = parser.parse_args()
    report = Report("automl", f"AutoML at a {args.budget} s budget vs a default LightGBM "
                    "(held-out score; > 1x is better)")  # fmt: skip
    wins = []
    with warm_session("raymaker-bench-automl-") as (session, _home, _):
        for n, dataset in enumerate(args.datasets):
            frame, problem_type = DATASETS[dataset]()
            stratify = None if problem_type == "Regression" else frame["target"]
            train, test = train_test_split(frame, test_size=0.25, random_state=0,
                                           stratify=stratify)  # fmt: skip
            y_test = test.pop("target").to_numpy()
            objective = objectives.objective_for(problem_type)
            if problem_type != "Regression":
                classes = sorted(pd.unique(frame["target"]))
                y_test = np.searchsorted(classes, y_test)
            score = lambda p, o=objective, y=y_test: o.score(y, p)  # noqa: E731
            label = f"{dataset} {objective.name}"
            base = f"{label}: default LightGBM"
            results = {}
            with tempfile.TemporaryDirectory() as tmp:
                pred, wall, lat = run_default_lightgbm(train, test, problem_type, args.threads)
                results["default LightGBM"] = (score(pred), wall, lat)
                pred, wall, lat, best, members = run_raymaker(
                    session, train, test, problem_type, args.budget, tmp, f"bench-automl-{n}"
                )
                results["raymaker"] = (score(pred), wall, lat)
                blend = ", ".join(f"{m['member']} {m['weight']:.2f}" for m in members)
                report.notes.append(f"{dataset}: raymaker's best candidate {best}; {blend}")
                pred, wall, lat = run_flaml(train, test, problem_type, objective.name,
                                            args.budget, args.threads)  # fmt: skip
                results["FLAML"] = (score(pred), wall, lat)
                if args.autogluon_python:
                    pred, wall, lat = run_autogluon(args.autogluon_python, train, test,
                                                    problem_type, objective.name, args.budget,
                                                    tmp)  # fmt: skip
                    results["AutoGluon"] = (score(pred), wall, lat)
            for who, (value, _, _) in results.items():
                report.add(f"{label}: {who}", [value], unit="", higher_is_better=objective.maximize,
                           baseline=None if who == "default LightGBM" else base)  # fmt: skip
            report.add(f"{dataset} wall: the budget", [args.budget])
            for who, (_, wall, lat) in results.items():
                report.add(f"{dataset} wall: {who}", [wall],
                           baseline=None if who == "default LightGBM" else
                           f"{dataset} wall: the budget")  # fmt: skip
                report.add(f"{dataset} latency/row: {who}", [lat * 1000], unit="ms",
                           baseline=None if who == "default LightGBM" else
                           f"{dataset} latency/row: default LightGBM")  # fmt: skip
            ours = results["raymaker"][0]
            peers = [v[0] for k, v in results.items() if k not in ("raymaker", "default LightGBM")]
            best_peer = (max if objective.maximize else min)(peers)
            wins.append((dataset, not objective.better(best_peer, ours),
                         not objective.better(results["default LightGBM"][0], ours)))  # fmt: skip
            print(f"{dataset}: " + ", ".join(f"{k} {v[0]:.4f} ({v[1]:.0f} s)"
                                             for k, v in results.items()), flush=True)  # fmt: skip
    at_least_best_peer = sum(w for _, w, _ in wins)
    report.notes.append(
        f"raymaker >= the best peer on {at_least_best_peer} of {len(wins)} datasets "
        f"({', '.join(d for d, w, _ in wins if not w) or 'none'} lost); >= default LightGBM "
        f"on {sum(b for _, _, b in wins)} of {len(wins)}"
    )
    report.finish()


if __name__ == "__main__":
    main()
