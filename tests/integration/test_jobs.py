"""The job layer on a real Ray head: three doors, failures, stop, reconcile, auth, S3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from raymaker.errors import AuthError, Conflict, JobFailed, WaitTimeout
from raymaker.jobs.records import JobStatus
from raymaker.specs import load_spec, parse_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
JOBS = os.path.join(ROOT, "jobs")


def script_spec(tmp_path, body: str, **fields):
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(body))
    return parse_spec({"kind": "ProcessingJob", "code": str(path), **fields})


def wait_for_status(handle, status, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if handle.describe().status == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"{handle.name} never reached {status}: {handle.describe()}")


def test_three_doors_give_the_same_record(ray_head, tmp_path):
    from raymaker.sagemaker.session import Session

    session = Session()  # the default store, which the head's own environment names too
    spec = load_spec(os.path.join(JOBS, "hello.yaml"))
    session.jobs.submit(spec, name="door-client", base_dir=JOBS, wait=True)

    env = {**os.environ}
    cli = subprocess.run(
        [sys.executable, "-m", "raymaker", "submit", "jobs/hello.yaml", "--name", "door-cli", "--wait"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr

    work = tmp_path / "work"
    shutil.copytree(JOBS, work)
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
    bare = subprocess.run(
        [ray_cli, "job", "submit", "--address", ray_head["dashboard_url"], "--working-dir", str(work),
         "--", "raymaker", "run", "--name", "door-ray", "hello.yaml"],
        env={**env, "RAY_AUTH_MODE": "token"}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert bare.returncode == 0, bare.stdout + bare.stderr

    records = [session.jobs.get(n).describe() for n in ("door-client", "door-cli", "door-ray")]
    for record in records:
        assert record.status == JobStatus.SUCCEEDED
        assert record.kind == "ProcessingJob"
        assert record.submission_id  # also the bare door: read from Ray's job config
        assert record.result["exit_code"] == 0 and record.result["outputs"] == {}
        assert record.spec["code"].startswith(session.store.uri(f"jobs/{record.name}/code/"))
        assert record.spec["arguments"] == ["--greeting", "hello from raymaker"]
        assert "hello from raymaker" in session.store.read_text(f"jobs/{record.name}/logs.txt")
        assert record.started_at <= record.ended_at
        assert record.spec_uri == session.store.uri(f"jobs/{record.name}/spec.yaml")
        assert load_spec(record.spec_uri, store=session.store).code == record.spec["code"]
    assert records[2].submission_id.startswith("raysubmit_")
    for record in records[:2]:  # submitted by raymaker: the wait before the driver ran counts
        stages = dict(record.stages)
        assert 0 <= stages["queued"] < 60 and "running script" in stages


def test_a_failed_job_keeps_the_users_traceback_and_logs(session, tmp_path):
    spec = script_spec(
        tmp_path,
        """
        print("about to fail", flush=True)
        def parse_row(row):
            return int(row)
        parse_row("not a number")
        """,
    )
    with pytest.raises(JobFailed) as info:
        session.jobs.submit(spec, name="fails", wait=True, timeout=120)
    assert "parse_row" in info.value.traceback
    assert "ValueError: invalid literal for int()" in info.value.traceback
    record = session.jobs.get("fails").describe()
    assert record.status == JobStatus.FAILED
    assert "exited with code 1" in record.failure_reason
    assert "about to fail" in session.jobs.logs("fails")
    assert "about to fail" in session.store.read_text("jobs/fails/logs.txt")


def test_stop_stops_a_running_job(local_session, tmp_path):
    spec = script_spec(tmp_path, "import time\nprint('working', flush=True)\ntime.sleep(120)\n")
    handle = local_session.jobs.submit(spec, name="long")
    wait_for_status(handle, JobStatus.RUNNING)
    with pytest.raises(WaitTimeout):
        handle.wait(timeout=0.5)
    proc = subprocess.run(
        [sys.executable, "-m", "raymaker", "jobs", "stop", "long"],
        env={**os.environ, "RAYMAKER_STORE": local_session.settings.store},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "STOPPED" in proc.stdout
    assert handle.describe().status == JobStatus.STOPPED


def test_job_names_are_unique(local_session, tmp_path):
    spec = script_spec(tmp_path, "print('once')")
    local_session.jobs.submit(spec, name="taken", wait=True)
    with pytest.raises(Conflict, match="taken"):
        local_session.jobs.submit(spec, name="taken")
    assert local_session.jobs.get("taken").describe().status == JobStatus.SUCCEEDED


def test_a_killed_driver_is_reconciled_from_ray(local_session, tmp_path):
    spec = script_spec(
        tmp_path,
        "import os, signal\nprint('bye', flush=True)\nos.kill(os.getppid(), signal.SIGKILL)\n",
    )
    with pytest.raises(JobFailed) as info:
        local_session.jobs.submit(spec, name="killed", wait=True, timeout=120)
    record = local_session.jobs.get("killed").describe()
    assert record.status == JobStatus.FAILED
    assert record.failure_reason  # Ray's own account of the exit
    assert "killed" in str(info.value)


def test_records_outlive_the_cluster(local_session, tmp_path):
    from raymaker.sagemaker.session import Session

    spec = script_spec(tmp_path, "print('kept')")
    local_session.jobs.submit(spec, name="kept", wait=True)
    offline = Session(settings=local_session.settings.replace(ray_address="http://127.0.0.1:9"))
    record = offline.jobs.get("kept").describe()
    assert record.status == JobStatus.SUCCEEDED
    assert "kept" in offline.jobs.logs("kept")
    assert [r.name for r in offline.jobs.list()] == ["kept"]


def test_the_head_requires_ray_token(ray_head):
    from raymaker.cluster.rest import RayJobsApi

    with pytest.raises(AuthError, match="401"):
        RayJobsApi(ray_head["dashboard_url"]).list()


@pytest.mark.s3
def test_a_job_on_an_s3_store(ray_head, s3_root, tmp_path):
    from raymaker.sagemaker.session import Session

    session = Session(store=s3_root)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x\n1\n2\n3\n")
    data = session.upload_data(tmp_path / "in", key_prefix="s3job")
    spec = script_spec(
        tmp_path,
        """
        import os, sys
        rows = open(os.path.join(sys.argv[1], "a.csv")).read().split()[1:]
        os.makedirs(sys.argv[2], exist_ok=True)
        open(os.path.join(sys.argv[2], "count.txt"), "w").write(str(len(rows)))
        """,
        inputs=[{"name": "raw", "source": data}],
        outputs=[{"name": "count"}],
        arguments=["/opt/ml/processing/input/raw", "/opt/ml/processing/output/count"],
    )
    record = session.jobs.submit(spec, name="on-s3", wait=True, timeout=120).describe()
    assert record.result["outputs"]["count"] == f"{s3_root}/jobs/on-s3/output/count"
    assert session.store.read_text("jobs/on-s3/output/count/count.txt") == "3"
    assert session.store.read_json("jobs/on-s3/record.json")["status"] == "SUCCEEDED"


def test_logs_follow_streams_until_the_end(local_session, tmp_path):
    spec = script_spec(
        tmp_path,
        "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.3)\n",
    )
    handle = local_session.jobs.submit(spec, name="ticks")
    proc = subprocess.run(
        [sys.executable, "-m", "raymaker", "jobs", "logs", "ticks", "--follow"],
        env={**os.environ, "RAYMAKER_STORE": local_session.settings.store},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "tick 2" in proc.stdout
    assert handle.describe().status == JobStatus.SUCCEEDED


def test_quickstart_runs_end_to_end(ray_head, tmp_path, monkeypatch):
    from raymaker.quickstart import run_quickstart

    monkeypatch.setenv("RAYMAKER_STORE", str(tmp_path / "qs-store"))
    lines = []
    report = run_quickstart(rows=800, echo=lines.append, folder=str(tmp_path / "examples"))
    assert report["status"] == "SUCCEEDED"
    assert report["rows"] == 800
    assert 0.05 < report["churn_rate"] < 0.8
    assert any("quickstart summary" in line for line in lines)
    assert report["model_data"].endswith("/output/model.tar.gz")
    assert 0 < report["validation_logloss"] < 0.69  # better than a coin
    assert report["endpoint_status"] == "InService" and len(report["endpoint_predictions"]) == 5
    assert all(0 <= score <= 1 for score, _ in report["endpoint_predictions"])
    assert report["batch_rows"] == report["scoring_rows"] == 160  # the raw test split
    assert 0.5 < report["batch_accuracy"] <= 1
    assert report["automl_best_candidate"].startswith(report["automl_job"])
    assert 0 < report["automl_f1"] <= 1 and report["automl_job_s"] < 30 * 1.1 + 5
    # the endpoint took raw rows (strings, missing values): the fitted recipe is in the model
    assert {"train.csv", "test.csv", "scoring.csv", "rows.csv"} <= set(
        os.listdir(tmp_path / "examples")
    )


def test_cli_submit_prints_the_name_and_ctrl_c_leaves_the_job_running(local_session, tmp_path):
    import json
    import signal

    env = {**os.environ, "RAYMAKER_STORE": local_session.settings.store}
    spec = tmp_path / "sleepy.yaml"
    (tmp_path / "sleepy.py").write_text(
        "import time\nprint('sleepy-started', flush=True)\ntime.sleep(30)\n"
    )
    spec.write_text("kind: ProcessingJob\ncode: sleepy.py\n")

    def raymaker(*args, **kw):
        return subprocess.run([sys.executable, "-m", "raymaker", *args], env=env,
                              capture_output=True, text=True, timeout=120, **kw)  # fmt: skip

    quick = tmp_path / "quick.yaml"
    (tmp_path / "quick.py").write_text("print('hi')\n")
    quick.write_text("kind: ProcessingJob\ncode: quick.py\n")
    proc = raymaker("submit", str(quick), "--name", "cli-nowait")
    assert proc.returncode == 0 and proc.stdout == "cli-nowait\n", proc.stderr
    proc = raymaker("submit", str(quick), "--name", "cli-json", "-o", "json")
    assert json.loads(proc.stdout)["name"] == "cli-json"

    waiting = subprocess.Popen([sys.executable, "-m", "raymaker", "submit", str(spec), "--name",
                                "cli-sleepy", "--wait"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    handle = local_session.jobs
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if "sleepy-started" in handle.get("cli-sleepy").logs():
                break
        except Exception:  # noqa: BLE001 - not submitted yet
            pass
        time.sleep(0.2)
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, err
    assert "still running" in err and "raymaker jobs stop cli-sleepy" in err
    assert "Traceback" not in err
    assert handle.get("cli-sleepy").describe().status == JobStatus.RUNNING
    assert handle.get("cli-sleepy").stop().status == JobStatus.STOPPED
