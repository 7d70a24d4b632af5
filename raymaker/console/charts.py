"""The console's charts: the figures of raymaker's report pages (``data.charts``: one library,
one look), as the JSON a page draws with the bundled plotly.js."""

from __future__ import annotations

from raymaker.data import charts


def metric_figures(points: list[dict]) -> list[dict]:
    """One line chart per metric (hover and zoom included)."""
    return [{"name": name, **charts.as_json(fig)} for name, fig in charts.metric_figures(points)]


def trials_figure(trials: list[dict], metric: str, objective_type: str) -> dict | None:
    fig = charts.trials_figure(trials, metric, objective_type)
    return charts.as_json(fig) if fig is not None else None


def parallel_figure(trials: list[dict], metric: str) -> dict | None:
    fig = charts.parallel_figure(trials, metric)
    if fig is None:
        return None
    out = charts.as_json(fig)
    out["figure"]["layout"]["margin"] = {"l": 60, "r": 40, "t": 90, "b": 30}
    out["figure"]["layout"]["hovermode"] = False
    return out
