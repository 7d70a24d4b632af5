"""The console's charts as Plotly figures (JSON the page draws with the bundled plotly.js):
the same library, colours and look as raymaker's report pages (``data.charts``)."""

from __future__ import annotations

import json

from raymaker.data.charts import COLORS, CONFIG

LAYOUT = {"template": "plotly_white", "font": {"size": 12}, "height": 300,
          "margin": {"l": 55, "r": 16, "t": 36, "b": 44}, "hovermode": "x unified"}  # fmt: skip


def _figure(fig) -> dict:
    fig.update_layout(**LAYOUT)
    return {"figure": json.loads(fig.to_json()), "config": CONFIG}


def metric_figures(points: list[dict]) -> list[dict]:
    """One line chart per metric (by step, else by time), hover and zoom included."""
    import plotly.graph_objects as go

    series: dict[str, list[dict]] = {}
    for p in points:
        series.setdefault(p["name"], []).append(p)
    out = []
    for i, (name, rows) in enumerate(sorted(series.items())):
        by_step = all(r.get("step") is not None for r in rows)
        xs = [r["step"] if by_step else r.get("time") for r in rows]
        fig = go.Figure(go.Scatter(x=xs, y=[r["value"] for r in rows], mode="lines+markers"
                                   if len(rows) < 60 else "lines", name=name,
                                   line={"color": COLORS[i % len(COLORS)]}))  # fmt: skip
        fig.update_layout(title=name, xaxis_title="step" if by_step else "time")
        out.append({"name": name, **_figure(fig)})
    return out


def trials_figure(trials: list[dict], metric: str, objective_type: str) -> dict | None:
    """Objective by trial, with the best so far as a step line."""
    import plotly.graph_objects as go

    done = sorted((t for t in trials if t.get("objective") is not None),
                  key=lambda t: t["number"])  # fmt: skip
    if not done:
        return None
    better = max if objective_type == "Maximize" else min
    best, running = [], None
    for t in done:
        running = t["objective"] if running is None else better(running, t["objective"])
        best.append(running)
    xs = [t["number"] for t in done]
    fig = go.Figure([
        go.Scatter(x=xs, y=[t["objective"] for t in done], mode="markers", name=metric,
                   text=[t["training_job"] for t in done], marker={"color": COLORS[0], "size": 8}),
        go.Scatter(x=xs, y=best, mode="lines", name="best so far", line_shape="hv",
                   line={"color": COLORS[2], "dash": "dash"}),
    ])  # fmt: skip
    fig.update_layout(title=f"{metric} by trial ({objective_type})", xaxis_title="trial")
    return _figure(fig)


def parallel_figure(trials: list[dict], metric: str) -> dict | None:
    """Hyperparameters against the objective: parallel coordinates, one line a trial."""
    import plotly.graph_objects as go

    done = [t for t in trials if t.get("objective") is not None]
    names = sorted({k for t in done for k in (t.get("hyperparameters") or {})})
    if len(done) < 2 or not names:
        return None
    dims = []
    for name in names:
        values = [(t.get("hyperparameters") or {}).get(name) for t in done]
        if all(isinstance(v, int | float) for v in values):
            dims.append({"label": name, "values": values})
        else:  # categorical: numbered, labelled
            labels = sorted({str(v) for v in values})
            dims.append({"label": name, "values": [labels.index(str(v)) for v in values],
                         "tickvals": list(range(len(labels))), "ticktext": labels})  # fmt: skip
    objective = [t["objective"] for t in done]
    dims.append({"label": metric, "values": objective})
    fig = go.Figure(go.Parcoords(line={"color": objective, "colorscale": "Viridis",
                                       "showscale": True}, dimensions=dims))  # fmt: skip
    out = _figure(fig)
    out["figure"]["layout"].update(  # axis names sit above the axes: room for them and the title
        title={"text": "hyperparameters vs objective", "y": 0.98}, hovermode=False,
        margin={"l": 60, "r": 40, "t": 90, "b": 30})  # fmt: skip
    return out
