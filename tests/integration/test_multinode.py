"""Several Ray nodes on this machine (``multinode.py``, each scenario in its own process and
cluster): an endpoint losing a node under load, a job waiting for a node, training resuming
after its worker's node died."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multinode.py")


def scenario(name: str, timeout: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    proc = subprocess.run([sys.executable, SCRIPT, name], capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("MULTINODE ")]
    assert lines, f"{name} gave no figures:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return json.loads(lines[-1][len("MULTINODE ") :])


def test_an_endpoint_on_two_nodes_loses_at_most_its_in_flight_requests():
    r = scenario("endpoint", 300)
    assert r["nodes_with_replicas"] == 2  # one replica on each worker node
    assert r["sent_before_kill"] > 50 and r["sent"] > r["sent_before_kill"] + 50
    assert r["failed"] <= 2, r  # 2 clients: at most the requests in flight on the dead node
    assert r["recovery_s"] is not None and r["recovery_s"] < 60, r


def test_a_job_submitted_while_a_node_is_down_waits_for_it():
    r = scenario("waiting", 400)
    assert r["status_while_node_down"] in ("PENDING", "RUNNING"), r
    assert r["status"] == "SUCCEEDED", r


def test_training_resumes_after_the_node_of_a_worker_dies():
    r = scenario("training", 900)
    assert r["status"] == "SUCCEEDED", r
    assert r["resumed_from_round"] >= r["killed_after_round"] > 0, r
    assert r["rounds"] == 300
