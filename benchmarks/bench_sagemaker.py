"""SageMaker compatibility: what running a notebook as written costs.

1. A training script's ``requirements.txt`` (numpy, pandas, scikit-learn, which the platform
   has, and one small package it lacks), as one worker meets it:
   - ``pip install --target`` of the whole file: what raymaker did before (the baseline; it
     ignores what is installed, so every worker of every trial reinstalls all of it);
   - raymaker, the first worker on a node: only the missing package, into the node's cache;
   - raymaker, every later worker or trial on that node: the cached folder, no pip run.
2. One request (one CSV row, 28 features, 100 trees) answered in-process by:
   - the booster itself: ``np.loadtxt`` + ``inplace_predict`` (the baseline);
   - raymaker's built-in handler of its own XGBoost artifact;
   - a ``model.tar.gz`` made elsewhere, served by SageMaker's XGBoost container defaults
     (``inference.frameworks``: a ``DMatrix`` a request, as the container builds it).

    python benchmarks/bench_sagemaker.py [--samples 3] [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from _harness import Report  # noqa: E402


def bench_requirements(report: Report, samples: int) -> None:
    from wheels import wheel  # a real (tiny) wheel, installed with no index (tests/wheels.py)

    from raymaker.train import requirements

    work = tempfile.mkdtemp(prefix="rm-bench-req-")
    req = os.path.join(work, "requirements.txt")
    with open(req, "w") as f:
        f.write(f"numpy\npandas\nscikit-learn\n{wheel(work)}\n")
    before, first, cached = [], [], []
    for i in range(samples):
        target = os.path.join(work, f"target-{i}")
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", target, "--upgrade-strategy", "only-if-needed", "-r", req],
            check=True, capture_output=True,
        )  # fmt: skip
        before.append(time.perf_counter() - t)
        size = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(target) for n in ns)
        os.environ["RAYMAKER_PYDEPS_CACHE"] = os.path.join(work, f"cache-{i}")
        t = time.perf_counter()
        requirements.install(req, log=lambda line: None)
        first.append(time.perf_counter() - t)
        t = time.perf_counter()
        requirements.install(req, log=lambda line: None)
        cached.append(time.perf_counter() - t)
    report.add("pip install --target (before): every worker", before)
    report.add("raymaker: first worker on a node", first,
               baseline="pip install --target (before): every worker")  # fmt: skip
    report.add("raymaker: later workers and trials (cached)", cached,
               baseline="pip install --target (before): every worker")  # fmt: skip
    report.notes.append(
        f"pip --target wrote {size / 2**20:,.0f} MiB a worker (numpy, pandas, scikit-learn "
        "again, shadowing the platform's); raymaker installs only the missing package"
    )
    shutil.rmtree(work, ignore_errors=True)


def bench_serving(report: Report, n: int) -> None:
    import numpy as np
    import xgboost as xgb

    from raymaker.inference.handler import Handler, Request
    from raymaker.storage import artifacts

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 28)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "nthread": 1},
                        xgb.DMatrix(X, y), 100)  # fmt: skip
    booster.set_param({"nthread": 1})
    work = tempfile.mkdtemp(prefix="rm-bench-serve-")
    own, foreign = os.path.join(work, "own"), os.path.join(work, "foreign")
    os.makedirs(own)
    os.makedirs(foreign)
    booster.save_model(os.path.join(own, "model.ubj"))
    features = [f"f{i}" for i in range(28)]
    artifacts.write_manifest(own, {
        "framework": "xgboost", "features": features,
        "input_schema": dict.fromkeys(features, "float"), "output": {"type": "probability",
        "classes": [0, 1]}, "recipe": None,
    })  # fmt: skip
    booster.save_model(os.path.join(foreign, "xgboost-model.json"))
    builtin = Handler.load(own)
    container = Handler.load(foreign, framework="xgboost")
    rows = [",".join(f"{v:.4f}" for v in X[i]).encode() for i in range(n)]

    def native(body):
        import io

        return booster.inplace_predict(
            np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)
        )

    cases = {
        "booster: loadtxt + inplace_predict": native,
        "raymaker built-in handler (its own artifact)": lambda b: builtin.invoke(
            [Request(b, "text/csv", accept="text/csv")]
        ),
        "XGBoost container defaults (a model made elsewhere)": lambda b: container.invoke(
            [Request(b, "text/csv", accept="text/csv")]
        ),
    }
    for name, fn in cases.items():
        for body in rows[:50]:  # warm
            fn(body)
        per = []
        for _ in range(3):
            t = time.perf_counter()
            for body in rows:
                fn(body)
            per.append((time.perf_counter() - t) / n * 1e6)
        report.add(name, per, unit="us",
                   baseline=None if name.startswith("booster") else
                   "booster: loadtxt + inplace_predict")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    req = Report("sagemaker_requirements", "A script's requirements.txt, one worker (seconds)")
    bench_requirements(req, args.samples)
    req.finish()
    serve = Report("sagemaker_serving", "One CSV row answered in-process (microseconds)")
    bench_serving(serve, args.requests)
    serve.finish()


if __name__ == "__main__":
    main()
