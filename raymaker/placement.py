"""Where work runs: in the job's driver or on Ray (``runs_in_driver``, the one decision for
training and batch transform), and will an instance ever fit (``check_fits``), checked before
a worker group, an actor pool or replicas start.

Ray waits forever for resources no node has: a Ray Train worker group asking for a GPU on a
CPU-only cluster just hangs. Before starting workers, raymaker compares one instance's
preset (CPUs, GPUs) with every live node and with the node types the cluster's autoscaler can
add (the launcher's ``~/ray_bootstrap_config.yaml`` on the head, where job drivers run). If
none can hold it, the job fails at once, naming the preset and what the cluster has. A node
type whose resources the launcher detects at start (``resources: {}``) counts as a fit.
"""

from __future__ import annotations

import os

from raymaker.errors import SpecError

BOOTSTRAP_CONFIG = "~/ray_bootstrap_config.yaml"


def runs_in_driver(execution: str, *, instances: int, gpus: float = 0, retries: int = 0) -> bool:
    """In the job's driver (True) or on Ray (False): a Ray Train worker group for training, an
    actor pool for a transform.

    ``execution`` is the spec's choice, ``driver`` or ``ray``; ``auto`` runs one instance that
    needs no GPU worker and no restarts in the driver, which then reserves the instance's
    resources for itself (no worker process to start: ~13 s of process starts and imports for
    a Ray Train group on 2 cores, 3-8 s for a transform's actors).
    """
    if execution in ("driver", "ray"):
        return execution == "driver"
    return instances == 1 and not gpus and not retries


def node_fits(node: dict, need: dict) -> bool:
    """Whether a node's resources (``CPU``, ``GPU``) hold ``need`` (``cpus``, ``gpus``)."""
    return node.get("CPU", 0) >= need.get("cpus", 0) and node.get("GPU", 0) >= need.get("gpus", 0)


def check_fits(
    need: dict,
    instance_type: str,
    *,
    nodes: list[dict] | None = None,
    node_types: dict[str, dict] | None = None,
    what: str = "an instance",
) -> None:
    """Raise SpecError when no live node and no node type the autoscaler can add holds
    ``need`` (one instance's ``{"cpus", "gpus"}``). ``nodes`` / ``node_types`` default to the
    connected cluster's (Ray must be initialized for ``nodes``)."""
    if nodes is None:
        nodes = live_nodes()
    if any(node_fits(n, need) for n in nodes):
        return
    if node_types is None:
        node_types = autoscaler_node_types()
    if any(not res or node_fits(res, need) for res in node_types.values()):
        return
    largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
    gpus = f" and {need['gpus']:g} GPU(s)" if need.get("gpus") else ""
    types = (
        "; node types the autoscaler can add: "
        + ", ".join(f"{name} ({_describe(res)})" for name, res in node_types.items())
        if node_types
        else "; the cluster has no autoscaler to add nodes"
    )
    raise SpecError(
        f"instance_type {instance_type!r}: {what} needs {need.get('cpus', 0):g} CPU(s){gpus}, "
        f"and no node can ever hold that (the largest has {_describe(largest)}{types}); "
        "pick a smaller preset or add such nodes"
    )


def live_nodes() -> list[dict]:
    import ray

    return [dict(n.get("Resources") or {}) for n in ray.nodes() if n.get("Alive")]


def autoscaler_node_types(path: str = BOOTSTRAP_CONFIG) -> dict[str, dict]:
    """Node types (name -> resources) of the launcher's config on this node, if any."""
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return {}
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError):
        return {}
    types = config.get("available_node_types") or {}
    return {
        name: dict(spec.get("resources") or {})
        for name, spec in types.items()
        if name != config.get("head_node_type") and spec.get("max_workers", 1) != 0
    }


def _describe(resources: dict) -> str:
    return f"{resources.get('CPU', 0):g} CPU(s), {resources.get('GPU', 0):g} GPU(s)"
