"""Node failures on a multi-node cluster (several Ray nodes on this machine): what an endpoint
and a training job lose when a node dies, against the same work undisturbed.

Runs the scenarios of tests/integration/multinode.py, each in its own process and cluster:
  - endpoint: 2 replicas on 2 nodes, 2 steady HTTP clients; one node killed, a new one added
  - training: a 2-worker XGBoost job (300 rounds), undisturbed and with one worker's node
    killed after a checkpoint (the job resumes from it)

    python benchmarks/bench_cluster.py [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                      "integration", "multinode.py")  # fmt: skip


def scenario(name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    out = subprocess.run([sys.executable, SCRIPT, name], capture_output=True, text=True, env=env,
                         check=True).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("MULTINODE "))
    return json.loads(line[len("MULTINODE ") :])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    report = Report("cluster", "Node failures: an endpoint and a training job (2 worker nodes)")
    endpoints = [scenario("endpoint") for _ in range(args.runs)]
    trainings = [scenario("training") for _ in range(args.runs)]
    report.add("endpoint: requests sent (whole run)", [e["sent"] for e in endpoints], unit="req")
    report.add("endpoint: requests failed", [e["failed"] for e in endpoints], unit="req")
    report.add("endpoint: node killed -> 2 replicas running again",
               [e["recovery_s"] for e in endpoints])  # fmt: skip
    report.add("training: undisturbed (300 rounds, 2 workers)",
               [t["undisturbed_s"] for t in trainings])  # fmt: skip
    report.add("training: a worker's node killed after a checkpoint",
               [t["with_node_failure_s"] for t in trainings],
               baseline="training: undisturbed (300 rounds, 2 workers)")  # fmt: skip
    report.notes += [
        f"endpoint runs: {endpoints}",
        f"training runs: {trainings}",
        "the replacement node is added 1 s after the kill (as an autoscaler would, faster)",
    ]
    report.finish()


if __name__ == "__main__":
    main()
