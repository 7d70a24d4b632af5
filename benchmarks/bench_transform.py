"""Batch transform throughput: rows/s of a TransformJob vs a single-process pandas loop.

Side by side in one run, on the same CSV file (N rows x 28 numeric features, no header) and
the same XGBoost model (100 trees, trained by raymaker's built-in):
  - baseline: one process reads ``pandas.read_csv`` chunks, predicts each with
    ``Booster.inplace_predict`` (XGBoost's default threads: every core) and writes one line a
    score, the SageMaker ``.out`` format. Timed as the loop alone, and as a script (``python``
    start and imports included)
  - raymaker: TransformJobs submitted to a warm local head: one instance of cpu.2 (the job's
    driver does the work on 2 lanes) and two instances of cpu.1 (Ray Data's actor pool).
    Timed inside the job (planning to publishing) against the loop, and from submit to
    SUCCEEDED (Ray Jobs' start included) against the script
The outputs are checked against the baseline's. Peak memory: the baseline process's RSS, and
the largest transform worker's (the job reports it).

    python benchmarks/bench_transform.py [--rows 2000000] [--runs 2]
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
from _harness import Report, warm_session  # noqa: E402

FEATURES = [f"f{i}" for i in range(28)]

BASELINE = r"""
import json, resource, sys, time
import numpy as np, pandas as pd, xgboost as xgb
model, data, out = sys.argv[1:4]
start = time.perf_counter()
booster = xgb.Booster(model_file=model)
rows = 0
with open(out, "w") as f:
    for chunk in pd.read_csv(data, header=None, chunksize=100_000, dtype=np.float32):
        scores = booster.inplace_predict(chunk.to_numpy(np.float32))
        f.write("\n".join(repr(float(v)) for v in scores.tolist()) + "\n")
        rows += len(chunk)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": rows, "rss_mb": rss}))
"""


def generate(path: str, rows: int) -> int:
    """Write the scoring CSV (no header) in 250k-row slices; returns its size in bytes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "wb") as f:
        for start in range(0, rows, 250_000):
            n = min(250_000, rows - start)
            rng = np.random.default_rng(start)
            X = np.round(rng.normal(size=(n, len(FEATURES))), 5)
            table = pa.table({c: X[:, i] for i, c in enumerate(FEATURES)})
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False))
    return os.path.getsize(path)


def train(session, folder: str):
    """A raymaker XGBoost model on 50k rows of the same features; the fitted estimator."""
    import numpy as np
    import pandas as pd

    import raymaker as rm

    rng = np.random.default_rng(42)
    X = rng.normal(size=(50_000, len(FEATURES)))
    y = X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] + rng.normal(scale=0.5, size=len(X)) > 0
    frame = pd.DataFrame(X, columns=FEATURES).assign(label=y.astype(int))
    path = os.path.join(folder, "train.csv")
    frame.to_csv(path, index=False)
    est = rm.XGBoost(label="label", hyperparameters={"num_round": 100, "max_depth": 6},
                     session=session)  # fmt: skip
    est.fit({"train": session.upload_data(path, key_prefix="bench-train")}, logs=False)
    return est


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    report = Report("transform", f"Batch transform: {args.rows:,} rows x 28 features, XGBoost")
    with warm_session("raymaker-bench-transform-") as (session, home, _):
        folder = tempfile.mkdtemp(prefix="bench-transform-", dir=home)
        data = os.path.join(folder, "scoring.csv")
        size = generate(data, args.rows)
        est = train(session, folder)
        local_model = os.path.join(folder, "model")
        from raymaker.storage import artifacts

        artifacts.download(session.store, est.model_dir, local_model)
        uri = session.upload_data(data, key_prefix="bench-scoring")

        base, base_wall, base_rss = [], [], []
        base_out = os.path.join(folder, "baseline.out")
        for _ in range(args.runs):
            began = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", BASELINE, os.path.join(local_model, "model.ubj"), data,
                 base_out], capture_output=True, text=True, check=True,
            )  # fmt: skip
            wall = time.perf_counter() - began
            result = json.loads(proc.stdout)
            base.append(args.rows / result["seconds"])
            base_wall.append(args.rows / wall)
            base_rss.append(result["rss_mb"])

        sides = {"driver": (1, "cpu.2"), "pool": (2, "cpu.1")}
        runs = {k: {"total": [], "job": [], "rss": [], "timings": []} for k in sides}
        outputs = {}
        for i in range(args.runs):
            for side, (count, itype) in sides.items():
                name = f"bench-transform-{side}-{i}-{int(time.time())}"
                transformer = est.transformer(instance_count=count, instance_type=itype,
                                              assemble_with="Line")  # fmt: skip
                began = time.perf_counter()
                transformer.transform(uri, content_type="text/csv", split_type="Line",
                                      job_name=name, logs=False)  # fmt: skip
                seconds = time.perf_counter() - began
                result = transformer.describe().result
                runs[side]["total"].append(args.rows / seconds)
                runs[side]["job"].append(args.rows / result["seconds"])
                runs[side]["rss"].append(result["worker_peak_rss_mb"])
                runs[side]["timings"].append(result["timings_s"])
                runs[side].setdefault("split", []).append(
                    (result.get("driver_items", 0), result.get("pool_items", 0),
                     result.get("pool_up_s")))  # fmt: skip
                outputs[side] = (f"jobs/{name}/output/scoring.csv.out", result)

        with open(base_out) as f:
            theirs = f.read().split()
        agree = {}
        for side, (key, _) in outputs.items():
            ours = session.store.read_text(key).split()
            agree[side] = (
                len(ours) == len(theirs) == args.rows
                and max(abs(float(a) - float(b)) for a, b in zip(ours, theirs, strict=True)) < 1e-6
            )

    loop = "baseline: pandas.read_csv chunks + inplace_predict + write (the loop)"
    script = "baseline: the same as a script (python start, imports, loop)"
    report.add(loop, base, unit="rows/s", higher_is_better=True)
    report.add(script, base_wall, unit="rows/s", higher_is_better=True)
    labels = {"driver": "raymaker, 1 instance of cpu.2 (the job's driver, 2 lanes)",
              "pool": "raymaker, 2 instances of cpu.1 (actor pool, the driver scoring while it "
                      "starts)"}  # fmt: skip
    for side, label in labels.items():
        report.add(f"{label}: inside the job", runs[side]["job"], unit="rows/s", baseline=loop,
                   higher_is_better=True)  # fmt: skip
        report.add(f"{label}: submit to SUCCEEDED", runs[side]["total"], unit="rows/s",
                   baseline=script, higher_is_better=True)  # fmt: skip
    report.add("baseline: peak RSS", base_rss, unit="MiB")
    report.add("raymaker driver: peak RSS of the job's driver", runs["driver"]["rss"], unit="MiB")
    report.add("raymaker pool: largest worker's peak RSS (an actor or the driver)",
               runs["pool"]["rss"], unit="MiB")  # fmt: skip
    pool_over_driver = (
        report.rows[f"{labels['pool']}: submit to SUCCEEDED"].median
        / report.rows[f"{labels['driver']}: submit to SUCCEEDED"].median
    )
    report.notes += [
        f"input: one CSV file of {size / 2**20:.0f} MiB, {args.rows:,} rows x 28 features; "
        f"{outputs['pool'][1]['items']} items of up to 16 MiB",
        f"outputs equal the baseline's (line count; scores within 1e-6): {agree}",
        f"stage seconds, last run: driver {runs['driver']['timings'][-1]}; "
        f"pool {runs['pool']['timings'][-1]}",
        f"2 x cpu.1 (pool) vs 1 x cpu.2 (driver), submit to SUCCEEDED: {pool_over_driver:.2f}x "
        "the driver's rows/s (goal >= 1.0x)",
        f"items done by the driver / the actors, and seconds until every actor was up, pool "
        f"runs: {runs['pool']['split']}",
        f"machine: {os.cpu_count()} cores",
    ]
    report.finish()


if __name__ == "__main__":
    main()
