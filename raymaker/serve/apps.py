"""The Serve side of endpoints: the gateway actor, one Serve application per variant and
generation, and what Serve reports of their replicas. Called by ``endpoints`` only."""

from __future__ import annotations

import re

from raymaker import errors
from raymaker.errors import ClusterError, NotFound
from raymaker.serve.plan import QUEUE_PER_REPLICA, replica_config, scaling
from raymaker.serve.state import EndpointState, VariantState
from raymaker.specs.endpoint import Endpoint

NAMESPACE = "raymaker"


def gateway_name(settings) -> str:
    return f"raymaker-gateway-{settings.serve_port}"


def store_env(settings) -> dict[str, str]:
    """The settings that open the store (where the gateway reads the API tokens)."""
    keys = ("RAYMAKER_STORE", "RAYMAKER_S3_ENDPOINT_URL", "RAYMAKER_S3_REGION")
    return {k: v for k, v in settings.job_env().items() if k in keys}


def gateway(settings, *, start: bool = True):
    """The endpoints' gateway actor (on the head), started when asked. Raises NotFound,
    ClusterError."""
    import ray

    name = gateway_name(settings)
    try:
        return ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        if not start:
            raise NotFound("the endpoints' gateway is not running") from None
    from raymaker.serve.gateway import Gateway

    s = settings
    actor = (
        ray.remote(Gateway)
        .options(
            name=name,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            # On the head: the ingress has one known address, the one a cluster exposes.
            resources={"node:__internal_head__": 0.001},
            max_concurrency=10_000,
            max_restarts=-1,
        )
        .remote(
            s.serve_host,
            s.serve_port,
            s.serve_token,
            int(s.serve_max_body_mb * (1 << 20)),
            store_env(s),
        )
    )
    try:
        ray.get(actor.start.remote(), timeout=60)
    except Exception as e:
        raise ClusterError(f"the endpoints' gateway did not start: {e}") from e
    return actor


def run_apps(settings, spec: Endpoint, variants: list[VariantState]) -> None:
    """Start one Serve application per variant and wait until they run. Raises ClusterError,
    SpecError (an instance type that cannot fit)."""
    if not variants:
        return
    from ray import serve

    from raymaker.placement import check_fits
    from raymaker.serve.replica import EndpointReplica

    serve.start(http_options={"location": "NoServer"})
    auto = scaling(spec)["autoscaling"]
    targets = []
    for v in variants:
        resources = settings.resources_for(v.instance_type)
        check_fits(resources, v.instance_type, what=f"a replica of variant {v.name}")
        actor = {"num_cpus": resources.get("cpus", 1), "num_gpus": resources.get("gpus", 0)}
        if spec.serverless:
            actor["memory"] = spec.serverless.memory_size_in_mb << 20
        options = {
            "name": "replica",
            "ray_actor_options": actor,
            "max_ongoing_requests": QUEUE_PER_REPLICA,
            "health_check_period_s": 5,
            "graceful_shutdown_timeout_s": 5,
            "logging_config": {"enable_access_log": False},
        }
        if auto:
            options["autoscaling_config"] = auto
        else:
            options["num_replicas"] = v.instance_count
        config = replica_config(spec.name, v, settings, gateway_name(settings))
        app = serve.deployment(EndpointReplica).options(**options).bind(config)
        targets.append(serve.RunTarget(app, name=v.app, route_prefix=None))
    try:
        serve.run_many(targets, wait_for_applications_running=True)
    except Exception as e:
        for v in variants:  # Serve says "failed to update"; the replica's own error says why
            cause = replica_error(v.app)
            if cause is not None:
                kind, message = cause
                cls = getattr(errors, kind, None)
                if not (isinstance(cls, type) and issubclass(cls, errors.RaymakerError)):
                    cls, message = ClusterError, f"{kind}: {message}"
                raise cls(
                    f"endpoint {spec.name!r}, variant {v.name!r}: a replica did not start: "
                    f"{message}"
                ) from None
        raise ClusterError(f"endpoint {spec.name!r}: replicas did not start: {e}") from e


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RAISED = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*): ?(.*)$")


def replica_error(app: str) -> tuple[str, str] | None:
    """``(exception class name, message)`` a replica of ``app`` failed to start with, from
    the traceback Serve keeps in the deployment's status, or None."""
    try:
        from ray import serve

        status = serve.status().applications.get(app)
        message = status.deployments["replica"].message if status else ""
    except Exception:  # noqa: BLE001 - no status: the caller says what it knows
        return None
    return last_raised(message)


def last_raised(text: str) -> tuple[str, str] | None:
    """The exception a Python traceback ends with: its class name (without the module) and
    message (which may span lines), or None."""
    lines = _ANSI.sub("", text or "").splitlines()
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line[:1].isspace() or line.startswith("Traceback"):
            continue
        found = _RAISED.match(line)
        if found and (i == 0 or lines[i - 1][:1].isspace()):
            rest = "\n".join([found.group(2), *lines[i + 1 :]]).strip()
            return found.group(1), rest
    return None


def live_apps() -> set[str]:
    """The Serve applications that exist now (none when Serve is not running)."""
    try:
        from ray import serve

        return set(serve.status().applications)
    except Exception:  # noqa: BLE001 - no Serve controller yet: nothing runs
        return set()


def delete_apps(apps: list[str]) -> None:
    """Delete Serve applications (best effort: nothing routes to them any more)."""
    if not apps:
        return
    try:
        from ray import serve

        for app in apps:
            serve.delete(app, _blocking=False)
    except Exception:  # noqa: BLE001
        pass


def replicas(state: EndpointState) -> dict:
    """Per variant: its application's status (a word) and its running/starting replicas."""
    from ray import serve

    out = {}
    status = serve.status()
    for v in state.variants:
        app = status.applications.get(v.app)
        if app is None:
            out[v.name] = {"status": "MISSING", "running": 0}
            continue
        dep = app.deployments.get("replica")
        counts = dict(dep.replica_states) if dep else {}
        out[v.name] = {
            "status": getattr(app.status, "value", str(app.status)),
            "running": int(counts.get("RUNNING", 0)),
            "starting": int(counts.get("STARTING", 0)),
        }
    return out
