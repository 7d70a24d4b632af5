"""An execution's drift report: one HTML page (``raymaker.data.charts``, Plotly offline).

Per feature: baseline and current distributions side by side (the KLL buckets on the
baseline's bucket edges, or category shares), the method, statistic, threshold and verdict,
and the violations of the window.
"""

from __future__ import annotations

import numpy as np

from raymaker.data import charts
from raymaker.monitor.stats import category_counts, common, weighted_items

MAX_FIGURES = 24  # drifted features first, then the rest in order
TOP_CATEGORIES = 20


def drift_page(name: str, window: tuple[str, str], baseline: dict, current: dict,
               violations: list[dict], drift: dict[str, dict]) -> str:  # fmt: skip
    """The page of one execution (``window``: its start and end as dates)."""
    import plotly.graph_objects as go

    base = {f["name"]: f for f in baseline.get("features", [])}
    now = {f["name"]: f for f in current.get("features", [])}
    facts = {
        "execution": name,
        "window": f"{window[0]} → {window[1]}",
        "rows": f"{current.get('dataset', {}).get('item_count', 0):,}",
        "violations": len(violations),
        "drifted": sum(1 for d in drift.values() if d["drifted"]),
    }
    rows = []
    for fname in [*base, *(n for n in now if n not in base)]:
        d = drift.get(fname, {})
        c = common(now[fname]) if fname in now else {}
        rows.append([
            fname,
            (base.get(fname) or now.get(fname) or {}).get("inferred_type", ""),
            c.get("num_present", "missing"),
            c.get("num_missing", ""),
            d.get("method", ""),
            d.get("statistic", ""),
            d.get("threshold", ""),
            "drift" if d.get("drifted") else ("ok" if d else ""),
        ])  # fmt: skip
    body = "<h2>Features</h2>" + charts.card(
        "Drift by feature",
        charts.table(
            [
                "feature",
                "type",
                "present",
                "missing",
                "method",
                "statistic",
                "threshold",
                "verdict",
            ],
            rows,
        ),  # fmt: skip
        "p-value methods (ks, chisquare) drift below the threshold; distances above it",
    )
    body += _violations(violations, "feature", "feature_name")
    shown = sorted(
        (n for n in base if n in now), key=lambda n: (not drift.get(n, {}).get("drifted"),)
    )[:MAX_FIGURES]
    cards = []
    for fname in shown:
        fig = _distribution(go, base[fname], now[fname])
        if fig is None:
            continue
        d = drift.get(fname)
        note = f"{d['method']} {d['statistic']:.4g} (threshold {d['threshold']:g})" if d else ""
        cards.append(charts.card(fname, charts.figure(fig, height=260), note))
    if cards:
        body += "<h2>Distributions</h2>" + f'<div class="grid">{"".join(cards)}</div>'
    return charts.page(f"Data quality: {name}", facts, body)


def _distribution(go, base: dict, current: dict):
    """Baseline and current shares of each bucket or category (None: nothing to draw)."""
    if "numerical_statistics" in base and "numerical_statistics" in current:
        a, b = weighted_items(base), weighted_items(current)
        if a is None or b is None:
            return None
        low, high = min(a[0][0], b[0][0]), max(a[0][-1], b[0][-1])
        edges = np.linspace(low, high, 21) if high > low else np.array([low - 0.5, high + 0.5])
        x = (edges[:-1] + edges[1:]) / 2
        ys = [np.histogram(v, edges, weights=w)[0] / w.sum() for v, w in (a, b)]
    else:
        ca, cb = category_counts(base), category_counts(current)
        if not ca and not cb:
            return None
        keys = sorted(set(ca) | set(cb), key=lambda k: -(ca.get(k, 0) + cb.get(k, 0)))
        keys = keys[:TOP_CATEGORIES]
        x = [k.replace("\x00other", "(other)") for k in keys]
        ta, tb = sum(ca.values()) or 1, sum(cb.values()) or 1
        ys = [[c.get(k, 0) / t for k in keys] for c, t in ((ca, ta), (cb, tb))]
    fig = go.Figure()
    for label, y, color in zip(("baseline", "current"), ys, charts.COLORS, strict=False):
        fig.add_trace(go.Bar(x=x, y=y, name=label, marker_color=color, opacity=0.8))
    fig.update_layout(barmode="group", yaxis_title="share", legend={"orientation": "h"})
    return fig


def quality_page(name: str, window: tuple[str, str], problem_type: str, current: dict,
                 rules: dict, violations: list[dict]) -> str:  # fmt: skip
    """The page of one model quality execution: each metric against its threshold, the
    confusion matrix, the violations."""
    from raymaker.monitor.quality import SECTIONS

    section, rules_section = SECTIONS[problem_type]
    found = current.get(section, {})
    limits = rules.get(rules_section) or {}
    broken = {v["metric_name"] for v in violations}
    rows = []
    for metric, entry in found.items():
        if "value" not in entry:
            continue
        rule = limits.get(metric, {})
        verdict = "violated" if metric in broken else ("ok" if rule else "")
        std = entry.get("standard_deviation", "")
        op, limit = rule.get("comparison_operator", ""), rule.get("threshold", "")
        rows.append([metric, entry["value"], std, op, limit, verdict])
    facts = {
        "execution": name,
        "window": f"{window[0]} → {window[1]}",
        "problem": problem_type,
        "rows": f"{current.get('dataset', {}).get('item_count', 0):,}",
        "violations": len(violations),
    }
    body = "<h2>Metrics</h2>" + charts.card(
        "Metrics against the baseline's constraints",
        charts.table(
            ["metric", "value", "std dev", "violated when", "threshold", "verdict"], rows
        ),  # fmt: skip
    )
    matrix = found.get("confusion_matrix")
    if matrix:
        labels = list(matrix)
        body += "<h2>Confusion matrix</h2>" + charts.card(
            "Rows: true label; columns: predicted",
            charts.table(
                ["", *labels], [[a, *(matrix[a].get(b, 0) for b in labels)] for a in labels]
            ),  # fmt: skip
        )
    body += _violations(violations, "metric", "metric_name")
    return charts.page(f"Model quality: {name}", facts, body)


def clarify_page(name: str, analysis: dict) -> str:
    """A Clarify job's page: each bias metric by facet value, and the global SHAP values."""
    import plotly.graph_objects as go

    body = ""
    titles = (("pre_training_bias_metrics", "Pre-training bias"),
              ("post_training_bias_metrics", "Post-training bias"))  # fmt: skip
    for key, title in titles:
        section = analysis.get(key)
        if not section:
            continue
        rows = [
            [facet, entry["value_or_threshold"], m["name"], m["description"],
             "" if m.get("value") is None else m["value"], m.get("error", "")]
            for facet, entries in section["facets"].items()
            for entry in entries
            for m in entry["metrics"]
        ]  # fmt: skip
        body += f"<h2>{title}</h2>" + charts.card(
            f"label {section['label']} = {section['label_value_or_threshold']}",
            charts.table(["facet", "value", "metric", "description", "value", "note"], rows),
        )
    for method, labels in (analysis.get("explanations") or {}).items():
        for label, found in labels.items():
            shap = sorted(found["global_shap_values"].items(), key=lambda kv: kv[1])
            fig = go.Figure(go.Bar(x=[v for _, v in shap], y=[k for k, _ in shap],
                                   orientation="h", marker_color=charts.COLORS[0]))  # fmt: skip
            body += "<h2>Explanations</h2>" + charts.card(
                f"Global SHAP values for {label} ({method}, {found.get('method', '')})",
                charts.figure(fig, height=max(240, 22 * len(shap))),
                f"expected value {found['expected_value']:.4g}",
            )
    return charts.page(f"Clarify: {name}", {"job": name}, body)


def _violations(violations: list[dict], what: str, key: str) -> str:
    """The violations section (empty when there are none)."""
    if not violations:
        return ""
    rows = [[v[key], v["constraint_check_type"], v["description"]] for v in violations]
    return "<h2>Violations</h2>" + charts.card(
        f"{len(violations)} violation(s)", charts.table([what, "check", "description"], rows)
    )
