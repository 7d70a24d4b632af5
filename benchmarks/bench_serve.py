"""Endpoints: throughput and p99 at c=8, cold start from zero, deploy -> InService.

Side by side in one run, one XGBoost model (28 numeric features, 100 trees, depth 6; one CSV
row a request), on one warm local Ray head:
  - plain uvicorn + FastAPI, one process: the baseline (np.loadtxt + inplace_predict)
  - Ray Serve, stock: a deployment behind Serve's default HTTP proxy
  - the same behind Serve's HAProxy ingress (a second head, started after the first stops)
  - raymaker endpoint: the gateway + Serve replicas (1 and 2 replicas)
The load is wrk (``apt install wrk``), 2 threads, 8 connections, ``--duration`` seconds.

Cold start: a serverless endpoint (idle timeout 2 s) scaled to zero, then one request; the
time to its answer, with a spare standing in (the default) and without (``serve_spare`` off:
the request waits while Serve starts the replica). Each cold answer must equal the answer of
the replica that follows. Deploy: ``deploy()`` of a new endpoint on the warm cluster, to InService.

    python benchmarks/bench_serve.py [--duration 10] [--cold 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report, warm_session  # noqa: E402

ROW = ",".join(f"{0.1 * (i % 7) - 0.3:.3f}" for i in range(28))
BASELINE_APP = textwrap.dedent(
    """
    import io, os
    import numpy as np, xgboost as xgb
    from fastapi import FastAPI, Request, Response
    app = FastAPI()
    booster = xgb.Booster(model_file=os.environ["MODEL_FILE"])
    booster.set_param({"nthread": 1})

    @app.post("/invocations")
    async def invocations(request: Request):
        X = np.loadtxt(io.BytesIO(await request.body()), delimiter=",", dtype=np.float32, ndmin=2)
        scores = booster.inplace_predict(X)
        return Response("".join(f"{float(v)!r}\\n" for v in scores), media_type="text/csv")
    """
)


def wrk(url: str, seconds: int, headers: dict | None = None) -> dict:
    """``{"rps", "p50_ms", "p99_ms", "errors"}`` of one wrk run posting ROW."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "text/csv"',
                 f'wrk.body = "{ROW}"']  # fmt: skip
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
        f.write("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(f.name)

    def ms(label):
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms("50"), "p99_ms": ms("99"),
        "errors": int(errors.group(1)) if errors else 0 + (sum(map(int, sock.groups())) if sock else 0),
    }  # fmt: skip


def post(url: str, body: str = ROW, timeout: float = 60.0) -> bytes:
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            post(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def train_model(session) -> str:
    import numpy as np
    import pandas as pd

    import raymaker as rm

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 28)).astype("float32")
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=len(X)) > 0).astype(int)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(28)]).assign(label=y)
    path = os.path.join(tempfile.mkdtemp(), "train.csv")
    df.to_csv(path, index=False)
    uri = session.upload_data(path, key_prefix="bench-serve")
    est = rm.XGBoost(label="label", hyperparameters={"num_round": 100, "max_depth": 6},
                     session=session)  # fmt: skip
    est.fit({"train": uri}, job_name=f"bench-serve-{int(time.time())}", logs=False)
    return est.model_data


def stock_serve(model_file: str, port: int):
    """A stock Ray Serve deployment (Starlette request in, response out) behind Serve's own
    HTTP proxy on ``port``."""
    from ray import serve

    @serve.deployment(max_ongoing_requests=64)
    class Stock:
        def __init__(self, path):
            import xgboost as xgb

            self.booster = xgb.Booster(model_file=path)
            self.booster.set_param({"nthread": 1})

        async def __call__(self, request):
            import io

            import numpy as np
            from starlette.responses import Response

            body = await request.body()
            X = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)
            scores = self.booster.inplace_predict(X)
            return Response("".join(f"{float(v)!r}\n" for v in scores), media_type="text/csv")

    serve.run(Stock.bind(model_file), name="stock", route_prefix="/stock")
    return f"http://127.0.0.1:{port}/stock"


def haproxy_runs(model_file: str, seconds: int) -> list[dict]:
    """The stock deployment again, on a second local head started with Serve's HAProxy
    ingress (``RAY_SERVE_ENABLE_HA_PROXY=1``, the bundled haproxy binary)."""
    import ray

    ray.shutdown()
    os.environ["RAY_SERVE_ENABLE_HA_PROXY"] = "1"
    try:
        with warm_session("raymaker-bench-serve-haproxy-") as (session, _, _):
            session.connect()
            from ray import serve

            serve.start(http_options={"host": "127.0.0.1", "port": 8124, "location": "HeadOnly"})
            url = stock_serve(model_file, 8124)
            wait_http(url)
            return [wrk(url, seconds) for _ in range(2)]
    finally:
        os.environ.pop("RAY_SERVE_ENABLE_HA_PROXY", None)
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--cold-only", action="store_true", help="Only the cold-start figures.")
    parser.add_argument("--no-haproxy", action="store_true",
                        help="Skip the second head with Serve's HAProxy ingress.")  # fmt: skip
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench_serve needs wrk (apt install wrk)")
    report = Report("bench_serve", "Endpoints: one XGBoost model, wrk -c8, one machine")
    with warm_session("raymaker-bench-serve-") as (session, home, _):
        import raymaker as rm
        from raymaker.storage import artifacts

        model_uri = train_model(session)
        local = os.path.join(home, "model")
        artifacts.download(session.store, model_uri, local)
        model_file = os.path.join(local, "model.ubj")
        session.connect()
        from ray import serve

        serve.start(http_options={"host": "127.0.0.1", "port": 8123, "location": "HeadOnly"})
        figures = {}

        deploy_s = []
        if not args.cold_only:
            # 1. plain uvicorn + FastAPI, one process (the baseline)
            app_dir = tempfile.mkdtemp()
            with open(os.path.join(app_dir, "baseline_app.py"), "w") as f:
                f.write(BASELINE_APP)
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", "9011",
                 "--log-level", "warning", "--no-access-log"],
                cwd=app_dir, env={**os.environ, "MODEL_FILE": model_file},
            )  # fmt: skip
            try:
                wait_http("http://127.0.0.1:9011/invocations")
                figures["uvicorn"] = [wrk("http://127.0.0.1:9011/invocations", args.duration)
                                      for _ in range(2)]  # fmt: skip
            finally:
                proc.terminate()
                proc.wait()

            # 2. stock Ray Serve, default proxy
            url = stock_serve(model_file, 8123)
            wait_http(url)
            figures["serve_proxy"] = [wrk(url, args.duration) for _ in range(2)]
            serve.delete("stock")

            # 3. raymaker endpoints: deploy time, then 1 and 2 replicas
            endpoints = session.endpoints
            warm = rm.Model(model_data=model_uri, session=session)
            warm.deploy(endpoint_name="bench-warmup", initial_instance_count=1).delete_endpoint()
            for n in (1, 2):
                t0 = time.perf_counter()
                predictor = rm.Model(model_data=model_uri, session=session).deploy(
                    endpoint_name=f"bench-{n}", initial_instance_count=n
                )
                deploy_s.append(time.perf_counter() - t0)
                url = endpoints.url(predictor.endpoint_name)
                post(url)
                time.sleep(2.5)  # the replicas' registrations reach the gateway
                figures[f"raymaker_{n}"] = [wrk(url, args.duration) for _ in range(2)]
                predictor.delete_endpoint()

        # 4. cold start from zero (serverless, idle timeout 2 s): with a spare standing in
        #    (the default), and without (Serve starts the replica while the request waits)
        from raymaker.sagemaker.session import Session

        cold, spare_requests, spare_rss_mb = {}, {}, None
        for label, spare in (("spare", True), ("serve", False)):
            own = Session(settings=session.settings.replace(serve_spare=spare))
            name = f"bench-cold-{label}"
            predictor = rm.Model(model_data=model_uri, session=own).deploy(
                endpoint_name=name,
                serverless_inference_config=rm.ServerlessInferenceConfig(
                    max_concurrency=8, memory_size_in_mb=1024, idle_timeout_s=2
                ),
            )
            url = own.endpoints.url(name)
            cold[label], answers = [], set()
            for _ in range(args.cold):
                _wait_zero(own.endpoints, name)
                t0 = time.perf_counter()
                answers.add(post(url))
                cold[label].append(time.perf_counter() - t0)
                _wait_replica(own.endpoints, name)
                answers.add(post(url))  # the replica's answer
            if len(answers) != 1:
                raise RuntimeError(f"cold and warm answers differ: {answers}")
            if spare:
                spare_rss_mb = _spare_rss_mb()
            spare_requests[label] = sum(
                v.get("spare_requests", 0)
                for v in own.endpoints.describe(name)["metrics"]["variants"].values()
            )
            predictor.delete_endpoint()
        import ray

        ray.shutdown()  # before the head stops under this driver

    if not (args.cold_only or args.no_haproxy):
        figures["serve_haproxy"] = haproxy_runs(model_file, args.duration)

    def best(key):
        return max(figures[key], key=lambda r: r["rps"])["rps"] if key in figures else float("nan")

    for key, label in (("uvicorn", "uvicorn+FastAPI, 1 process"),
                       ("serve_proxy", "Ray Serve default proxy"),
                       ("serve_haproxy", "Ray Serve HAProxy ingress"),
                       ("raymaker_1", "raymaker endpoint, 1 replica"),
                       ("raymaker_2", "raymaker endpoint, 2 replicas")):  # fmt: skip
        if key not in figures:
            continue
        runs = figures[key]
        base = None if key == "uvicorn" else "throughput: uvicorn+FastAPI, 1 process"
        report.add(f"throughput: {label}", [r["rps"] for r in runs], unit="req/s",
                   baseline=base, higher_is_better=True)  # fmt: skip
        report.add(f"p99: {label}", [r["p99_ms"] for r in runs], unit="ms",
                   baseline=None if key == "uvicorn" else "p99: uvicorn+FastAPI, 1 process")  # fmt: skip
    report.add("cold start from zero: Serve starts the replica (spare off)", cold["serve"])
    report.add("cold start from zero: a spare stands in (default)", cold["spare"],
               baseline="cold start from zero: Serve starts the replica (spare off)")  # fmt: skip
    if deploy_s:
        report.add("deploy -> InService (warm cluster)", deploy_s)
    report.notes.append(
        f"cold starts (s, in order): {json.dumps({k: [round(x, 3) for x in v] for k, v in cold.items()})}"
    )
    report.notes.append(f"requests a spare answered: {json.dumps(spare_requests)}")
    report.notes.append(f"an idle spare's resident memory: {spare_rss_mb} MiB")
    report.notes.append(
        "figures per run: " + json.dumps({k: [dict(r) for r in v] for k, v in figures.items()})
    )
    report.notes.append(
        f"goals: throughput >= 0.8x uvicorn (best raymaker "
        f"{max(best('raymaker_1'), best('raymaker_2')):.0f} vs {best('uvicorn'):.0f} req/s), p99 <= 2x; cold start p50 <= 2 s; deploy <= 5 s"
    )
    report.finish()


def _spare_rss_mb() -> float | None:
    """Resident memory of the idle spare (the one started after the last hand-over)."""
    from ray.util.state import list_actors

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = list_actors(filters=[("class_name", "=", "Spare"), ("state", "=", "ALIVE")],
                            detail=True)  # fmt: skip
        if alive and alive[0].pid:
            time.sleep(1.0)  # its imports are done (ALIVE), let the heap settle
            with open(f"/proc/{alive[0].pid}/status") as f:
                rss = next(line for line in f if line.startswith("VmRSS:"))
            return round(int(rss.split()[1]) / 1024, 1)
        time.sleep(0.5)
    return None


def _wait_replica(endpoints, name: str, timeout: float = 120.0) -> None:
    """Until a replica has registered with the gateway (the spare has handed over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = endpoints.describe(name).get("metrics", {}).get("variants", {})
        if live and all(v.get("registered_replicas", 0) and not v.get("spare_standing_in")
                        for v in live.values()):  # fmt: skip
            return
        time.sleep(0.2)
    raise RuntimeError(f"no replica of {name} registered in {timeout:.0f} s")


def _wait_zero(endpoints, name: str, timeout: float = 120.0) -> None:
    """Until Serve runs no replica and the gateway knows none (a stopping replica still
    answers what it is sent: that would not be a cold start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = endpoints.describe(name)
        replicas = state.get("replicas", {})
        live = state.get("metrics", {}).get("variants", {})
        if all(r.get("running", 0) == 0 and r.get("starting", 0) == 0 for r in replicas.values()) \
                and all(v.get("registered_replicas", 0) == 0 for v in live.values()):  # fmt: skip
            time.sleep(1.0)
            return
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not scale to zero in {timeout:.0f} s")


if __name__ == "__main__":
    main()
