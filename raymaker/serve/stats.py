"""Per endpoint and variant: requests, errors, latency. Kept in the gateway and exported
through Ray's metrics (Prometheus format, on each node's metrics port, where Ray prefixes
``ray_``) as ``ray_raymaker_endpoint_requests_total`` (tags: endpoint, variant, status) and
``ray_raymaker_endpoint_latency_seconds`` (a histogram)."""

from __future__ import annotations

import bisect

BOUNDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Stats:
    def __init__(self):
        self.rows: dict[tuple[str, str], dict] = {}
        self._counter = self._histogram = None
        try:
            from ray.util import metrics

            self._counter = metrics.Counter(
                "raymaker_endpoint_requests",
                description="Endpoint invocations.",
                tag_keys=("endpoint", "variant", "status"),
            )
            self._histogram = metrics.Histogram(
                "raymaker_endpoint_latency_seconds",
                description="Gateway latency.",
                boundaries=list(BOUNDS),
                tag_keys=("endpoint", "variant"),
            )
        except Exception:  # noqa: BLE001 - outside a Ray worker the in-memory figures remain
            pass

    def add(self, endpoint: str, variant: str, status: int, seconds: float) -> None:
        row = self.rows.get((endpoint, variant))
        if row is None:
            row = self.rows[(endpoint, variant)] = {
                "requests": 0,
                "errors_4xx": 0,
                "errors_5xx": 0,
                "buckets": [0] * (len(BOUNDS) + 1),
            }
        row["requests"] += 1
        if 400 <= status < 500:
            row["errors_4xx"] += 1
        elif status >= 500:
            row["errors_5xx"] += 1
        row["buckets"][bisect.bisect_left(BOUNDS, seconds)] += 1
        if self._counter is not None:
            self._counter.inc(
                tags={"endpoint": endpoint, "variant": variant, "status": str(status)}
            )
            self._histogram.observe(seconds, tags={"endpoint": endpoint, "variant": variant})

    def summary(self, endpoint: str, variant: str) -> dict:
        row = self.rows.get((endpoint, variant))
        if row is None:
            return {
                "requests": 0,
                "errors_4xx": 0,
                "errors_5xx": 0,
                "latency_p50_ms": None,
                "latency_p99_ms": None,
            }
        return {
            "requests": row["requests"],
            "errors_4xx": row["errors_4xx"],
            "errors_5xx": row["errors_5xx"],
            "latency_p50_ms": _quantile(row["buckets"], 0.5),
            "latency_p99_ms": _quantile(row["buckets"], 0.99),
        }


def _quantile(buckets: list[int], q: float) -> float | None:
    """The upper bound (ms) of the bucket holding quantile ``q``; None when there is no data, or
    when it lies past the last bucket (no bound to report; JSON has no Infinity)."""
    total = sum(buckets)
    if not total:
        return None
    seen = 0
    for i, n in enumerate(buckets):
        seen += n
        if seen >= q * total:
            return BOUNDS[i] * 1000 if i < len(BOUNDS) else None
    return None
