"""A schedule's ModelBias and ModelExplainability executions (the ModelQuality and
DataQuality ones are in ``jobs``).

- **ModelBias**: the window's captured requests and answers merged with their ground truth,
  Clarify's post-training bias metrics on them (``bias``), and a ``bias_drift_check`` for
  each metric that moved more than ``bias_tolerance`` from the baseline's analysis.json.
- **ModelExplainability**: global SHAP values of the window's requests (``clarify.explain``)
  and the nDCG of their ranking against the baseline's; below ``attribution_threshold``
  (SageMaker's 0.90) it is a ``feature_attribution_drift_check``.
"""

from __future__ import annotations

import math

from raymaker.errors import DataError
from raymaker.monitor import bias, capture, clarify

PREDICTED = "__predicted__"


def model_bias(ctx, sched, spec) -> tuple[dict, list, dict]:
    from raymaker.monitor.jobs import merge_ground_truth, read_baseline, whole, window_frames
    from raymaker.monitor.report import clarify_page

    store = ctx.store
    frame = whole(window_frames(store, sched, spec.start, spec.end, sched.features or []),
                   "the window", allow_empty=True)  # fmt: skip
    if not len(frame):
        raise DataError("no data to analyze in the window")
    if sched.batch_transform_input is not None:
        label = sched.ground_truth_attribute
        merged = frame
    else:
        merged = merge_ground_truth(store, sched, frame, spec.start)
        label = "label"
    ctx.progress(stage="checking", force=True)
    answer = sched.inference_attribute or sched.prediction or "prediction"
    if answer not in merged.columns:
        raise DataError(f"the answers have no column {answer!r}; columns: "
                        f"{', '.join(map(str, merged.columns))}")  # fmt: skip
    b = sched.bias
    positive = b.label_values_or_threshold[0]
    predicted = clarify.predicted_labels(merged[answer].to_numpy(), merged[label], positive,
                                         sched.probability_threshold_attribute)  # fmt: skip
    labelled = merged.assign(**{PREDICTED: predicted})
    drop = [c for c in (*capture.META, answer) if c in labelled.columns]
    current = bias.report(labelled.drop(columns=drop), stage="post", predicted=PREDICTED,
                          label=label, label_values=b.label_values_or_threshold,
                          facet=b.facet_name, facet_values=b.facet_values_or_threshold,
                          group=b.group_name)  # fmt: skip
    baseline = read_baseline(store, sched.baseline_constraints or sched.baseline_statistics)
    before = baseline.get("post_training_bias_metrics") or {}
    violations = bias.check_drift(before, current, sched.bias_tolerance)
    analysis = {"version": "1.0", "post_training_bias_metrics": current}
    metrics = {
        f"{m['name']}:{facet}={entry['value_or_threshold']}": m["value"]
        for facet, entries in current["facets"].items()
        for entry in entries
        for m in entry["metrics"]
        if m.get("value") is not None
    }
    figures = {"items": len(labelled), "captured": len(frame), "metrics": metrics}
    return {"statistics.json": analysis, "report.html": clarify_page(ctx.name, analysis)}, \
        violations, figures  # fmt: skip


def model_explainability(ctx, sched, spec) -> tuple[dict, list, dict]:
    from raymaker.monitor.jobs import read_baseline, whole, window_frames
    from raymaker.monitor.report import clarify_page

    store = ctx.store
    baseline = read_baseline(store, sched.baseline_constraints or sched.baseline_statistics)
    before = _global_shap(baseline)
    features = sched.features or list(before)
    frame = whole(window_frames(store, sched, spec.start, spec.end, features), "the window",
                   allow_empty=True)  # fmt: skip
    if not len(frame):
        raise DataError("no data to analyze in the window")
    rows = frame[[c for c in features if c in frame.columns]]
    ctx.progress(stage="explaining", force=True)
    model = clarify.load_model(ctx, sched.model_data)
    found = clarify.explain(model, rows, sched.shap)
    score = ndcg(before, found["global_shap_values"])
    violations = []
    if score < sched.attribution_threshold:
        violations.append({
            "constraint_check_type": "feature_attribution_drift_check",
            "metric_name": "nDCG",
            "description": f"Feature attribution drift: nDCG {score:.4g} is below the "
            f"threshold {sched.attribution_threshold:g}",
        })  # fmt: skip
    label = next(iter(baseline.get("explanations", {}).get("kernel_shap", {}) or {"label": 0}))
    analysis = {"version": "1.0", "explanations": {"kernel_shap": {label: found}}, "ndcg": score}
    figures = {"items": len(rows), "ndcg": score}
    return {"statistics.json": analysis, "report.html": clarify_page(ctx.name, analysis)}, \
        violations, figures  # fmt: skip


def ndcg(baseline: dict[str, float], current: dict[str, float]) -> float:
    """SageMaker's attribution drift score: the DCG of the baseline's attributions taken in
    the current ranking's order, over the DCG of the baseline's own order (1.0: same ranks)."""
    if not baseline:
        return 1.0
    a = {k: abs(v) for k, v in baseline.items()}
    order = sorted(current, key=lambda k: -abs(current[k]))
    ideal = sorted(a.values(), reverse=True)
    dcg = sum(a.get(k, 0.0) / math.log2(i + 2) for i, k in enumerate(order))
    idcg = sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
    return dcg / idcg if idcg else 1.0


def _global_shap(analysis: dict) -> dict[str, float]:
    for labels in (analysis.get("explanations") or {}).values():
        for found in labels.values():
            return found.get("global_shap_values", {})
    raise DataError("the baseline has no explanations (global_shap_values): give a "
                    "ClarifyJob's analysis.json with explainability")  # fmt: skip
