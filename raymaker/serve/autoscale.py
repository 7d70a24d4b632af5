"""The autoscaling policy Serve runs for endpoint replicas.

Serve counts the requests that pass through its handles (cold starts, multi-model); the data
plane's requests reach replicas directly, and each replica reports those as the custom metric
``inflight``. The desired count is both together over ``target_ongoing_requests``. Serve's
wrapper applies min/max, the delays (``downscale_to_zero_delay_s`` is the serverless idle
timeout) and its cold-start fast path (a request waiting at zero replicas starts one at once).
"""

from __future__ import annotations


def policy(ctx) -> tuple[float, dict]:
    """``(desired replicas, state)`` for one control-loop tick."""
    running = ctx.current_num_replicas
    if running == 0:
        return ctx.target_num_replicas, {}
    direct = 0.0
    metrics = ctx.aggregated_metrics or {}
    for value in (metrics.get("inflight") or {}).values():
        direct += float(value)
    target = ctx.config.get_target_ongoing_requests()
    return running * (ctx.total_num_requests + direct) / (target * running), {}
