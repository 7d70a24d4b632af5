"""The monitors' Prometheus gauges, beside the endpoints' metrics (Ray's metrics port, where
Ray prefixes ``ray_``):

- ``raymaker_monitor_violations`` (schedule, endpoint, monitor_type): the latest execution's
  violations;
- ``raymaker_monitor_drift`` (schedule, endpoint, feature, method): each feature's drift
  statistic in the latest data quality execution;
- ``raymaker_monitor_metric`` (schedule, endpoint, metric): model quality metrics, bias
  metrics' and attribution nDCG figures of the latest execution.

The scheduler actor (a long-lived process) sets them; executions are short jobs whose own
metrics would disappear with them. ``values`` is the pure part: what the gauges should read.
"""

from __future__ import annotations

GAUGES = {
    "raymaker_monitor_violations": ("Violations in the latest monitoring execution.",
                                    ("schedule", "endpoint", "monitor_type")),
    "raymaker_monitor_drift": ("A feature's drift statistic in the latest execution.",
                               ("schedule", "endpoint", "feature", "method")),
    "raymaker_monitor_metric": ("A model quality, bias or attribution figure of the latest "
                                "execution.", ("schedule", "endpoint", "metric")),
}  # fmt: skip


def values(store) -> list[tuple[str, dict, float]]:
    """``(gauge, tags, value)`` for every schedule's latest finished execution."""
    from raymaker.errors import NotFound
    from raymaker.jobs.records import read_record
    from raymaker.monitor import schedules

    out = []
    for state in schedules.list_states(store):
        if not state.last_execution:
            continue
        try:
            result = read_record(store, state.last_execution).result or {}
        except NotFound:
            continue
        sched = state.schedule
        base = {"schedule": state.name, "endpoint": sched.endpoint or ""}
        out.append(("raymaker_monitor_violations",
                    {**base, "monitor_type": sched.monitor_type},
                    float(result.get("violations") or 0)))  # fmt: skip
        for feature, figure in (result.get("drift") or {}).items():
            method = (result.get("drift_methods") or {}).get(feature, "")
            out.append(("raymaker_monitor_drift", {**base, "feature": feature, "method": method},
                        float(figure)))  # fmt: skip
        for metric, value in (result.get("metrics") or {}).items():
            if isinstance(value, int | float):
                out.append(("raymaker_monitor_metric", {**base, "metric": metric}, float(value)))
        if isinstance(result.get("ndcg"), int | float):
            out.append(("raymaker_monitor_metric", {**base, "metric": "nDCG"},
                        float(result["ndcg"])))  # fmt: skip
    return out


class Gauges:
    """Ray's gauges, made once in the scheduler's process."""

    def __init__(self):
        from ray.util import metrics

        self.gauges = {
            name: metrics.Gauge(name, description=text, tag_keys=tags)
            for name, (text, tags) in GAUGES.items()
        }

    def publish(self, store) -> int:
        found = values(store)
        for name, tags, value in found:
            self.gauges[name].set(value, tags=tags)
        return len(found)
