"""Endpoints: deploy, update, describe, list and delete, over three modules that each own one
part — ``state`` (what the store holds), ``plan`` (what a change means) and ``apps`` (Serve
applications and the gateway).

Each variant of each generation is one Serve application (``rm-<endpoint>-<variant>-g<n>``).
An update starts the changed variants' new applications, waits until they run, points the
gateway at them, lets the old ones answer what they hold, then deletes them: requests never
fail during an update.
"""

from __future__ import annotations

import time

from raymaker.cluster import connect
from raymaker.errors import Conflict, NotFound, SpecError
from raymaker.serve import apps, plan
from raymaker.serve.state import EndpointState, exists, list_states, read_state, write_state
from raymaker.specs.endpoint import Endpoint
from raymaker.storage.artifacts import read_manifest


class Endpoints:
    """Deploy, update, describe, list and delete the endpoints of one store and cluster."""

    def __init__(self, settings, store):
        self.store = store
        self.settings = settings
        self.gateway_name = apps.gateway_name(settings)

    # -- reading -------------------------------------------------------------------------------
    def state(self, name: str) -> dict:
        """The stored state of ``name`` as JSON. Raises NotFound."""
        return read_state(self.store, name).model_dump(mode="json")

    def list(self) -> list[dict]:
        return [
            {"name": s.name, "status": s.status, "url": s.url,
             "variants": ",".join(v.name for v in s.variants), "updated_at": s.updated_at}
            for s in list_states(self.store)
        ]  # fmt: skip

    def describe(self, name: str) -> dict:
        """The state plus live figures from the gateway (requests, errors, latency, replicas)."""
        state = read_state(self.store, name)
        out = state.model_dump(mode="json")
        try:
            import ray

            connect(self.settings)
            live = ray.get(
                apps.gateway(self.settings, start=False).describe.remote(name), timeout=10
            )
            out["replicas"] = apps.replicas(state)
        except Exception:  # noqa: BLE001 - the cluster may be down; the stored state remains
            live = {}
        out["metrics"] = live
        return out

    def lineage(self, name: str) -> list[dict]:
        """Where each variant's model came from: its registry version (job, data, code) or, for
        a model given by URI, the lineage its manifest records. Raises NotFound."""
        from raymaker.registry.registry import ModelRegistry, parse_reference

        rows = []
        for v in read_state(self.store, name).variants:
            if v.registry:
                group, number = parse_reference(v.registry)
                row = ModelRegistry(self.store).lineage(group, int(number))
            else:
                lineage = (read_manifest(self.store, v.model_data) or {}).get("lineage") or {}
                row = {
                    "model": v.model_data,
                    "training_job": lineage.get("job"),
                    "tuning_job": lineage.get("tuning_job"),
                    "data": lineage.get("data") or {},
                    "code_sha256": lineage.get("code_sha256"),
                    "hyperparameters": lineage.get("hyperparameters") or {},
                }
            rows.append({"endpoint": name, "variant": v.name, **row})
        return rows

    def url(self, name: str) -> str:
        return f"{read_state(self.store, name).url}/endpoints/{name}/invocations"

    # -- changing ------------------------------------------------------------------------------
    def deploy(self, spec: Endpoint, *, update: bool = False, base_dir: str | None = None) -> dict:
        """Create (or with ``update``, change) the endpoint; returns its state when InService.

        Raises Conflict, NotFound, SpecError (before anything starts), ClusterError.
        """
        name = spec.name
        if not name:
            raise SpecError("name: an endpoint needs a name")
        from raymaker.jobs.checks import check

        check(spec, self.settings)  # every variant's instance type, before any state is written
        previous = read_state(self.store, name) if exists(self.store, name) else None
        if previous and not update and previous.status != "Failed":
            raise Conflict(f"endpoint {name!r} exists; update it or delete it first")
        if update and previous is None:
            raise NotFound(f"endpoint {name!r} does not exist")
        self.settings.check_serve()
        generation = (previous.generation if previous else 0) + 1
        variants = plan.plan_variants(self.store, self.settings, spec, previous, generation,
                                      base_dir)  # fmt: skip
        now = time.time()
        state = EndpointState(
            name=name, spec=spec.model_dump(mode="json", exclude_none=True),
            status="Updating" if previous else "Creating", generation=generation,
            variants=variants, scaling=plan.scaling(spec),
            created_at=previous.created_at if previous else now, updated_at=now,
            url=previous.url if previous else None,
        )  # fmt: skip
        creating = previous is None or previous.status == "Failed"
        write_state(
            self.store, state if creating else previous.model_copy(update={"status": "Updating"})
        )
        started = time.perf_counter()
        running = set(previous.apps()) if previous else set()
        try:
            import ray

            connect(self.settings)
            # What Serve runs, not what the state says: after a head restart nothing does,
            # and an update to the same model must start it again.
            live = running & apps.live_apps()
            fresh = [v for v in variants if v.app not in live]
            gateway = apps.gateway(self.settings)
            apps.run_apps(self.settings, spec, fresh)
            state.url = ray.get(gateway.start.remote())
            route = plan.route(self.store, self.settings, spec, state, self.gateway_name)
            ray.get(gateway.set_endpoint.remote(name, route))
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
            if creating:
                failed = state.model_copy(update={"status": "Failed", "failure_reason": reason})
                write_state(self.store, failed)
            else:  # as SageMaker: a failed update leaves the endpoint serving as it was
                kept = previous.model_copy(update={"failure_reason": f"update failed: {reason}"})
                write_state(self.store, kept)
            apps.delete_apps([v.app for v in variants if v.app not in running])
            raise
        retired = sorted(running - set(state.apps()))
        if retired:
            ray.get(gateway.retire.remote(retired))
            apps.delete_apps(retired)
        state.status = "InService"
        state.deploy_seconds = round(time.perf_counter() - started, 3)
        write_state(self.store, state)
        return state.model_dump(mode="json")

    def apply(self, spec: Endpoint, *, base_dir: str | None = None) -> dict:
        """Make ``spec`` the endpoint's desired state: create it, or update it in place."""
        live = spec.name and exists(self.store, spec.name)
        live = live and read_state(self.store, spec.name).status != "Failed"
        return self.deploy(spec, update=bool(live), base_dir=base_dir)

    def update(self, name: str, spec: Endpoint, *, base_dir: str | None = None) -> dict:
        """Change ``name`` to ``spec``: a rolling update (no request fails meanwhile)."""
        return self.deploy(spec.model_copy(update={"name": name}), update=True, base_dir=base_dir)

    def rolled_spec(self, name: str, *, model_data: str | None = None,
                    instance_count: int | None = None, entry_point: str | None = None,
                    source_dir: str | None = None,
                    framework: str | None = None) -> Endpoint:  # fmt: skip
        """``name``'s spec with every variant rolled to another model and/or replica count."""
        from raymaker.specs import parse_spec

        raw = read_state(self.store, name).spec
        for v in raw["variants"]:
            if model_data is not None:
                v["model_data"] = model_data
                v["framework"] = framework  # the new model's, when made elsewhere
            if entry_point is not None:
                v.update(entry_point=entry_point, source_dir=source_dir)
            if instance_count is not None:
                v["instance_count"] = instance_count
        return parse_spec({"kind": "Endpoint", **raw}, source=f"endpoint {name}")

    def roll(self, name: str, *, model_data: str | None = None,
             instance_count: int | None = None, entry_point: str | None = None,
             source_dir: str | None = None, framework: str | None = None) -> dict:  # fmt: skip
        """Roll every variant of ``name`` to another model and/or replica count."""
        spec = self.rolled_spec(name, model_data=model_data, instance_count=instance_count,
                                entry_point=entry_point, source_dir=source_dir,
                                framework=framework)  # fmt: skip
        return self.deploy(spec, update=True)

    def restore(self, name: str) -> bool:
        """Bring an InService endpoint back as its state describes it (same generation,
        variants, weights, scaling, keys) when the cluster lacks its replicas or its route;
        whether anything was started. Raises ClusterError and the replicas' own errors."""
        import ray

        from raymaker.specs import parse_spec

        state = read_state(self.store, name)
        if state.status != "InService":
            return False
        connect(self.settings)
        gateway = apps.gateway(self.settings)
        live = apps.live_apps()
        missing = [v for v in state.variants if v.app not in live]
        routed = bool(ray.get(gateway.describe.remote(name), timeout=30))
        if not missing and routed:
            return False
        spec = parse_spec({"kind": "Endpoint", **state.spec}, source=f"endpoint {name}")
        started = time.perf_counter()
        apps.run_apps(self.settings, spec, missing)
        state.url = ray.get(gateway.start.remote())
        route = plan.route(self.store, self.settings, spec, state, self.gateway_name)
        ray.get(gateway.set_endpoint.remote(name, route))
        state.failure_reason = None
        state.deploy_seconds = round(time.perf_counter() - started, 3)
        write_state(self.store, state)
        return True

    def delete(self, name: str) -> None:
        """Stop routing, stop the replicas, forget the state (captured data stays)."""
        from raymaker.storage import join, layout

        state = read_state(self.store, name)
        try:
            import ray

            connect(self.settings)
            gateway = apps.gateway(self.settings, start=False)
            ray.get(gateway.retire.remote(ray.get(gateway.remove_endpoint.remote(name))))
        except Exception:  # noqa: BLE001 - no gateway: nothing routes there anyway
            pass
        apps.delete_apps(state.apps())
        self.store.delete(join(layout.ENDPOINTS, name), recursive=True)


def run_endpoint(spec: Endpoint, ctx) -> dict:
    """The ``Endpoint`` kind's run: apply the desired state (create, or update in place) from
    the job's driver. Returns the endpoint's name, status, URL and generation."""
    state = Endpoints(ctx.settings, ctx.store).apply(spec)
    return {k: state.get(k) for k in ("name", "status", "url", "generation", "deploy_seconds")}


def reconcile_endpoints(settings, store) -> dict:
    """The ``Endpoint`` kind's reconcile: restore every InService endpoint the cluster lacks.
    One that cannot start keeps serving nothing, says why in its ``failure_reason`` and does
    not stop the others."""
    endpoints = Endpoints(settings, store)
    restored, failed = [], {}
    for state in list_states(store):
        if state.status != "InService":
            continue
        try:
            if endpoints.restore(state.name):
                restored.append(state.name)
        except Exception as e:  # noqa: BLE001 - one endpoint's failure is reported, not fatal
            reason = f"{type(e).__name__}: {e}"
            failed[state.name] = reason
            write_state(
                store, state.model_copy(update={"failure_reason": f"restore failed: {reason}"})
            )
    return {"restored": restored, "failed": failed}
