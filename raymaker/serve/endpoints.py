"""The endpoints' control plane: desired state in the store, replicas on Serve, routes in the
gateway.

    endpoints/<name>/state.json        spec, status, generation, each variant's Serve app
    endpoints/<name>/code/<variant>-g<generation>/   the handler code a variant runs

Each variant of each generation is one Serve application (``rm-<endpoint>-<variant>-g<n>``).
An update starts the changed variants' new applications, waits until they run, points the
gateway at them, lets the old ones answer what they hold, then deletes them: requests never
fail during an update.
"""

from __future__ import annotations

import math
import os
import secrets
import time

from raymaker.cluster import connect
from raymaker.errors import ClusterError, DataError, NotFound, SpecError
from raymaker.inference.builtin import check_builtin
from raymaker.specs.endpoint import Endpoint
from raymaker.storage import join, layout
from raymaker.storage.artifacts import read_manifest

NAMESPACE = "raymaker"
POLICY = "raymaker.serve.autoscale:policy"
QUEUE_PER_REPLICA = 256
STATES = ("Creating", "Updating", "InService", "Failed", "Deleting")


def state_key(name: str) -> str:
    return join(layout.ENDPOINTS, name, "state.json")


class Endpoints:
    """Deploy, update, describe, list and delete the endpoints of one store and cluster."""

    def __init__(self, settings, store):
        self.store = store
        self.settings = settings
        self.gateway_name = f"raymaker-gateway-{self.settings.serve_port}"

    # -- reading -------------------------------------------------------------------------------
    def state(self, name: str) -> dict:
        """The stored state of ``name``. Raises NotFound."""
        key = state_key(name)
        if not self.store.exists(key):
            raise NotFound(f"endpoint {name!r} does not exist")
        return self.store.read_json(key)

    def list(self) -> list[dict]:
        rows = []
        for key in self.store.list(layout.ENDPOINTS):
            name = key.rstrip("/").rsplit("/", 1)[-1]
            if self.store.exists(state_key(name)):
                s = self.store.read_json(state_key(name))
                rows.append(
                    {
                        "name": name,
                        "status": s["status"],
                        "url": s.get("url"),
                        "variants": ",".join(v["name"] for v in s["variants"]),
                        "updated_at": s.get("updated_at"),
                    }
                )
        return sorted(rows, key=lambda r: r["name"])

    def describe(self, name: str) -> dict:
        """The state plus live figures from the gateway (requests, errors, latency, replicas)."""
        state = self.state(name)
        try:
            gateway = self._gateway(start=False)
            import ray

            live = ray.get(gateway.describe.remote(name), timeout=10)
            state["replicas"] = self._replicas(state)
        except Exception:  # noqa: BLE001 - the cluster may be down; the stored state remains
            live = {}
        state["metrics"] = live
        return state

    def _replicas(self, state: dict) -> dict:
        from ray import serve

        out = {}
        status = serve.status()
        for v in state["variants"]:
            app = status.applications.get(v["app"])
            if app is None:
                out[v["name"]] = {"status": "MISSING", "running": 0}
                continue
            dep = app.deployments.get("replica")
            counts = dict(dep.replica_states) if dep else {}
            out[v["name"]] = {
                "status": getattr(app.status, "value", str(app.status)),
                "running": int(counts.get("RUNNING", 0)),
                "starting": int(counts.get("STARTING", 0)),
            }
        return out

    def lineage(self, name: str) -> list[dict]:
        """Where each variant's model came from: its registry version (job, data, code) or, for
        a model given by URI, the lineage its manifest records. Raises NotFound."""
        from raymaker.registry.registry import ModelRegistry, parse_reference

        rows = []
        for v in self.state(name)["variants"]:
            if v.get("registry"):
                group, number = parse_reference(v["registry"])
                row = ModelRegistry(store=self.store).lineage(group, int(number))
            else:
                manifest = read_manifest(self.store, v["model_data"]) or {}
                lineage = manifest.get("lineage") or {}
                row = {
                    "model": v["model_data"],
                    "training_job": lineage.get("job"),
                    "tuning_job": lineage.get("tuning_job"),
                    "data": lineage.get("data") or {},
                    "code_sha256": lineage.get("code_sha256"),
                    "hyperparameters": lineage.get("hyperparameters") or {},
                }
            rows.append({"endpoint": name, "variant": v["name"], **row})
        return rows

    def url(self, name: str) -> str:
        return self.state(name)["url"] + f"/endpoints/{name}/invocations"

    # -- changing ------------------------------------------------------------------------------
    def deploy(self, spec: Endpoint, *, update: bool = False, base_dir: str | None = None) -> dict:
        """Create (or with ``update``, change) the endpoint; returns its state when InService.

        Raises Conflict, NotFound, SpecError (before anything starts), ClusterError.
        """
        from raymaker.errors import Conflict

        name = spec.name
        if not name:
            raise SpecError("name: an endpoint needs a name")
        previous = self.state(name) if self.store.exists(state_key(name)) else None
        if previous and not update and previous["status"] != "Failed":
            raise Conflict(f"endpoint {name!r} exists; update it or delete it first")
        if update and previous is None:
            raise NotFound(f"endpoint {name!r} does not exist")
        self.settings.check_serve()
        generation = (previous or {}).get("generation", 0) + 1
        old = {v["name"]: v for v in (previous or {}).get("variants", [])}
        variants = []
        for v in spec.variants:
            model_uri, model_sha256, registered, inference = self._model_uri(v)
            code_sha256 = None
            if inference and not v.entry_point:  # the registered version's own handler
                handler = dict(inference)
                code_sha256 = handler.pop("code_sha256", None)
                v = v.model_copy(update=handler)
            code_uri = self._stage_code(name, v, generation, base_dir)
            row = {
                "name": v.name,
                "model_data": model_uri,
                "model_sha256": model_sha256,
                "registry": registered,
                "code_uri": code_uri,
                "code_sha256": code_sha256,
                "entry_point": v.entry_point,
                "weight": v.weight,
                "shadow": v.shadow,
                "instance_count": v.instance_count,
                "instance_type": v.instance_type,
                "multi_model": v.multi_model,
                "environment": dict(v.environment),
            }
            prior = old.get(v.name)
            same = prior and all(
                prior.get(k) == row[k]
                for k in (
                    "model_data",
                    "code_uri",
                    "entry_point",
                    "instance_count",
                    "instance_type",
                    "multi_model",
                    "environment",
                )
            )
            if same and _scaling(spec) == (previous or {}).get("scaling"):
                row.update(app=prior["app"], key=prior["key"])
            else:
                row.update(app=f"rm-{name}-{v.name}-g{generation}", key=secrets.token_hex(16))
            variants.append(row)
        now = time.time()
        state = {
            "name": name,
            "spec": spec.model_dump(mode="json", exclude_none=True),
            "status": "Updating" if previous else "Creating",
            "generation": generation,
            "variants": variants,
            "scaling": _scaling(spec),
            "created_at": (previous or {}).get("created_at", now),
            "updated_at": now,
            "failure_reason": None,
            "url": (previous or {}).get("url"),
        }
        creating = previous is None or previous["status"] == "Failed"
        self.store.write_json(
            state_key(name), state if creating else {**previous, "status": "Updating"}
        )
        started = time.perf_counter()
        fresh = [v for v in variants if v["app"] not in {p["app"] for p in old.values()}]
        try:
            connect(self.settings)
            gateway = self._gateway()
            self._run_apps(spec, fresh)
            import ray

            state["url"] = ray.get(gateway.start.remote())
            ray.get(gateway.set_endpoint.remote(name, self._route(spec, state)))
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
            if creating:
                self.store.write_json(
                    state_key(name), {**state, "status": "Failed", "failure_reason": reason}
                )
            else:  # as SageMaker: a failed update leaves the endpoint serving as it was
                self.store.write_json(
                    state_key(name), {**previous, "failure_reason": f"update failed: {reason}"}
                )
            self._delete_apps([v["app"] for v in fresh])
            raise
        retired = [p["app"] for p in old.values() if p["app"] not in {v["app"] for v in variants}]
        if retired:
            ray.get(gateway.retire.remote(retired))
            self._delete_apps(retired)
        state.update(status="InService", deploy_seconds=round(time.perf_counter() - started, 3))
        self.store.write_json(state_key(name), state)
        return state

    def apply(self, spec: Endpoint, *, base_dir: str | None = None) -> dict:
        """Make ``spec`` the endpoint's desired state: create it, or update it in place."""
        exists = spec.name and self.store.exists(state_key(spec.name))
        live = exists and self.state(spec.name)["status"] != "Failed"
        return self.deploy(spec, update=bool(live), base_dir=base_dir)

    def update(self, name: str, spec: Endpoint, *, base_dir: str | None = None) -> dict:
        """Change ``name`` to ``spec``: a rolling update (no request fails meanwhile)."""
        return self.deploy(spec.model_copy(update={"name": name}), update=True, base_dir=base_dir)

    def rolled_spec(self, name: str, *, model_data: str | None = None,
                    instance_count: int | None = None, entry_point: str | None = None,
                    source_dir: str | None = None) -> Endpoint:  # fmt: skip
        """``name``'s spec with every variant rolled to another model and/or replica count."""
        from raymaker.specs import parse_spec

        raw = self.state(name)["spec"]
        for v in raw["variants"]:
            if model_data is not None:
                v["model_data"] = model_data
            if entry_point is not None:
                v.update(entry_point=entry_point, source_dir=source_dir)
            if instance_count is not None:
                v["instance_count"] = instance_count
        return parse_spec({"kind": "Endpoint", **raw}, source=f"endpoint {name}")

    def roll(
        self,
        name: str,
        *,
        model_data: str | None = None,
        instance_count: int | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
    ) -> dict:
        """Roll every variant of ``name`` to another model and/or replica count."""
        spec = self.rolled_spec(name, model_data=model_data, instance_count=instance_count,
                                entry_point=entry_point, source_dir=source_dir)  # fmt: skip
        return self.deploy(spec, update=True)

    def delete(self, name: str) -> None:
        """Stop routing, stop the replicas, forget the state (captured data stays)."""
        state = self.state(name)
        try:
            connect(self.settings)
            import ray

            gateway = self._gateway(start=False)
            apps = ray.get(gateway.remove_endpoint.remote(name))
            ray.get(gateway.retire.remote(apps))
        except Exception:  # noqa: BLE001 - no gateway: nothing routes there anyway
            pass
        self._delete_apps([v["app"] for v in state["variants"]])
        self.store.delete(join(layout.ENDPOINTS, name), recursive=True)

    # -- helpers -------------------------------------------------------------------------------
    def _model_uri(self, v) -> tuple[str, str | None, str | None, dict | None]:
        """``(artifact URI, registered manifest hash, registry reference, registered handler)``
        of a variant's model, checked before any replica starts. Raises SpecError, NotFound,
        DataError."""
        from raymaker.registry.registry import is_reference, resolve_model

        uri = v.model_data
        if is_reference(uri):
            if v.multi_model:
                raise SpecError(
                    f"variants.{v.name}.model_data: a multi-model endpoint takes a prefix of "
                    "models, not a registry reference"
                )
            try:
                uri, sha256, version = resolve_model(self.store, uri)
            except (NotFound, SpecError, DataError) as e:
                raise type(e)(f"variants.{v.name}.model_data: {e}") from None
            if not v.entry_point and not version.inference:
                try:
                    check_builtin(read_manifest(self.store, uri))
                except SpecError as e:
                    raise SpecError(f"variants.{v.name}: {e}") from None
            return uri, sha256, version.ref, version.inference or None
        key = self.store.key(uri)
        if v.multi_model:
            if not self.store.list(key):
                raise NotFound(f"variants.{v.name}.model_data: no models under {uri}")
            return self.store.uri(key), None, None, None
        try:
            manifest = read_manifest(self.store, uri)
        except NotFound as e:
            raise NotFound(f"variants.{v.name}.model_data: {e}") from None
        if manifest is not None and not v.entry_point:
            try:
                check_builtin(manifest)
            except SpecError as e:
                raise SpecError(f"variants.{v.name}: {e}") from None
        return self.store.uri(key), None, None, None

    def _stage_code(self, name: str, v, generation: int, base_dir: str | None) -> str | None:
        if not v.entry_point:
            return None
        source = v.source_dir or "."
        local = source if os.path.isabs(source) else os.path.join(base_dir or os.getcwd(), source)
        target = join(layout.ENDPOINTS, name, "code", f"{v.name}-g{generation}")
        if os.path.isdir(local):
            if not os.path.exists(os.path.join(local, v.entry_point)):
                raise SpecError(
                    f"variants.{v.name}.entry_point: {v.entry_point!r} is not in {local}"
                )
            return self.store.put_dir(local, target)
        key = self.store.key(source)
        if not self.store.exists(join(key, v.entry_point)):
            raise SpecError(f"variants.{v.name}.entry_point: {v.entry_point!r} is not in {source}")
        return self.store.uri(key)

    def _gateway(self, start: bool = True):
        import ray

        try:
            return ray.get_actor(self.gateway_name, namespace=NAMESPACE)
        except ValueError:
            if not start:
                raise NotFound("the endpoints' gateway is not running") from None
        from raymaker.serve.gateway import Gateway

        s = self.settings
        actor = (
            ray.remote(Gateway)
            .options(
                name=self.gateway_name,
                namespace=NAMESPACE,
                lifetime="detached",
                get_if_exists=True,
                num_cpus=0,
                # On the head: the ingress has one known address, the one a cluster exposes.
                resources={"node:__internal_head__": 0.001},
                max_concurrency=10_000,
                max_restarts=-1,
            )
            .remote(s.serve_host, s.serve_port, s.serve_token, int(s.serve_max_body_mb * (1 << 20)))
        )
        try:
            ray.get(actor.start.remote(), timeout=60)
        except Exception as e:
            raise ClusterError(f"the endpoints' gateway did not start: {e}") from e
        return actor

    def _route(self, spec: Endpoint, state: dict) -> dict:
        scaling = state["scaling"]
        capture = None
        if spec.data_capture and spec.data_capture.sampling_percentage > 0:
            dest = spec.data_capture.destination_uri
            capture = {
                "percentage": spec.data_capture.sampling_percentage,
                "prefix": self.store.key(dest) if dest else layout.CAPTURE,
                "store": self.settings.job_env(),
            }
        return {
            "variants": [
                {
                    **{k: v[k] for k in ("name", "app", "key", "weight", "shadow")},
                    "standin": self._standin(spec.name, state, v),
                }
                for v in state["variants"]
            ],
            "max_concurrency": scaling["limit"],
            "serverless": spec.serverless is not None,
            "capture": capture,
            "multi_model": any(v["multi_model"] for v in state["variants"]),
        }

    def _run_apps(self, spec: Endpoint, variants: list[dict]) -> None:
        if not variants:
            return
        from ray import serve

        from raymaker.serve.replica import EndpointReplica

        serve.start(http_options={"location": "NoServer"})
        scaling = _scaling(spec)
        targets = []
        from raymaker.placement import check_fits

        for v in variants:
            resources = self.settings.resources_for(v["instance_type"])
            check_fits(resources, v["instance_type"], what=f"a replica of variant {v['name']}")
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
            if scaling["autoscaling"]:
                options["autoscaling_config"] = scaling["autoscaling"]
            else:
                options["num_replicas"] = v["instance_count"]
            config = self._replica_config(spec.name, v)
            app = serve.deployment(EndpointReplica).options(**options).bind(config)
            targets.append(serve.RunTarget(app, name=v["app"], route_prefix=None))
        try:
            serve.run_many(targets, wait_for_applications_running=True)
        except Exception as e:
            raise ClusterError(f"endpoint {spec.name!r}: replicas did not start: {e}") from e

    def _replica_config(self, name: str, v: dict) -> dict:
        """What a replica of variant ``v`` (or a spare standing in for one) loads."""
        return {
            "endpoint": name,
            "variant": v["name"],
            "app": v["app"],
            "key": v["key"],
            "model_data": v["model_data"],
            "model_sha256": v.get("model_sha256"),
            "code_uri": v["code_uri"],
            "code_sha256": v.get("code_sha256"),
            "entry_point": v["entry_point"],
            "multi_model": v["multi_model"],
            "store_env": self.settings.job_env(),
            "gateway": self.gateway_name,
            "environment": v.get("environment") or {},
        }

    def _standin(self, name: str, state: dict, v: dict) -> dict | None:
        """The config a spare loads to stand in for ``v``'s first replica, when one may: the
        variant can scale to zero, is not a shadow or multi-model, wants no GPU, and its model
        is at most ``spare.MAX_MODEL_BYTES``."""
        from raymaker.serve.spare import MAX_MODEL_BYTES

        auto = state["scaling"]["autoscaling"]
        if not self.settings.serve_spare or not auto or auto["min_replicas"] != 0:
            return None
        if v["shadow"] or v["multi_model"]:
            return None
        if self.settings.resources_for(v["instance_type"]).get("gpus", 0):
            return None
        key = self.store.key(v["model_data"])
        if self.store.size(key) > MAX_MODEL_BYTES:
            return None
        manifest = read_manifest(self.store, v["model_data"]) or {}
        return {**self._replica_config(name, v), "framework": manifest.get("framework")}

    def _delete_apps(self, apps: list[str]) -> None:
        if not apps:
            return
        try:
            from ray import serve

            for app in apps:
                serve.delete(app, _blocking=False)
        except Exception:  # noqa: BLE001 - best effort: nothing routes to them any more
            pass


def _scaling(spec: Endpoint) -> dict:
    """Serve's autoscaling config (or None: fixed replicas) and the gateway's in-flight limit."""
    counts = [v.instance_count for v in spec.variants]
    if spec.serverless:
        s = spec.serverless
        auto = {
            "min_replicas": 0,
            "max_replicas": max(1, math.ceil(s.max_concurrency / 8)),
            "target_ongoing_requests": 8,
            "downscale_to_zero_delay_s": s.idle_timeout_s,
        }
        limit = s.max_concurrency
    elif spec.autoscaling:
        a = spec.autoscaling
        auto = {
            "min_replicas": a.min_replicas,
            "max_replicas": a.max_replicas,
            "target_ongoing_requests": a.target_concurrency,
        }
        if a.min_replicas == 0:
            auto["downscale_to_zero_delay_s"] = 300.0
        limit = a.max_replicas * QUEUE_PER_REPLICA
    elif 0 in counts:
        auto = {
            "min_replicas": 0,
            "max_replicas": max(1, max(counts)),
            "target_ongoing_requests": 8,
            "downscale_to_zero_delay_s": 300.0,
        }
        limit = max(1, max(counts)) * QUEUE_PER_REPLICA
    else:
        auto, limit = None, max(counts) * QUEUE_PER_REPLICA
    if auto is not None:
        auto.update(
            metrics_interval_s=0.5,
            look_back_period_s=5.0,
            upscale_delay_s=1.0,
            downscale_delay_s=min(30.0, auto.get("downscale_to_zero_delay_s", 30.0)),
            policy={"policy_function": POLICY},
        )
        auto["initial_replicas"] = auto["min_replicas"]
    return {"autoscaling": auto, "limit": limit}


def run_endpoint(spec: Endpoint, ctx) -> dict:
    """The ``Endpoint`` kind's run: apply the desired state (create, or update in place) from
    the job's driver. Returns the endpoint's name, status, URL and generation."""
    state = Endpoints(ctx.settings, ctx.store).apply(spec)
    return {k: state.get(k) for k in ("name", "status", "url", "generation", "deploy_seconds")}
