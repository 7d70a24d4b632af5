"""Job-layer overhead on a warm cluster, for a no-op job: submit -> first user line -> done.

Side by side in one run, on one warm Ray head (raymaker's local head, or RAY_ADDRESS):
  - bare Ray CLI:        ray job submit -- python -c "..."          (the baseline users know)
  - JobSubmissionClient: Ray's Python client, 0.05 s status polling (the engine's floor)
  - raymaker client:     Session().jobs.submit(spec, wait=True)      (spec staged, record kept)
  - raymaker CLI:        raymaker submit spec.yaml --wait            (a fresh process each time)
Each no-op prints time.time(), so "first line" is read from the job's own output.

    python benchmarks/bench_jobs.py [--repeat 5]
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
from _harness import PeakRss, Report, head_pid, warm_session  # noqa: E402

NOOP = "import time; print('first-line', time.time(), flush=True)"


def first_line_ts(logs: str) -> float | None:
    for line in logs.splitlines():
        if line.startswith("first-line "):
            return float(line.split()[1])
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with warm_session("raymaker-bench-") as (session, _, started):
        run(session, started, args.repeat)


def run(session, started: bool, repeat: int) -> None:
    from ray.job_submission import JobStatus, JobSubmissionClient

    from raymaker.cluster import auth_headers, dashboard_url
    from raymaker.specs import parse_spec

    url = dashboard_url(session.settings)
    env = {**os.environ, "RAY_ADDRESS": url, "RAY_AUTH_MODE": "token"}
    work = tempfile.mkdtemp(prefix="raymaker-bench-spec-")
    with open(os.path.join(work, "noop.py"), "w") as f:
        f.write(NOOP + "\n")
    with open(os.path.join(work, "noop.yaml"), "w") as f:
        f.write("kind: ProcessingJob\ncode: noop.py\n")
    spec = parse_spec({"kind": "ProcessingJob", "code": os.path.join(work, "noop.py")})
    jsc = JobSubmissionClient(url, headers=auth_headers(url))
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"

    def bare_cli():
        t0 = time.time()
        out = subprocess.run(
            [ray_cli, "job", "submit", "--address", url, "--", "python", "-c", NOOP],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return time.time() - t0, (first_line_ts(out.stdout) or t0) - t0

    def python_jsc():
        t0 = time.time()
        sid = jsc.submit_job(entrypoint=f'python -c "{NOOP}"')
        while jsc.get_job_status(sid) not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            time.sleep(0.05)
        done = time.time() - t0
        return done, first_line_ts(jsc.get_job_logs(sid)) - t0

    def raymaker_client():
        t0 = time.time()
        handle = session.jobs.submit(spec, wait=True)
        done = time.time() - t0
        return done, first_line_ts(handle.logs()) - t0

    def raymaker_cli():
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "raymaker", "submit", os.path.join(work, "noop.yaml"), "--wait",
             "-o", "json"],
            env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} if started else env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        done = time.time() - t0
        import json

        name = json.loads(out.stdout)["name"]
        return done, first_line_ts(session.jobs.logs(name)) - t0

    doors = {
        "bare `ray job submit` CLI": bare_cli,
        "Ray JobSubmissionClient": python_jsc,
        "raymaker Python client": raymaker_client,
        "`raymaker submit --wait` CLI": raymaker_cli,
    }
    results = {name: ([], [], []) for name in doors}
    head = head_pid(session)
    for fn in doors.values():  # one warm-up each: worker pools, page cache
        fn()
    for _ in range(repeat):
        for name, fn in doors.items():  # interleaved, so drift hits every door alike
            with PeakRss([head]) as peak:  # the head's tree: the job's driver
                done, first = fn()
            results[name][0].append(done)
            results[name][1].append(first)
            results[name][2].append(peak.mb)

    report = Report("jobs", "Job layer: no-op job on a warm cluster (submit -> done)")
    base_cli, base_py = "bare `ray job submit` CLI", "Ray JobSubmissionClient"
    for name, (done, _, rss) in results.items():
        baseline = base_cli if "CLI" in name and name != base_cli else base_py
        report.add(
            f"{name}: done",
            done,
            baseline=None if name in (base_cli, base_py) else baseline,
            rss_mb=rss,
        )
    for name, (_, first, _) in results.items():
        report.add(f"{name}: first line", first)
    report.rows["`raymaker submit --wait` CLI: done"].baseline = f"{base_cli}: done"
    report.rows["raymaker Python client: done"].baseline = f"{base_py}: done"
    overhead = (
        report.rows["raymaker Python client: done"].median - report.rows[f"{base_py}: done"].median
    )
    report.notes.append(
        f"raymaker Python client adds {overhead:+.3f} s over JobSubmissionClient (goal <= 0.2 s)"
    )
    cli_done = report.rows["`raymaker submit --wait` CLI: done"].median
    report.notes.append(f"`raymaker submit --wait`: {cli_done:.2f} s end to end (goal <= 2 s)")
    report.notes.append(
        "raymaker rows include staging the script, the job record and the saved logs"
    )
    report.notes.append(
        "peak RSS: the local head's process tree (Ray's processes and the job's driver) "
        f"while each job ran; idle: {PeakRss([head]).sample():,.0f} MiB"
    )
    report.finish()


if __name__ == "__main__":
    main()
