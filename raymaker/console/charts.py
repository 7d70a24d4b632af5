"""The console's charts: the figures of raymaker's report pages (``data.charts``: one library,
one look), as the JSON a page draws with the bundled plotly.js."""

from __future__ import annotations

from raymaker.data import charts


def metric_figures(points: list[dict]) -> list[dict]:
    """One line chart per metric (hover and zoom included)."""
    return [{"name": name, **charts.as_json(fig)} for name, fig in charts.metric_figures(points)]


def trials_figure(trials: list[dict], metric: str, objective_type: str) -> dict | None:
    return _json(charts.trials_figure(trials, metric, objective_type))


def parallel_figure(trials: list[dict], metric: str) -> dict | None:
    return _json(charts.parallel_figure(trials, metric))


def _json(fig) -> dict | None:
    return charts.as_json(fig) if fig is not None else None
