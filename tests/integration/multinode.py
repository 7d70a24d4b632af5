"""Multi-node scenarios on one machine: a Ray head (no CPUs: it only coordinates) and worker
nodes started with ``ray.cluster_utils.Cluster``, raymaker pointed at it by RAY_ADDRESS.

Each scenario runs in its own process (``python tests/integration/multinode.py SCENARIO``),
since a process connects to one Ray cluster and the test session already has one. It prints
one JSON line of figures; tests assert on them, ``benchmarks/bench_cluster.py`` reports them.

    endpoint   2 replicas on 2 nodes under a steady client; one node killed, a new one added
               (as an autoscaler would): requests sent and failed, time until 2 replicas run
    waiting    a 2-worker training job submitted while one of the 2 nodes is down: it waits
               for the node, then finishes
    training   a 2-worker training job, one node killed after a checkpoint: it resumes from
               the checkpoint and finishes; time lost against an undisturbed run
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

FEATURES = [f"x{i}" for i in range(4)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(workers: int):
    """A head without CPUs (dashboard on, for Ray Jobs) and ``workers`` 1-CPU nodes."""
    from ray.cluster_utils import Cluster

    # The nodes' job drivers run `raymaker` from PATH: this interpreter's, as the local head's.
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "include_dashboard": True,
                        "dashboard_port": _free_port(), "dashboard_host": "127.0.0.1"},
    )  # fmt: skip
    nodes = [cluster.add_node(num_cpus=1) for _ in range(workers)]
    cluster.wait_for_nodes()
    home = tempfile.mkdtemp(prefix="raymaker-multinode-")
    os.environ.update(
        RAY_ADDRESS=cluster.address,
        RAYMAKER_HOME=home,
        RAYMAKER_STORE=os.path.join(home, "store"),
        RAYMAKER_SERVE_PORT=str(_free_port()),
        RAY_USAGE_STATS_ENABLED="0",
    )
    return cluster, nodes


def model_artifact(store, key: str = "models/m") -> str:
    """A small XGBoost artifact written as training writes one; its URI."""
    import numpy as np
    import xgboost as xgb

    from raymaker.storage import artifacts

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, len(FEATURES))).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    folder = tempfile.mkdtemp()
    xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), 10).save_model(
        os.path.join(folder, "model.ubj")
    )
    artifacts.write_manifest(folder, {
        "framework": "xgboost", "task": "binary", "classes": [0, 1], "features": FEATURES,
        "input_schema": dict.fromkeys(FEATURES, "double"),
        "output": {"type": "probability", "positive_class": 1, "classes": [0, 1]},
    })  # fmt: skip
    return store.put_dir(folder, key)


def _replicas_running(session, name: str) -> int:
    return sum(r.get("running", 0) for r in session.endpoints.describe(name)["replicas"].values())


def endpoint() -> dict:
    import raymaker as rm

    cluster, nodes = start_cluster(2)
    session = rm.Session()
    uri = model_artifact(session.store)
    predictor = rm.Model(model_data=uri, session=session).deploy(2, "cpu.1", endpoint_name="mn")
    url = session.endpoints.url("mn")
    placed = _replica_nodes()
    sent = failed = 0
    errors: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client():
        nonlocal sent, failed
        body = b"0.5,-0.2,1.0,0.3\n"
        while not stop.is_set():
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "text/csv"})
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    ok = reply.status == 200
            except (urllib.error.URLError, OSError) as e:
                ok = False
                with lock:
                    errors.append(str(e)[:200])
            with lock:
                sent += 1
                failed += 0 if ok else 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(3)
    before = sent
    killed_at = time.monotonic()
    cluster.remove_node(nodes[0], allow_graceful=False)
    time.sleep(1)
    cluster.add_node(num_cpus=1)  # what the autoscaler would do
    recovered = None
    deadline = killed_at + 120
    while time.monotonic() < deadline:
        if _replicas_running(session, "mn") == 2:
            recovered = time.monotonic() - killed_at
            break
        time.sleep(0.2)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    predictor.delete_endpoint()
    _shutdown(cluster)
    return {"scenario": "endpoint", "nodes_with_replicas": len(placed), "sent": sent,
            "sent_before_kill": before, "failed": failed, "recovery_s": recovered,
            "errors": errors[:5]}  # fmt: skip


def _replica_nodes() -> set[str]:
    import ray

    return {
        a["Address"]["NodeID"]
        for a in ray._private.state.actors().values()
        if a.get("State") == "ALIVE" and "ServeReplica:rm-mn" in a.get("ActorClassName", "")
    }


def waiting() -> dict:
    import numpy as np
    import pandas as pd

    import raymaker as rm

    cluster, nodes = start_cluster(2)
    session = rm.Session()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4))
    path = os.path.join(tempfile.mkdtemp(), "train.csv")
    pd.DataFrame(X, columns=FEATURES).assign(y=(X[:, 0] > 0).astype(int)).to_csv(path, index=False)
    data = session.upload_data(path, key_prefix="mn")
    cluster.remove_node(nodes[1], allow_graceful=False)
    est = rm.XGBoost(label="y", hyperparameters={"num_round": 20}, instance_count=2,
                     session=session)  # fmt: skip
    started = time.monotonic()
    est.fit({"train": data}, wait=False, job_name="mn-wait")
    handle = est.latest_training_job
    time.sleep(8)
    waiting_status = handle.describe().status.value
    added = time.monotonic()
    cluster.add_node(num_cpus=1)
    record = handle.wait(timeout=300)
    out = {"scenario": "waiting", "status_while_node_down": waiting_status,
           "status": record.status.value, "waited_s": round(added - started, 1),
           "finished_after_node_added_s": round(time.monotonic() - added, 1)}  # fmt: skip
    _shutdown(cluster)
    return out


def _shutdown(cluster) -> None:
    import ray

    ray.shutdown()
    cluster.shutdown()


def _training_data(session, rows: int) -> str:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2)
    X = rng.normal(size=(rows, 8))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    path = os.path.join(tempfile.mkdtemp(), "train.parquet")
    pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(y=y).to_parquet(path)
    return session.upload_data(path, key_prefix="mn-train")


def training() -> dict:
    """A 2-worker training job on 2 nodes: once undisturbed, once with the node of one worker
    killed after a checkpoint (a new node added, as an autoscaler would). The job resumes."""
    import raymaker as rm
    from raymaker.storage import layout
    from raymaker.train.checkpoints import Checkpoints

    cluster, nodes = start_cluster(2)
    session = rm.Session()
    data = _training_data(session, 40_000)

    def fit(name: str):
        est = rm.XGBoost(label="y", instance_count=2, max_retry_attempts=1, session=session,
                         hyperparameters={"num_round": 300, "max_depth": 8, "eta": 0.05},
                         checkpoint_interval_s=0, execution="ray_train")  # fmt: skip
        est.fit({"train": data}, wait=False, job_name=name)
        return est.latest_training_job

    started = time.monotonic()
    fit("mn-calm").wait(timeout=600)
    calm_s = time.monotonic() - started

    started = time.monotonic()
    handle = fit("mn-fault")
    checkpoints = Checkpoints(session.store, layout.job_checkpoints("mn-fault"))
    while (checkpoints.latest() or {}).get("step", 0) < 20:
        if time.monotonic() - started > 300:
            raise RuntimeError(f"no checkpoint: {handle.describe()}")
        time.sleep(0.1)
    killed_step = checkpoints.latest()["step"]
    cluster.remove_node(nodes[0], allow_graceful=False)
    cluster.add_node(num_cpus=1)
    record = handle.wait(timeout=600)
    fault_s = time.monotonic() - started
    out = {"scenario": "training", "status": record.status.value,
           "killed_after_round": killed_step,
           "resumed_from_round": record.result.get("resumed_from_round"),
           "rounds": record.result.get("rounds"), "undisturbed_s": round(calm_s, 1),
           "with_node_failure_s": round(fault_s, 1),
           "lost_s": round(fault_s - calm_s, 1)}  # fmt: skip
    _shutdown(cluster)
    return out


if __name__ == "__main__":
    scenario = {"endpoint": endpoint, "waiting": waiting, "training": training}[sys.argv[1]]
    print("MULTINODE " + json.dumps(scenario()), flush=True)
