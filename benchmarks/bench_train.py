"""XGBoost built-in vs native ``xgboost.train``, side by side in one run.

Data: 1M rows x 28 float features + a binary label, one Parquet file in the store.
  - native:               a fresh Python process: pyarrow read -> float32 matrix ->
                          QuantileDMatrix -> xgboost.train(50 rounds, nthread=2) -> save model
  - raymaker, 1 worker:   TrainingJob (built-in xgboost, instance_type cpu.2) submitted to a
                          warm local head; runs in the job's driver (no Ray Train start-up)
  - raymaker, Ray Train:  the same job forced onto a 1-worker Ray Train worker group
  - raymaker, 2 workers:  instance_count 2 x cpu.1 on Ray Train (Rabit allreduce)
"Training phase" is xgboost.train alone (``train_seconds`` in the job result); "whole job" is
submit -> SUCCEEDED for raymaker and process start -> exit for native.

``--tracking``: instead, the same built-in job with 500 rounds, MLflow tracking off vs on
(every round's metrics into the job's run in a SQLite store, the model logged in MLflow's
format), interleaved, submit -> SUCCEEDED; the goal is <= 2% slower.

    python benchmarks/bench_train.py [--rows 1000000] [--repeat 3] [--tracking]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import PeakRss, Report, head_pid, warm_session  # noqa: E402

ROUNDS = 50
PARAMS = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.3, "tree_method": "hist"}

NATIVE = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np, pyarrow.parquet as pq, xgboost as xgb
path, params, rounds, out = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
table = pq.read_table(path)
names = [c for c in table.column_names if c != "label"]
X = np.empty((table.num_rows, len(names)), dtype=np.float32)
for i, n in enumerate(names):
    X[:, i] = table.column(n).to_numpy()
y = table.column("label").to_numpy()
d = xgb.QuantileDMatrix(X, label=y, nthread=2)
t1 = time.perf_counter()
booster = xgb.train({**params, "nthread": 2}, d, num_boost_round=rounds,
                    evals=[(d, "train")], verbose_eval=False)
t2 = time.perf_counter()
booster.save_model(out)
print(json.dumps({"train": t2 - t1, "inside": time.perf_counter() - t0}))
"""


def make_data(path: str, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 28)).astype(np.float32)
    noise = rng.normal(scale=0.5, size=rows)
    y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] + noise > 0).astype(np.int64)
    cols = {f"f{i}": X[:, i] for i in range(28)}
    cols["label"] = y
    pq.write_table(pa.table(cols), path, row_group_size=100_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="run only the raymaker paths naming this")
    parser.add_argument("--tracking", action="store_true", help="MLflow on vs off, 500 rounds")
    args = parser.parse_args()

    with warm_session("raymaker-bench-train-") as (session, home, _):
        data = os.path.join(home, "train.parquet")
        make_data(data, args.rows)
        uri = session.upload_data(data, key_prefix="bench/train")
        if args.tracking:
            tracking(session, home, uri, args)
        else:
            run(session, uri, data, args)


def tracking(session, home: str, uri: str, args) -> None:
    """A 500-round job with MLflow tracking off and on, interleaved."""
    from raymaker.sagemaker.session import Session

    on = Session(settings=session.settings.replace(
        mlflow=True, mlflow_tracking_uri=f"sqlite:///{home}/mlflow.db"))  # fmt: skip
    off = Session(settings=session.settings.replace(mlflow=False))
    spec = {
        "kind": "TrainingJob", "algorithm": "xgboost", "label": "label", "instance_type": "cpu.2",
        "inputs": {"train": uri, "validation": uri},
        "hyperparameters": {"num_round": 500, **PARAMS},
    }  # fmt: skip
    head = head_pid(session)
    times: dict[str, list] = {"MLflow off": [], "MLflow on": []}
    rss: dict[str, list] = {"MLflow off": [], "MLflow on": []}
    points = 0
    for i in range(args.repeat + 1):  # the first pair warms up
        for name, sess in (("MLflow off", off), ("MLflow on", on)):
            t0 = time.perf_counter()
            with PeakRss([head]) as peak:
                handle = sess.jobs.submit(spec, wait=True)
            wall = time.perf_counter() - t0
            record = handle.describe()
            assert record.status.value == "SUCCEEDED", record.failure_reason
            if name == "MLflow on":
                assert record.tracking and not record.tracking.get("spooled"), record.tracking
                from mlflow.tracking import MlflowClient

                client = MlflowClient(on.settings.tracking_uri())
                points = len(client.get_metric_history(record.tracking["run_id"],
                                                       "validation-logloss"))  # fmt: skip
            if i:
                times[name].append(wall)
                rss[name].append(peak.mb)
    report = Report("train-tracking",
                    f"XGBoost built-in, {args.rows:,} x 28, 500 rounds, train + validation")  # fmt: skip
    for name in times:
        report.add(f"{name}: whole job", times[name], rss_mb=rss[name],
                   baseline=None if name == "MLflow off" else "MLflow off: whole job")  # fmt: skip
    slower = (
        report.rows["MLflow on: whole job"].median / report.rows["MLflow off: whole job"].median
    )
    report.notes.append(
        f"tracking on: {100 * (slower - 1):+.1f}% (goal <= +2%); the run holds {points} "
        "validation-logloss points (one a round) and the model in MLflow's format"
    )
    report.finish()


def run(session, uri: str, local_data: str, args) -> None:
    head = head_pid(session)

    def native():
        out = os.path.join(tempfile.mkdtemp(), "model.ubj")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", NATIVE, local_data, json.dumps(PARAMS), str(ROUNDS), out],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        with PeakRss([proc.pid]) as peak:
            stdout, _ = proc.communicate()
        wall = time.perf_counter() - t0
        assert proc.returncode == 0, stdout
        return wall, json.loads(stdout.strip().splitlines()[-1])["train"], peak.mb

    def job(**fields):
        def go():
            spec = {
                "kind": "TrainingJob", "algorithm": "xgboost", "label": "label",
                "inputs": {"train": uri}, "checkpoint_interval_s": 30,
                "hyperparameters": {"num_round": ROUNDS, **{k: v for k, v in PARAMS.items()}},
                **fields,
            }  # fmt: skip
            t0 = time.perf_counter()
            with PeakRss([head]) as peak:  # the head's tree: the job's driver and workers
                handle = session.jobs.submit(spec, wait=True)
            wall = time.perf_counter() - t0
            record = handle.describe()
            laps = list(record.stages) + list(record.result.get("ray_train_seconds", {}).items())
            stages.setdefault(name_of[go], []).append(laps)
            return wall, record.result["train_seconds"], peak.mb

        return go

    stages: dict[str, list] = {}
    paths = {
        "native xgboost.train": native,
        "raymaker, 1 worker (driver)": job(instance_type="cpu.2"),
        "raymaker, 1 worker (Ray Train)": job(instance_type="cpu.2", execution="ray"),
        "raymaker, 2 workers (Ray Train)": job(instance_type="cpu.1", instance_count=2),
    }
    paths = {k: v for k, v in paths.items() if k.startswith("native") or args.only in k}
    name_of = {fn: name for name, fn in paths.items()}
    idle = PeakRss([head])
    idle_mb = idle.sample()
    for fn in paths.values():  # warm-up: page cache, worker pools, imports on disk
        fn()
    stages.clear()
    results = {name: ([], [], []) for name in paths}
    for _ in range(args.repeat):
        for name, fn in paths.items():
            for kept, value in zip(results[name], fn(), strict=True):
                kept.append(value)

    report = Report("train", f"XGBoost built-in, {args.rows:,} x 28, {ROUNDS} rounds, 2 threads")
    base = "native xgboost.train"
    for name, (_, train, _) in results.items():
        report.add(f"{name}: training phase", train, baseline=None if name == base else
                   f"{base}: training phase")  # fmt: skip
    for name, (wall, _, rss) in results.items():
        report.add(f"{name}: whole job", wall, baseline=None if name == base else
                   f"{base}: whole job", rss_mb=rss)  # fmt: skip
    report.notes.append(
        f"peak RSS: native is its one process; a raymaker row is the local head's process tree "
        f"(its idle processes alone: {idle_mb:,.0f} MiB) while the job runs"
    )
    for name, runs in stages.items():
        keys = [k for k, _ in runs[0]]
        median = {k: sorted(dict(r).get(k, 0.0) for r in runs)[len(runs) // 2] for k in keys}
        report.notes.append(
            f"{name}, stages (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in median.items())
        )
    native_wall = report.rows[f"{base}: whole job"].median
    for name in paths:
        if name == base:
            continue
        train_ratio = (
            report.rows[f"{name}: training phase"].median
            / report.rows[f"{base}: training phase"].median
        )
        extra = report.rows[f"{name}: whole job"].median - native_wall
        report.notes.append(
            f"{name}: training phase {train_ratio:.2f}x native (goal <= 1.3x); "
            f"whole job native {extra:+.1f} s (goal <= +5 s)"
        )
    one = report.rows.get("raymaker, 1 worker (Ray Train): training phase")
    two = report.rows.get("raymaker, 2 workers (Ray Train): training phase")
    if one and two:
        one, two = one.median, two.median
        report.notes.append(
            f"2 workers x 1 thread vs 1 worker x 2 threads, training phase: {one / two:.2f}x "
            "(same 2 cores: a scaling check of the allreduce path, not extra hardware)"
        )
    report.notes.append("naive Ray Train (stock per-round report callback), DESIGN.md: 128 s")
    report.finish()


if __name__ == "__main__":
    main()
