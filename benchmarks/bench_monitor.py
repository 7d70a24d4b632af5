"""Model Monitor: one data quality execution over captured traffic, beside Evidently.

Data: 20 features (14 numeric: normal, exponential, integer; 6 categorical, 3-12 values), a
200,000-row baseline and ``--records`` captured requests (one row each, SageMaker's capture
format, 10,000 records a file as the capture writer flushes them). Three features are
shifted in the window: ``num_0`` (+0.5 sd), ``num_1`` (sd x 1.5), ``cat_0`` (new shares).

- raymaker: the ``MonitoringExecution`` job in its own process (``raymaker run``'s code path,
  no Ray: the engine's time), reading the capture JSON, with every feature's drift method
  ``auto`` (Evidently's choice of test by type and size); and the same through Ray Jobs on a
  warm head (submit -> SUCCEEDED). Its peak RSS is the process's (ru_maxrss).
- Evidently (its own venv: ``python3 -m venv ~/venv-ev && ~/venv-ev/bin/pip install
  evidently "pandas<3"``): ``Report([DataDriftPreset()])`` on the same rows as DataFrames,
  read from Parquet (it is not asked to parse capture JSON), in its own process.

Verdicts are compared feature by feature.

``--restart``: a schedule through a real ``raymaker cluster down`` and ``cluster up``: the
head is down across (as if) three and a half hourly runs; ``up`` restores the scheduler,
which runs the missed run once. Seconds from ``up`` to that run's SUCCEEDED, and how many
runs it made.

``--capture-seconds N``: the capture writer at the endpoint's full throughput. One XGBoost
endpoint (bench_serve's model) capturing 100% of requests, driven by wrk (-t2 -c8) for N s;
then the records in the store against wrk's request count and the gateway's ``dropped``.

    python benchmarks/bench_monitor.py [--records 1000000] [--evidently ~/venv-ev/bin/python]
                                       [--capture-seconds 20]
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
from _harness import Report  # noqa: E402

NUMERIC, CATEGORICAL = 14, 6
SHIFTED = {"num_0", "num_1", "cat_0"}
PER_FILE = 10_000

EVIDENTLY = r"""
import json, resource, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
t = time.perf_counter()
ref = pd.read_parquet(sys.argv[1]); cur = pd.read_parquet(sys.argv[2])
read = time.perf_counter() - t
snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
found = {}
for m in snap.dict()["metrics"]:
    name = m["metric_name"]
    if not name.startswith("ValueDrift("):
        continue
    parts = dict(p.split("=", 1) for p in name[len("ValueDrift("):-1].split(","))
    p_value = "p_value" in parts["method"]
    threshold = float(parts["threshold"])
    value = float(m["value"])
    found[parts["column"]] = {"method": parts["method"], "value": value,
                              "drifted": value < threshold if p_value else value >= threshold}
total = time.perf_counter() - t
print(json.dumps({"seconds": total, "read": read, "found": found,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RAYMAKER = r"""
import json, resource, sys, time
from raymaker.jobs.client import JobsClient
from raymaker.settings import Settings
from raymaker.storage import store_for_settings
from raymaker.monitor import schedules
settings = Settings.from_env()
store = store_for_settings(settings)
state = schedules.read_state(store, sys.argv[1])
_, spec = schedules.execution_spec(state, float(sys.argv[2]), on_demand=True)
t = time.perf_counter()
record = JobsClient(settings, store).run(spec)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "status": record.status.value,
                  "reason": record.failure_reason, "result": record.result,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measured(cmd: list[str], env: dict, what: str) -> dict:
    """Run ``cmd``; its JSON line, with its process tree's peak RSS sampled by psutil
    (ru_maxrss would report this big parent's, inherited across fork)."""
    from _harness import PeakRss

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    with PeakRss([proc.pid]) as peak:
        out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{what} failed: {err[-2000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "rss_mb": peak.mb}


def frame(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(NUMERIC):
        kind = i % 3
        if kind == 0:
            values = rng.normal(10 + i, 2, n)
        elif kind == 1:
            values = rng.exponential(1 + i / 10, n)
        else:
            values = rng.integers(0, 50 + i, n).astype(float)
        cols[f"num_{i}"] = np.round(values, 4)
    for i in range(CATEGORICAL):
        k = 3 + 2 * i
        p = np.linspace(1, 2, k)
        if shifted and i == 0:
            p = p[::-1] ** 2
        cols[f"cat_{i}"] = rng.choice([f"v{j}" for j in range(k)], n, p=p / p.sum())
    df = pd.DataFrame(cols)
    if shifted:
        df["num_0"] = np.round(df["num_0"] + 1.0, 4)  # +0.5 sd
        df["num_1"] = np.round(df["num_1"] * 1.5, 4)
    return df


def write_capture(store, df: pd.DataFrame, now: float) -> int:
    """SageMaker's capture records, one CSV row a request, 10,000 a file."""
    from raymaker.serve.capture import capture_key

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 30)) + ".000Z"
    joined = df.iloc[:, 0].astype(str)
    for col in df.columns[1:]:
        joined = joined + "," + df[col].astype(str)
    rows = joined.tolist()
    head = (
        '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"'
    )
    mid = '","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv","mode":"OUTPUT","data":"0.5","encoding":"CSV"}},"eventMetadata":{"eventId":"'
    tail = '","inferenceTime":"' + stamp + '"},"eventVersion":"0"}\n'
    files = 0
    for start in range(0, len(rows), PER_FILE):
        chunk = rows[start : start + PER_FILE]
        text = "".join(f"{head}{r}{mid}e{start + i}{tail}" for i, r in enumerate(chunk))
        key = capture_key("capture", "bench", "AllTraffic", now - 30)
        store.write_text(key, text)
        files += 1
    return files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=200_000)
    ap.add_argument("--evidently", default=os.path.expanduser("~/venv-ev/bin/python"))
    ap.add_argument("--ray", action="store_true", help="also run the job through Ray Jobs")
    ap.add_argument("--capture-seconds", type=int, default=0)
    ap.add_argument("--restart", action="store_true")
    args = ap.parse_args()
    if args.capture_seconds:
        capture_throughput(args.capture_seconds)
        return
    if args.restart:
        restart()
        return

    tmp = tempfile.mkdtemp(prefix="bench-monitor-")
    os.environ["RAYMAKER_STORE"] = os.path.join(tmp, "store")
    from raymaker.jobs.client import JobsClient
    from raymaker.monitor import schedules
    from raymaker.settings import Settings
    from raymaker.specs.monitor import MonitoringSchedule
    from raymaker.storage import store_for_settings

    settings = Settings.from_env()
    store = store_for_settings(settings)
    t = time.perf_counter()
    base, cur = frame(args.baseline, 1, False), frame(args.records, 2, True)
    base.to_csv(os.path.join(tmp, "baseline.csv"), index=False)
    base.to_parquet(os.path.join(tmp, "baseline.parquet"))
    cur.to_parquet(os.path.join(tmp, "current.parquet"))
    now = time.time()
    files = write_capture(store, cur, now)
    size = sum(store.size(k) for k in store.list("capture", recursive=True))
    print(f"data: {time.perf_counter() - t:.1f} s; {args.records:,} records in {files} files, "
          f"{size / 2**20:,.0f} MiB of capture JSON")  # fmt: skip

    jobs = JobsClient(settings, store)
    record = jobs.run({"kind": "BaselineJob", "name": "bench-baseline",
                       "dataset": {"uri": os.path.join(tmp, "baseline.csv")}})  # fmt: skip
    assert record.status.value == "SUCCEEDED", record.failure_reason
    overrides = {c: {"drift_method": "auto"} for c in base.columns}
    schedules.apply(store, MonitoringSchedule(
        name="bench", endpoint="bench", baseline_statistics=record.result["statistics"],
        baseline_constraints=record.result["constraints"], overrides=overrides,
        schedule_cron_expression="rate(1 hour)", data_analysis_start_time="-PT10M",
    ))  # fmt: skip

    report = Report("monitor", f"Model Monitor: one execution over {args.records:,} captured "
                    "records x 20 features vs Evidently's DataDriftPreset")  # fmt: skip
    del cur  # the children's peak memory is sampled by psutil, not inherited
    env = {**os.environ, "RAYMAKER_QUIET": "1"}
    ev_env = {k: v for k, v in env.items() if not k.startswith("RAYMAKER")}
    ev_out = measured([args.evidently, "-c", EVIDENTLY, os.path.join(tmp, "baseline.parquet"),
                       os.path.join(tmp, "current.parquet")], ev_env, "Evidently")  # fmt: skip
    rm_out = measured([sys.executable, "-c", RAYMAKER, "bench", str(now)], env, "raymaker")
    if rm_out["status"] != "SUCCEEDED":
        raise SystemExit(f"raymaker's execution failed: {rm_out['reason']}")

    report.add("Evidently DataDriftPreset (Parquet -> report)", [ev_out["seconds"]],
               rss_mb=[ev_out["rss_mb"]])  # fmt: skip
    report.add("raymaker execution (capture JSON -> statistics, checks, report)",
               [rm_out["seconds"]], baseline="Evidently DataDriftPreset (Parquet -> report)",
               rss_mb=[rm_out["rss_mb"]])  # fmt: skip
    if args.ray:
        state = schedules.read_state(store, "bench")
        name, spec = schedules.execution_spec(state, now, on_demand=True)
        _ = jobs.api  # a warm head: started (if it was not) before the clock starts
        t = time.perf_counter()
        handle = jobs.submit(spec, name=name, wait=True)
        record = handle.describe()
        report.add("raymaker execution as a Ray job (submit -> SUCCEEDED)",
                   [time.perf_counter() - t],
                   baseline="Evidently DataDriftPreset (Parquet -> report)")  # fmt: skip
        report.notes.append(f"Ray job: stages {record.stages}; its driver's peak RSS "
                            f"{record.peak_rss_mb:,.0f} MiB (the Ray tasks' not counted)")  # fmt: skip

    ours = set(rm_out["result"]["drifted"])
    theirs = {c for c, f in ev_out["found"].items() if f["drifted"]}
    report.notes.append(f"Evidently read its Parquet in {ev_out['read']:.2f} s of its total")
    report.notes.append(f"drifted by raymaker (auto methods): {sorted(ours)}")
    report.notes.append(f"drifted by Evidently: {sorted(theirs)}; shifted: {sorted(SHIFTED)}")
    same = sum(1 for c in base.columns if (c in ours) == (c in theirs))
    report.notes.append(f"equal verdicts: {same} of {len(base.columns)} features")
    methods = {c: f["method"] for c, f in ev_out["found"].items()}
    report.notes.append(f"Evidently's methods: {sorted(set(methods.values()))}")
    report.finish()


def capture_throughput(seconds: int) -> None:
    """Requests wrk sent and got 200 for, against the records the capture wrote."""
    import re

    from _harness import warm_session
    from bench_serve import ROW, train_model, wait_http

    import raymaker as rm

    report = Report("monitor_capture", "Data capture at the endpoint's full throughput")
    with warm_session("bench-capture-") as (session, _, _):
        model = train_model(session)
        predictor = rm.Model(model_data=model, session=session).deploy(
            endpoint_name="bench-capture", instance_type="cpu.1",
            data_capture_config=rm.DataCaptureConfig(sampling_percentage=100),
        )  # fmt: skip
        try:
            url = session.endpoints.url("bench-capture")
            wait_http(url)
            time.sleep(2)  # the warm-up request's record is written
            before = _captured(session.store)
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/csv"\n'
                        f'wrk.body = "{ROW}"\n')  # fmt: skip
            out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", f.name, url],
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            sent = int(re.search(r"(\d+) requests in", out).group(1))
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            ok = sent - (int(bad.group(1)) if bad else 0)
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _captured(session.store) - before < ok:
                time.sleep(0.5)
            written = _captured(session.store) - before
            capture = session.endpoints.describe("bench-capture")["metrics"]["capture"]
        finally:
            predictor.delete_endpoint()
    report.add("requests answered 200 (wrk -t2 -c8)", [ok], unit="req")
    report.add("records captured", [written], unit="rec", baseline="requests answered 200 (wrk -t2 -c8)",
               higher_is_better=True)  # fmt: skip
    report.add("records dropped (the gateway's count)", [capture.get("dropped", 0)], unit="rec")
    report.notes.append(f"throughput {rps:,.0f} req/s for {seconds} s; lost: {ok - written}")
    report.finish()


def restart() -> None:
    """A schedule across a real ``cluster down`` / ``cluster up``."""
    from _harness import warm_session

    import raymaker as rm
    from raymaker.monitor import schedules

    report = Report("monitor_restart", "A monitoring schedule across cluster down / cluster up")
    with warm_session("bench-restart-") as (session, _, started):
        if not started:
            raise SystemExit("--restart needs a head this run starts (unset RAY_ADDRESS)")
        store = session.store
        base = frame(2000, 1, False)
        path = os.path.join(tempfile.mkdtemp(), "base.csv")
        base.to_csv(path, index=False)
        monitor = rm.DefaultModelMonitor(session=session)
        monitor.suggest_baseline(path, rm.DatasetFormat.csv(header=True), logs=False)
        now = time.time()
        write_capture(store, frame(500, 2, True), now - 45 * 60 + 30)
        monitor.create_monitoring_schedule(endpoint_input="bench", monitor_schedule_name="restart",
                                           schedule_cron_expression="rate(1 hour)")  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not [  # the run at creation, finished
            e for e in monitor.list_executions()
            if e.summary["MonitoringExecutionStatus"] not in ("PENDING", "RUNNING")
        ]:  # fmt: skip
            time.sleep(0.5)
        import ray

        ray.shutdown()
        env = {**os.environ, "RAYMAKER_QUIET": "1"}
        cli = [sys.executable, "-m", "raymaker"]
        subprocess.run([*cli, "cluster", "down"], env=env, check=True, capture_output=True)
        state = schedules.read_state(store, "restart")
        state.origin = state.last_scheduled = now - 3.5 * 3600  # down across 3.5 runs
        schedules.write_state(store, state)
        before = {e.job_name for e in monitor.list_executions()}
        t0 = time.perf_counter()
        up = subprocess.run([*cli, "cluster", "up", "-o", "json"], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
        up_s = time.perf_counter() - t0
        done = []
        while not done and time.perf_counter() - t0 < 180:
            done = [e for e in monitor.list_executions() if e.job_name not in before
                    and e.summary["MonitoringExecutionStatus"].startswith("Completed")]  # fmt: skip
            time.sleep(0.2)
        first = time.perf_counter() - t0
        time.sleep(5)
        runs = [e for e in monitor.list_executions() if e.job_name not in before]
        report.add("cluster up -> the missed run SUCCEEDED", [first])
        report.add("runs made for the 3 missed intervals (goal 1)", [len(runs)], unit="runs")
        report.notes.append(f"`raymaker cluster up` took {up_s:.1f} s: "
                            + up.stdout.strip().replace("\n", " ")[:300])  # fmt: skip
        monitor.delete_monitoring_schedule()
    report.finish()


def _captured(store) -> int:
    return (
        sum(
            store.read_bytes(k).count(b"\n")
            for k in store.list("capture/bench-capture", recursive=True)
        )
        if store.exists("capture/bench-capture")
        else 0
    )


if __name__ == "__main__":
    main()
