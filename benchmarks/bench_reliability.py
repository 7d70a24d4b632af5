"""Reliability: hostile requests, a restart of the head, a rolling update under load.

In one run, on one warm local head, one endpoint (XGBoost with the churn recipe, cpu.0.5):
  - fuzz: every hostile category of issue 18 (``tests/hostile.py``) plus random bytes, from 4
    threads, while one thread keeps sending a good request: the status mix, the 5xx count
    (goal 0), answers showing Ray's words (goal 0), and the good request's p99 during the fuzz
    against its p99 idle (goal <= 2x)
  - a 2 MB CSV of 1,000,001 columns: seconds to its 400 over HTTP and inside the handler
    (goal < 50 ms), against pandas parsing the same body (what the handler did before)
  - ``raymaker cluster down`` then ``raymaker cluster up``: seconds from ``up`` to the first
    200 of the restored endpoint (goal <= 15 s), against a fresh deploy on a warm cluster
  - a rolling update to another model while 4 clients send requests: requests lost (goal 0)

    python benchmarks/bench_reliability.py [--random 300] [--load 15]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from _harness import Report, warm_session  # noqa: E402
from hostile import catalogue, random_bodies, ray_words  # noqa: E402

COLUMNS = ["tenure", "contract", "monthly_charges", "total_charges", "support_calls"]
GOOD = b"12,month-to-month,70.5,846.0,3\n"
CSV = {"Content-Type": "text/csv"}


def http(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:  # refused or reset: a lost request
        return 0, str(e).encode()


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) >= 2 else samples[0]


def train(session, rounds: int) -> str:
    import yaml

    import raymaker as rm
    from raymaker.quickstart import CHURN_RECIPE, make_churn_data

    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "churn.csv")
    make_churn_data(3000).to_csv(path, index=False)
    recipe = os.path.join(folder, "recipe.yaml")
    with open(recipe, "w") as f:
        yaml.safe_dump({"steps": CHURN_RECIPE}, f)
    est = rm.XGBoost(label="churn", hyperparameters={"num_round": rounds}, recipe=recipe,
                     session=session)  # fmt: skip
    est.fit({"train": session.upload_data(path, key_prefix="bench-rel")},
            job_name=f"bench-rel-{rounds}-{int(time.time())}", logs=False)  # fmt: skip
    return est.model_data


def good_latencies(url: str, stop: threading.Event, out: list, statuses: list) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        status, _ = http(url, GOOD, CSV)
        out.append(time.perf_counter() - t0)
        statuses.append(status)


def fuzz(report: Report, url: str, n_random: int) -> None:
    idle = []
    for _ in range(300):
        t0 = time.perf_counter()
        http(url, GOOD, CSV)
        idle.append(time.perf_counter() - t0)
    hostile = catalogue(COLUMNS) + random_bodies(n_random, seed=18)
    during, statuses, stop = [], [], threading.Event()
    asker = threading.Thread(target=good_latencies, args=(url, stop, during, statuses))
    asker.start()
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda h: http(url, h[1], h[2]), hostile))
    took = time.perf_counter() - t0
    stop.set()
    asker.join()
    mix: dict[int, int] = {}
    for status, _ in answers:
        mix[status] = mix.get(status, 0) + 1
    server_errors = sum(n for s, n in mix.items() if s >= 500 or s == 0)
    leaks = sum(1 for _, body in answers if ray_words(body))
    report.add("good request p99, idle", [p99(idle)])
    report.add("good request p99, during the fuzz", [p99(during)],
               baseline="good request p99, idle")  # fmt: skip
    report.add("fuzz requests sent", [len(answers)], unit="req")
    report.add("fuzz 5xx or dropped (goal 0)", [server_errors], unit="req")
    report.add("answers showing Ray internals (goal 0)", [leaks], unit="req")
    report.add("good requests failed during the fuzz (goal 0)",
               [sum(1 for s in statuses if s != 200)], unit="req")  # fmt: skip
    report.notes.append(
        f"fuzz: {len(answers)} hostile requests in {took:.1f} s, status mix "
        + ", ".join(f"{s}: {n}" for s, n in sorted(mix.items()))
        + f"; {len(during)} good requests meanwhile"
    )


def wide_csv(report: Report, url: str, handler) -> None:
    import pandas as pd

    from raymaker.inference.handler import Request

    body = b",".join([b"1"] * 1_000_001) + b"\n"
    over_http, in_handler, parsed = [], [], []
    for _ in range(5):
        t0 = time.perf_counter()
        status, _ = http(url, body, CSV)
        over_http.append(time.perf_counter() - t0)
        assert status == 400, status
        t0 = time.perf_counter()
        handler.invoke([Request(body, "text/csv")])
        in_handler.append(time.perf_counter() - t0)
    for _ in range(2):
        t0 = time.perf_counter()
        pd.read_csv(io.BytesIO(body), header=None)
        parsed.append(time.perf_counter() - t0)
    report.add("1M-column CSV: pandas parses it (the old path)", parsed)
    report.add("1M-column CSV: refused in the handler", in_handler,
               baseline="1M-column CSV: pandas parses it (the old path)")  # fmt: skip
    report.add("1M-column CSV: 400 over HTTP (goal < 0.05 s)", over_http,
               baseline="1M-column CSV: pandas parses it (the old path)")  # fmt: skip


def rolling_update(report: Report, session, name: str, url: str, model: str, seconds: float):
    stop, statuses, latencies = threading.Event(), [], []
    clients = [threading.Thread(target=good_latencies, args=(url, stop, latencies, statuses))
               for _ in range(4)]  # fmt: skip
    for c in clients:
        c.start()
    time.sleep(seconds / 3)
    t0 = time.perf_counter()
    session.endpoints.roll(name, model_data=model)
    rolled = time.perf_counter() - t0
    time.sleep(seconds / 3)
    stop.set()
    for c in clients:
        c.join()
    report.add("rolling update under load: requests lost (goal 0)",
               [sum(1 for s in statuses if s != 200)], unit="req")  # fmt: skip
    report.notes.append(
        f"rolling update: {len(statuses)} requests from 4 clients, the update took {rolled:.1f} s"
    )


def restart(report: Report, url: str) -> None:
    import ray

    ray.shutdown()  # this process's connection goes with the head
    env = {**os.environ, "RAYMAKER_QUIET": "1"}
    cli = [sys.executable, "-m", "raymaker"]
    down = subprocess.run([*cli, "cluster", "down"], env=env, capture_output=True, text=True)
    deadline = time.monotonic() + 60
    while http(url, GOOD, CSV)[0] != 0:  # until nothing listens
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway still answers after `cluster down`: {down}")
        time.sleep(0.2)
    t0 = time.perf_counter()
    up = subprocess.run([*cli, "cluster", "up", "-o", "json"], env=env, capture_output=True,
                        text=True)  # fmt: skip
    up_s = time.perf_counter() - t0
    if up.returncode != 0:
        raise RuntimeError(up.stderr)
    while http(url, GOOD, CSV)[0] != 200:
        if time.perf_counter() - t0 > 180:
            raise RuntimeError("the endpoint did not come back")
        time.sleep(0.1)
    first = time.perf_counter() - t0
    report.add("cluster up -> first 200 of the restored endpoint (goal <= 15 s)", [first],
               baseline="deploy of a new endpoint, warm cluster")  # fmt: skip
    report.notes.append(f"`raymaker cluster up` (head start + reconcile) took {up_s:.1f} s: "
                        + up.stdout.strip().replace("\n", " ")[:300])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--random", type=int, default=300, help="random-byte bodies")
    parser.add_argument("--load", type=float, default=15.0, help="rolling update: seconds")
    args = parser.parse_args()
    report = Report("reliability", "Reliability: hostile requests, restart, rolling update")
    with warm_session("raymaker-bench-rel-") as (session, _, started):
        import raymaker as rm
        from raymaker.inference.handler import Handler
        from raymaker.storage import artifacts

        model_a, model_b = train(session, 20), train(session, 40)
        t0 = time.perf_counter()
        rm.Model(model_data=model_a, session=session).deploy(endpoint_name="bench-rel",
                                                             instance_type="cpu.0.5")  # fmt: skip
        report.add("deploy of a new endpoint, warm cluster", [time.perf_counter() - t0])
        url = session.endpoints.url("bench-rel")
        local = tempfile.mkdtemp()
        artifacts.download(session.store, model_a, local)
        fuzz(report, url, args.random)
        wide_csv(report, url, Handler.load(local))
        rolling_update(report, session, "bench-rel", url, model_b, args.load)
        if started:
            restart(report, url)
        else:
            report.notes.append(
                "restart skipped: RAY_ADDRESS names a cluster this run does not own"
            )
        report.notes.append(
            "ratios: 'vs baseline' is baseline / row, so a p99 during the fuzz at 0.5x is twice "
            "the idle p99; counts have no baseline"
        )
        report.finish()
        session.endpoints.delete("bench-rel")


if __name__ == "__main__":
    main()
