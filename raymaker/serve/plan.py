"""Planning an endpoint's change: which variants need new replicas, how they scale, what the
gateway routes. Pure functions of the spec, the previous state and the store (no Ray here).
"""

from __future__ import annotations

import math
import secrets

from raymaker.inference.reference import resolve
from raymaker.serve.state import EndpointState, VariantState
from raymaker.specs.endpoint import Endpoint
from raymaker.storage import join, layout, staging

POLICY = "raymaker.serve.autoscale:policy"
QUEUE_PER_REPLICA = 256


def plan_variants(store, settings, spec: Endpoint, previous: EndpointState | None,
                  generation: int, base_dir: str | None) -> list[VariantState]:  # fmt: skip
    """Each variant of ``spec`` resolved and pinned (its model checked before any replica
    starts); a variant whose replicas would not change keeps its Serve application.
    Raises SpecError, NotFound, DataError."""
    old = {v.name: v for v in (previous.variants if previous else [])}
    same_scaling = previous is not None and scaling(spec) == previous.scaling
    out = []
    for v in spec.variants:
        code_uri, entry_point = stage_code(store, spec.name, v, generation, base_dir)
        ref = resolve(
            store, v.model_data, entry_point=entry_point, code_uri=code_uri,
            environment=dict(v.environment), multi_model=v.multi_model,
            framework=v.framework, where=f"variants.{v.name}.model_data",
        )  # fmt: skip
        row = VariantState.of(
            v.name, ref, weight=v.weight, shadow=v.shadow, instance_count=v.instance_count,
            instance_type=v.instance_type, multi_model=v.multi_model,
        )  # fmt: skip
        prior = old.get(v.name)
        if same_scaling and row.same_replicas(prior):
            row.app, row.key = prior.app, prior.key
        else:
            row.app, row.key = f"rm-{spec.name}-{v.name}-g{generation}", secrets.token_hex(16)
        out.append(row)
    return out


def stage_code(
    store, name: str, v, generation: int, base_dir: str | None
) -> tuple[str | None, str | None]:
    """``(folder URI, entry point)`` of a variant's handler (a local one is copied under the
    endpoint), or ``(None, None)`` when it names no ``entry_point``. Raises SpecError."""
    if not v.entry_point:
        return None, None
    field = f"variants.{v.name}.entry_point"
    prefix = join(layout.ENDPOINTS, name, "code", f"{v.name}-g{generation}")
    return staging.stage_code(store, v.entry_point, v.source_dir, base_dir, prefix, field)


def replica_config(name: str, v: VariantState, settings, gateway: str) -> dict:
    """What a replica of variant ``v`` (or a spare standing in for one) is started with."""
    return {
        "endpoint": name,
        "variant": v.name,
        "app": v.app,
        "key": v.key,
        "multi_model": v.multi_model,
        "gateway": gateway,
        "model": v.model_ref(settings.job_env()).to_dict(),
        "max_body": int(settings.serve_max_body_mb * (1 << 20)),
    }


def route(store, settings, spec: Endpoint, state: EndpointState, gateway: str) -> dict:
    """The gateway's routing table for the endpoint: variants, weights, limits, capture."""
    capture = None
    if spec.data_capture and spec.data_capture.sampling_percentage > 0:
        dest = spec.data_capture.destination_uri
        capture = {
            "percentage": spec.data_capture.sampling_percentage,
            "prefix": store.key(dest) if dest else layout.CAPTURE,
            "store": settings.job_env(),
        }
    return {
        "variants": [
            {
                "name": v.name,
                "app": v.app,
                "key": v.key,
                "weight": v.weight,
                "shadow": v.shadow,
                "standin": standin(store, settings, state, v, gateway),
            }  # fmt: skip
            for v in state.variants
        ],
        "max_concurrency": state.scaling["limit"],
        "serverless": spec.serverless is not None,
        "capture": capture,
        "multi_model": any(v.multi_model for v in state.variants),
    }


def standin(store, settings, state: EndpointState, v: VariantState, gateway: str) -> dict | None:
    """The config a spare loads to stand in for ``v``'s first replica, when one may: the
    variant can scale to zero, is not a shadow or multi-model, wants no GPU, and its model
    is at most ``spare.MAX_MODEL_BYTES``."""
    from raymaker.serve.spare import MAX_MODEL_BYTES

    auto = state.scaling["autoscaling"]
    if not settings.serve_spare or not auto or auto["min_replicas"] != 0:
        return None
    if v.shadow or v.multi_model:
        return None
    if settings.resources_for(v.instance_type).get("gpus", 0):
        return None
    if store.size(store.key(v.model_data)) > MAX_MODEL_BYTES:
        return None
    return {**replica_config(state.name, v, settings, gateway), "framework": v.framework}


def scaling(spec: Endpoint) -> dict:
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
