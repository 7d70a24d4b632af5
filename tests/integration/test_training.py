"""Training on a real Ray head with Ray Train worker groups: distributed built-ins, a DDP
script, a killed worker resumed from its checkpoint, s3:// inputs and outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

import raymaker as rm
from raymaker.jobs.records import JobStatus
from raymaker.storage import artifacts, layout
from raymaker.train.checkpoints import Checkpoints


def frame(n=4000, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    df["label"] = y
    return df


def upload_parquet(store, key: str, df: pd.DataFrame, row_group_size=1000) -> str:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False), buf, row_group_size=row_group_size
    )
    store.write_bytes(key, buf.getvalue())
    return store.uri(key)


def test_xgboost_on_two_workers_with_s3_inputs_and_outputs(ray_head, s3_root):
    session = rm.Session(store=s3_root)
    df = frame()
    train_uri = upload_parquet(session.store, "data/xgb/train.parquet", df[:3000])
    val_uri = upload_parquet(session.store, "data/xgb/val.parquet", df[3000:])
    est = rm.XGBoost(
        label="label", hyperparameters={"num_round": 20, "max_depth": 4}, instance_count=2,
        output_path=f"{s3_root}/models", session=session,
    )  # fmt: skip
    est.fit({"train": train_uri, "validation": val_uri}, job_name="xgb-two", logs=False)
    record = est.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["execution"] == "ray_train" and record.result["workers"] == 2
    assert record.result["collective_workers"] == 2  # one model trained by both, not two
    assert est.model_data == f"{s3_root}/models/xgb-two/output/model.tar.gz"
    assert record.result["metrics"]["validation-logloss"] < 0.6
    attached = rm.XGBoost.attach("xgb-two", session=session)
    assert attached.model_data == est.model_data and attached.hyperparameters["num_round"] == 20

    import xgboost as xgb

    local = "/tmp/raymaker-test-xgb-two"
    manifest = artifacts.download(session.store, est.model_data, local)
    booster = xgb.Booster(model_file=os.path.join(local, "model.ubj"))
    assert booster.num_boosted_rounds() == 20 and manifest["features"][0] == "f0"


def test_lightgbm_on_two_workers(ray_head, local_session):
    store = local_session.store
    df = frame(seed=1)
    uri = upload_parquet(store, "data/lgb/train.parquet", df)
    handle = local_session.jobs.submit(
        {"kind": "TrainingJob", "algorithm": "lightgbm", "label": "label", "instance_count": 2,
         "hyperparameters": {"num_boost_round": 10, "min_data_in_leaf": 5},
         "inputs": {"train": uri}},
        wait=True,
    )  # fmt: skip
    record = handle.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["rounds"] == 10 and record.result["workers"] == 2


DDP_SCRIPT = """
import json, os
import torch, torch.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
g = torch.Generator().manual_seed(rank)  # each rank its own data
for step in range(10):
    x = torch.randn(32, 3, generator=g)
    loss = torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
    opt.zero_grad(); loss.backward(); opt.step()
    if rank == 0:
        print(f"step={step} loss={loss.item():.5f}", flush=True)
w = model.module.weight.detach().clone()
gathered = [torch.zeros_like(w) for _ in range(world)]
dist.all_gather(gathered, w)
assert all(torch.equal(gathered[0], t) for t in gathered), "replicas diverged"
if rank == 0:
    torch.save(model.module.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
    seen = {"world": world, "hosts": json.loads(os.environ["SM_HOSTS"])}
    json.dump(seen, open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "ddp.json"), "w"))
dist.destroy_process_group()
"""


def test_ddp_script_on_two_workers(ray_head, local_session, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(DDP_SCRIPT)
    est = rm.PyTorch(
        entry_point="train.py", source_dir=str(src), instance_count=2, session=local_session,
        metric_definitions=[{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
    )  # fmt: skip
    est.fit(logs=False)
    record = est.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    store = local_session.store
    out = store.key(record.result["output_data"])
    assert store.read_json(f"{out}/ddp.json") == {"world": 2, "hosts": ["algo-1", "algo-2"]}
    assert [p["step"] for p in est.metrics()] == list(range(10))
    assert (
        "model.pt" in store.read_json(f"{store.key(est.model_dir)}/{artifacts.MANIFEST}")["files"]
    )


def _train_worker_pids() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "RayTrainWorker" in line]


def test_a_killed_worker_resumes_from_the_last_checkpoint(ray_head, local_session):
    store = local_session.store
    uri = upload_parquet(store, "data/ft/train.parquet", frame(n=30000, seed=2), 5000)
    handle = local_session.jobs.submit(
        {"kind": "TrainingJob", "name": "fault", "algorithm": "xgboost", "label": "label",
         "max_retry_attempts": 1, "checkpoint_interval_s": 0,
         "hyperparameters": {"num_round": 400, "max_depth": 8, "eta": 0.05},
         "inputs": {"train": uri}},
    )  # fmt: skip
    checkpoints = Checkpoints(store, layout.job_checkpoints("fault"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        latest = checkpoints.latest()
        if latest and latest["step"] >= 20:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"no checkpoint past round 20: {handle.describe()}")
    pids = _train_worker_pids()
    assert pids, "no Ray Train worker process found"
    killed_at = checkpoints.latest()["step"]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    record = handle.wait(timeout=240)
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    resumed = record.result["resumed_from_round"]
    assert resumed >= killed_at, (resumed, killed_at)  # nothing before the checkpoint redone
    assert record.result["rounds"] == 400
    assert "resuming from checkpoint at round" in handle.logs()


def test_mlp_builtin_on_two_ddp_workers(ray_head, local_session):
    store = local_session.store
    uri = upload_parquet(store, "data/mlp2/train.parquet", frame(n=2000, seed=4))
    handle = local_session.jobs.submit(
        {"kind": "TrainingJob", "algorithm": "mlp", "label": "label", "instance_count": 2,
         "hyperparameters": {"epochs": 5, "hidden_units": "16", "learning_rate": 0.01},
         "inputs": {"train": uri, "validation": uri}},
        wait=True,
    )  # fmt: skip
    record = handle.describe()
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["workers"] == 2 and record.result["execution"] == "ray_train"
    assert record.result["metrics"]["validation-accuracy"] > 0.6


CRASH_ONCE = """
import os, sys
ck = os.path.join(os.environ["SM_CHECKPOINT_DIR"], "epoch.txt")
start = int(open(ck).read()) if os.path.exists(ck) else 0
for epoch in range(start, 3):
    open(ck, "w").write(str(epoch + 1))
    if epoch == 0 and start == 0:
        import time; time.sleep(3)  # let the checkpoint sync see epoch 1
        sys.exit("preempted")
open(os.path.join(os.environ["SM_MODEL_DIR"], "start.txt"), "w").write(str(start))
"""


def test_submit_with_resume_continues_an_interrupted_job(ray_head, local_session, tmp_path):
    from raymaker.errors import Conflict, JobFailed

    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(CRASH_ONCE)
    spec = {"kind": "TrainingJob", "entry_point": "train.py", "source_dir": str(src)}
    with pytest.raises(JobFailed, match="preempted"):
        local_session.jobs.submit(spec, name="resumable", wait=True)
    with pytest.raises(Conflict):  # without resume the name is taken
        local_session.jobs.submit(spec, name="resumable")
    handle = local_session.jobs.submit(spec, name="resumable", resume=True, wait=True)
    record = handle.describe()
    assert record.status == JobStatus.SUCCEEDED and record.attempts == 2
    model = local_session.store.key(record.result["model_dir"])
    assert local_session.store.read_text(f"{model}/start.txt") == "1"
