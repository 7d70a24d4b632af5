"""Batch transform on a real Ray head: Ray Data's actor pool, a live endpoint to compare with,
a worker killed mid-job, an s3:// store, and the CLI.

One XGBoost churn model (with its recipe) is trained per module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

import raymaker as rm
from raymaker.jobs.records import JobStatus
from raymaker.quickstart import CHURN_RECIPE, make_churn_data
from raymaker.storage import artifacts

SMALL = "cpu.0.5"
COLUMNS = ["tenure", "contract", "monthly_charges", "total_charges", "support_calls"]


@pytest.fixture(scope="module")
def trained(ray_head, tmp_path_factory):
    """A session on a module-wide store, the fitted estimator and scoring files."""
    import yaml

    root = tmp_path_factory.mktemp("transform")
    session = rm.Session(store=str(root / "store"))
    data = make_churn_data(1500)
    path = root / "churn.csv"
    data.to_csv(path, index=False)
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"steps": CHURN_RECIPE}))
    est = rm.XGBoost(label="churn", hyperparameters={"num_round": 20}, recipe=str(recipe),
                     session=session)  # fmt: skip
    est.fit({"train": session.upload_data(str(path), key_prefix="churn")}, job_name="bt-train",
            logs=False)  # fmt: skip
    scoring = root / "scoring"
    scoring.mkdir()
    rows = make_churn_data(900, seed=7)[COLUMNS]
    for i in range(3):  # three files: three items for the actor pool
        part = rows.iloc[i * 300 : (i + 1) * 300]
        part.to_csv(scoring / f"part-{i}.csv", header=False, index=False)
    return session, est, scoring


def handler_answer(session, est, body: bytes, tmp_path) -> bytes:
    """What the endpoint's handler answers for ``body``, in this process."""
    from raymaker.inference.handler import Handler, Request

    local = tmp_path / "handler-model"
    artifacts.download(session.store, est.model_dir, str(local))
    return Handler.load(str(local)).invoke([Request(body, "text/csv")])[0].body


def post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return reply.read()


def test_transform_on_the_actor_pool_equals_the_live_endpoint(trained):
    session, est, scoring = trained
    transformer = est.transformer(instance_count=2, instance_type=SMALL, assemble_with="Line")
    transformer.transform(str(scoring), content_type="text/csv", split_type="Line", logs=False,
                          job_name="bt-pool")  # fmt: skip
    record = transformer.describe()
    assert record.status == JobStatus.SUCCEEDED
    result = record.result
    assert result["execution"] == "ray" and result["items"] == 3
    assert result["driver_items"] + result["pool_items"] == 3  # the driver helps while it starts
    assert (result["rows_in"], result["rows_out"], result["bad_rows"]) == (900, 900, 0)
    assert transformer.output_path == session.store.uri("jobs/bt-pool/output")
    predictor = est.deploy(1, "cpu.0.25", endpoint_name="bt-compare")
    try:
        url = session.endpoints.url("bt-compare")
        for i in range(3):
            body = (scoring / f"part-{i}.csv").read_bytes()
            out = session.store.read_bytes(f"jobs/bt-pool/output/part-{i}.csv.out")
            assert out == post(url, body)  # byte for byte: the same handler and recipe
    finally:
        predictor.delete_endpoint()


HANDLER = """
import os, time

def model_fn(model_dir):
    return None

def input_fn(body, content_type):  # text/csv: a str, as SageMaker's toolkit gives it
    return [line.split(",") for line in body.splitlines()]

def predict_fn(rows, model):
    time.sleep(float(os.environ.get("SLEEP_S", "0")))
    return [float(r[0]) * 2 for r in rows]

def output_fn(prediction, accept):
    return "".join(f"{p}\\n" for p in prediction)
"""


def _busy_pool_actors() -> list[int]:
    """The pids of the pool's actors that are transforming an item now (Ray's process title)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()
            if "ray::TransformWorker.run" in line]  # fmt: skip


def test_a_killed_worker_actor_still_gives_complete_output(trained, tmp_path):
    session, est, _ = trained
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(HANDLER)
    data = tmp_path / "many"
    data.mkdir()
    for i in range(12):  # the driver alone would take 9 s: the actor starts meanwhile
        (data / f"f{i}.csv").write_text("".join(f"{i * 100 + j},x\n" for j in range(50)))
    transformer = rm.Transformer(
        model_data=est.model_data, entry_point="inference.py", source_dir=str(code),
        instance_count=2, instance_type=SMALL, env={"SLEEP_S": "1.5"}, session=session,
    )  # fmt: skip
    transformer.transform(str(data), content_type="text/csv", split_type="Line", wait=False,
                          job_name="bt-kill")  # fmt: skip
    handle = transformer.latest_transform_job
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = handle.describe().progress or {}
        if progress.get("done", 0) >= 1 and _busy_pool_actors():
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the transform never started: {handle.describe()}")
    os.kill(_busy_pool_actors()[0], signal.SIGKILL)  # an item in flight: redone on its restart
    record = handle.wait(timeout=240)
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["rows_out"] == 600 and record.result["pool_items"] >= 1
    for i in range(12):
        out = session.store.read_text(f"jobs/bt-kill/output/f{i}.csv.out").split()
        assert out == [repr(float(i * 100 + j) * 2) for j in range(50)]


def test_a_stopped_transform_leaves_the_output_path_as_it_was(trained, tmp_path):
    session, est, _ = trained
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(HANDLER)
    data = tmp_path / "slow"
    data.mkdir()
    for i in range(6):
        (data / f"f{i}.csv").write_text("".join(f"{j},x\n" for j in range(20)))
    session.store.write_text("results/stop/keep.txt", "earlier")
    transformer = rm.Transformer(
        model_data=est.model_data, entry_point="inference.py", source_dir=str(code),
        instance_type="cpu.1", env={"SLEEP_S": "1.0"}, output_path="results/stop",
        session=session,
    )  # fmt: skip
    transformer.transform(str(data), content_type="text/csv", split_type="Line", wait=False,
                          job_name="bt-stop")  # fmt: skip
    handle = transformer.latest_transform_job
    deadline = time.monotonic() + 60
    while (handle.describe().progress or {}).get("done", 0) < 1:
        assert time.monotonic() < deadline, handle.describe()
        time.sleep(0.1)
    transformer.stop_transform_job()
    record = handle.describe()
    assert record.status == JobStatus.STOPPED, record
    assert session.store.list("results/stop", recursive=True) == ["results/stop/keep.txt"]
    assert session.store.list("jobs/bt-stop/_tmp", recursive=True) == []


@pytest.mark.s3
def test_s3_input_and_output(trained, s3_root, tmp_path):
    session, est, scoring = trained
    s3 = rm.Session(store=s3_root)
    local = tmp_path / "model"
    artifacts.download(session.store, est.model_dir, str(local))
    s3.store.put_dir(str(local), "models/churn")
    data = s3.upload_data(str(scoring), key_prefix="batch/in")
    transformer = rm.Transformer(model_data=f"{s3_root}/models/churn", instance_count=2,
                                 instance_type=SMALL, output_path=f"{s3_root}/batch/out",
                                 session=s3)  # fmt: skip
    transformer.transform(data, content_type="text/csv", split_type="Line", join_source="Input",
                          logs=False, job_name="bt-s3")  # fmt: skip
    record = transformer.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["output_path"] == f"{s3_root}/batch/out"
    keys = sorted(s3.store.list("batch/out", recursive=True))
    assert keys == ["batch/out/_SUCCESS"] + [f"batch/out/part-{i}.csv.out" for i in range(3)]
    want = handler_answer(session, est, (scoring / "part-0.csv").read_bytes(), tmp_path)
    want = want.decode().split()
    lines = s3.store.read_text("batch/out/part-0.csv.out").splitlines()
    raw = (scoring / "part-0.csv").read_text().splitlines()
    assert lines == [f"{r},{w}" for r, w in zip(raw, want, strict=True)]
    assert s3.store.list("jobs/bt-s3/_tmp") == []


def test_cli_transform_with_a_bad_row_under_both_policies(trained, tmp_path):
    session, est, scoring = trained
    bad = tmp_path / "bad.csv"
    lines = (scoring / "part-1.csv").read_text().splitlines()
    lines[41] = "12,month-to-month,lots,100.0,1"
    bad.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "RAYMAKER_STORE": session.settings.store}
    base = [sys.executable, "-m", "raymaker", "transform", est.model_data, str(bad), "-o", "json"]
    failed = subprocess.run([*base, "--name", "bt-cli-fail"], capture_output=True, text=True,
                            env=env, timeout=300)  # fmt: skip
    assert failed.returncode != 0
    assert "bad.csv: bad record at line 42" in failed.stderr
    done = subprocess.run([*base, "--name", "bt-cli-skip", "--on-bad-rows", "skip"],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    assert (result["rows_in"], result["rows_out"], result["bad_rows"]) == (300, 299, 1)
    errors = session.store.read_text("jobs/bt-cli-skip/output/_errors.jsonl").splitlines()
    assert json.loads(errors[0])["line"] == 42
    out = session.store.read_text("jobs/bt-cli-skip/output/bad.csv.out").split("\n")
    assert out[41] == "" and len(out) == 301
    good = "\n".join(line for i, line in enumerate(lines) if i != 41).encode()
    want = handler_answer(session, est, good, tmp_path).decode().split()
    assert [v for i, v in enumerate(out[:-1]) if i != 41] == want
