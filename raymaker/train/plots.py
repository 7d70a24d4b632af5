"""A training job's metrics and a tuning job's trials as report pages: Plotly figures from
``data.charts``, the look of every raymaker report and of the console. A page loads Plotly's
library from ``asset``, a path relative to the page (written beside it: no CDN, offline)."""

from __future__ import annotations

from raymaker.data.charts import card, figure, metric_figures, page, parallel_figure, table
from raymaker.data.charts import trials_figure as objective_figure


def render_metrics_html(points: list[dict], *, title: str, asset: str = "plotly.min.js") -> str:
    """One chart per metric (value by step), each with its last, min and max."""
    from raymaker.train.metrics import summarize

    facts = {row["metric"]: row for row in summarize(points)}
    cards = []
    for name, fig in metric_figures(points):
        f = facts[name]
        note = (f"last {f['last']:.6g} · min {f['min']:.6g} · max {f['max']:.6g} · "
                f"{f['points']} points")  # fmt: skip
        cards.append(card(name, figure(fig), note))
    body = f'<div class="grid">{"".join(cards)}</div>' if cards else (
        "<p>No metrics were recorded.</p>")  # fmt: skip
    return page(title, {"metrics": len(cards), "points": len(points)}, body, asset=asset)


def render_tuning_html(rows, *, metric: str, objective_type: str, title: str,
                       asset: str = "plotly.min.js") -> str:  # fmt: skip
    """A tuning job's page: the objective by trial with the best so far, hyperparameters
    against the objective, and the trials."""
    trials = [r.to_dict() for r in sorted(rows, key=lambda r: r.number)]
    charts = [
        card(heading, figure(fig))
        for heading, fig in (("Objective by trial", objective_figure(trials, metric,
                                                                     objective_type)),
                             ("Hyperparameters vs objective", parallel_figure(trials, metric)))
        if fig is not None
    ]  # fmt: skip
    names = list(trials[0]["hyperparameters"]) if trials else []
    lines = [[t["number"], t["training_job"], t["status"], t["objective"],
              *(t["hyperparameters"].get(n) for n in names)] for t in trials]  # fmt: skip
    scored = [t["objective"] for t in trials if t["objective"] is not None
              and t["status"] == "SUCCEEDED"]  # fmt: skip
    facts = {"objective": f"{objective_type} {metric}", "trials": len(trials)}
    if scored:
        facts["best"] = f"{(max if objective_type == 'Maximize' else min)(scored):.6g}"
    body = (f'<div class="grid">{"".join(charts)}</div>' + card(
        "Trials", table(["#", "training job", "status", metric, *names], lines)))  # fmt: skip
    return page(title, facts, body, asset=asset)
