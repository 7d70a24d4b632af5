"""The runner in this process (no Ray): record lifecycle, processing contract, failures."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from raymaker.errors import Conflict, SpecError
from raymaker.jobs.records import JobStatus, read_record
from raymaker.jobs.runner import run_spec
from raymaker.specs import parse_spec
from raymaker.storage import open_store


def script(tmp_path, body: str, name="job.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_processing_contract_inputs_outputs_and_record(store, settings, tmp_path):
    store.write_text("data/in/a.csv", "x\n1\n2\n")
    code = script(
        tmp_path,
        """
        import os, sys, json
        src, dst = sys.argv[1], sys.argv[2]
        rows = open(os.path.join(src, "a.csv")).read().split()
        os.makedirs(dst, exist_ok=True)
        json.dump({"rows": len(rows) - 1, "cwd": os.getcwd()}, open(os.path.join(dst, "r.json"), "w"))
        print("processed", len(rows) - 1)
        """,
    )
    spec = parse_spec(
        {
            "kind": "ProcessingJob",
            "code": code,
            "inputs": [{"name": "raw", "source": "data/in"}],
            "outputs": [{"name": "result"}],
            "arguments": ["/opt/ml/processing/input/raw", "/opt/ml/processing/output/result"],
        }
    )
    record = run_spec(spec, name="proc-1", settings=settings, store=store)
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    out = record.result["outputs"]["result"]
    assert out == store.uri("jobs/proc-1/output/result")
    assert json.loads(store.read_bytes("jobs/proc-1/output/result/r.json"))["rows"] == 2
    assert store.list("jobs/proc-1/_tmp") == []
    saved = read_record(store, "proc-1")
    assert saved.status == JobStatus.SUCCEEDED and saved.ended_at >= saved.started_at
    assert "processed 2" in store.read_text("jobs/proc-1/logs.txt")
    assert saved.spec["code"].startswith(store.uri("jobs/proc-1/code"))  # staged for lineage
    # where the time went, stage by stage, in order, and the driver's peak memory
    assert [k for k, _ in saved.stages] == ["staging", "downloading inputs", "running script",
                                            "uploading outputs"], saved.stages  # fmt: skip
    assert dict(saved.stages)["running script"] > 0 and saved.peak_rss_mb > 10


def test_a_failing_script_records_its_own_traceback_and_publishes_nothing(local_settings, tmp_path):
    store = open_store(local_settings.store)
    code = script(
        tmp_path,
        """
        import os
        os.makedirs("/opt/ml/processing/output/out", exist_ok=True) if False else None
        def load():
            return 1 / 0
        load()
        """,
    )
    spec = parse_spec({"kind": "ProcessingJob", "code": code, "outputs": [{"name": "out"}]})
    record = run_spec(spec, name="fails", settings=local_settings, store=store)
    assert record.status == JobStatus.FAILED
    assert record.failure_reason == "the script job.py exited with code 1"
    assert record.traceback.startswith("Traceback (most recent call last):")
    assert "in load" in record.traceback and "ZeroDivisionError" in record.traceback
    assert not store.exists("jobs/fails/output/out")
    assert "ZeroDivisionError" in store.read_text("jobs/fails/logs.txt")


def test_names_are_unique(local_settings, tmp_path):
    store = open_store(local_settings.store)
    spec = parse_spec({"kind": "ProcessingJob", "code": script(tmp_path, "print(1)")})
    assert run_spec(spec, name="once", settings=local_settings, store=store).status == "SUCCEEDED"
    with pytest.raises(Conflict, match="once"):
        run_spec(spec, name="once", settings=local_settings, store=store)


def test_every_row_of_the_kind_table_loads():
    """Adding a kind is one row: its spec, run, stage and driver entries all resolve."""
    from raymaker.kinds import KINDS, load
    from raymaker.specs import spec_class

    assert set(KINDS) >= {"ProcessingJob", "TrainingJob", "TuningJob", "TransformJob", "Endpoint"}
    for kind, row in KINDS.items():
        assert spec_class(kind).model_fields["kind"].default == kind
        for target in (row.spec, row.run, row.stage, row.driver, row.reconcile):
            if target:
                assert callable(load(target)), target


def test_an_unknown_kind_names_the_kinds_and_a_close_one():
    with pytest.raises(SpecError, match="allowed: ProcessingJob.*did you mean 'TrainingJob'"):
        parse_spec({"kind": "TrainingJb"})


def test_missing_code_and_bad_instance_type_fail_the_job_clearly(local_settings, tmp_path):
    store = open_store(local_settings.store)
    spec = parse_spec({"kind": "ProcessingJob", "code": str(tmp_path / "nope.py")})
    record = run_spec(spec, name="nocode", settings=local_settings, store=store)
    assert record.status == "FAILED" and "does not exist" in record.failure_reason
    spec = parse_spec(
        {"kind": "ProcessingJob", "code": script(tmp_path, "pass"), "instance_type": "huge"}
    )
    record = run_spec(spec, name="badtype", settings=local_settings, store=store)
    assert record.status == "FAILED" and "cpu.1, cpu.16" in record.failure_reason


def test_max_runtime_stops_the_script(local_settings, tmp_path):
    store = open_store(local_settings.store)
    code = script(tmp_path, "import time; time.sleep(30)")
    spec = parse_spec({"kind": "ProcessingJob", "code": code, "max_runtime_in_seconds": 1})
    start = time.monotonic()
    record = run_spec(spec, name="slow", settings=local_settings, store=store)
    assert time.monotonic() - start < 10
    assert record.status == "FAILED" and "max_runtime_in_seconds" in record.failure_reason


def test_sigterm_stops_a_running_job_and_records_it(local_settings, tmp_path):
    code = script(tmp_path, "import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(f"kind: ProcessingJob\ncode: {code}\n")
    env = {**os.environ, "RAYMAKER_STORE": local_settings.store}
    proc = subprocess.Popen(
        [sys.executable, "-m", "raymaker", "run", "--name", "stopme", str(spec_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert "started" in proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == 7
    record = read_record(open_store(local_settings.store), "stopme")
    assert record.status == JobStatus.STOPPED


def test_a_driver_whose_cluster_went_away_records_it_and_exits(tmp_path):
    """Ray's job supervisor is the driver's parent; ``ray stop`` kills it but not the driver.
    The driver notices its parent is gone, records FAILED (resumable) and exits."""
    store_root = tmp_path / "store"
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(f"""
        import time
        from raymaker.jobs.records import JobRecord, JobStatus, write_record
        from raymaker.jobs.runner import _die_with_the_cluster
        from raymaker.storage import open_store
        store = open_store({str(store_root)!r})
        record = JobRecord(name="orphan", kind="ProcessingJob", status=JobStatus.RUNNING)
        write_record(store, record)
        _die_with_the_cluster(store, record, poll_s=0.1)
        print("watching", flush=True)
        time.sleep(60)
    """)
    )
    parent_code = textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, {str(driver)!r}], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "watching"
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    child_pid = int(parent.stdout.readline())
    parent.kill()  # as `ray stop` kills the supervisor
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child_pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":  # exited, not yet reaped
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        os.kill(child_pid, signal.SIGKILL)
        pytest.fail("the orphaned driver kept running")
    record = read_record(open_store(str(store_root)), "orphan")
    assert record.status == JobStatus.FAILED
    assert "the cluster stopped while the job ran" in record.failure_reason
