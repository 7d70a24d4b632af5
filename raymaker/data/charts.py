"""Report pages drawn with Plotly, viewable offline.

A page is plain HTML: headings, tables and Plotly figures. Plotly's library is not inlined in
every page (4.8 MB each) nor fetched from a CDN: ``write_asset`` puts the copy that ships in
the ``plotly`` package once beside the reports (``assets/plotly.min.js``) and each page loads
it by a relative path, so a downloaded report folder opens anywhere, with no network.
"""

from __future__ import annotations

import html

ASSET = "plotly.min.js"
CONFIG = {"displaylogo": False, "responsive": True}
COLORS = ("#3d7bd9", "#d9822b", "#0f7b3f", "#8f398f", "#c23030", "#5c6370")

CSS = (
    "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;"
    "background:#f6f7f9;color:#1d2330}header{background:#1d2330;color:#fff;padding:20px 32px}"
    "header h1{margin:0 0 6px;font-size:22px}header .facts span{margin-right:22px;opacity:.9}"
    "main{padding:12px 32px 32px;max-width:1200px}h2{font-size:17px;margin:22px 0 8px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}"
    ".card{background:#fff;border-radius:6px;padding:12px 14px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.06)}.card h3{margin:0 0 4px;font-size:15px}"
    ".muted{color:#6b7280;font-size:12px}table{border-collapse:collapse;font-size:13px}"
    "td,th{padding:3px 10px;border-bottom:1px solid #eceef1;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.note{background:#fff;padding:8px 12px;"
    "border-left:4px solid #d9822b;border-radius:4px}"
)


def esc(value) -> str:
    return html.escape(str(value))


def figure(fig, *, height: int = 340) -> str:
    """A Plotly figure as an HTML fragment (the page loads the library)."""
    if fig.layout.margin.t is None:  # a figure that set its own margins keeps them
        fig.update_layout(margin={"l": 50, "r": 16, "t": 36, "b": 44})
    fig.update_layout(height=height, template="plotly_white", font={"size": 12})
    return fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG)


def table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in rows)  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card(title: str, body: str, note: str = "") -> str:
    muted = f'<div class="muted">{esc(note)}</div>' if note else ""
    return f'<section class="card"><h3>{esc(title)}</h3>{muted}{body}</section>'


def page(title: str, facts: dict, body: str, *, asset: str = f"../assets/{ASSET}") -> str:
    """A whole page: a header with ``facts``, then ``body`` (HTML), loading Plotly from
    ``asset`` (a path relative to the page)."""
    spans = "".join(f"<span>{esc(k)}: <b>{esc(v)}</b></span>" for k, v in facts.items())
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}'
        f'</title><meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<script src="{esc(asset)}"></script><style>{CSS}</style></head><body><header>'
        f'<h1>{esc(title)}</h1><div class="facts">{spans}</div></header><main>{body}</main>'
        "</body></html>"
    )


LAYOUT = {"template": "plotly_white", "font": {"size": 12}, "height": 320,
          "margin": {"l": 55, "r": 16, "t": 40, "b": 44}}  # fmt: skip


def as_json(fig) -> dict:
    """A figure as the JSON a page draws with ``Plotly.react`` (the console's charts)."""
    import json

    layout = dict(LAYOUT)
    if fig.layout.margin.t is not None:  # a figure that set its own margins keeps them
        layout.pop("margin")
    fig.update_layout(**layout)
    return {"figure": json.loads(fig.to_json()), "config": CONFIG}


def metric_figures(points: list[dict]) -> list[tuple[str, object]]:
    """A training job's metrics: ``(name, figure)`` a metric, its value by step (else time)."""
    import plotly.graph_objects as go

    series: dict[str, list[dict]] = {}
    for p in points:
        series.setdefault(p["name"], []).append(p)
    out = []
    for i, (name, rows) in enumerate(sorted(series.items())):
        by_step = all(r.get("step") is not None for r in rows)
        rows = sorted(rows, key=lambda r: (r["step"], r.get("time") or 0) if by_step
                      else r.get("time") or 0)  # fmt: skip
        xs = [r["step"] if by_step else r.get("time") for r in rows]
        values = [r["value"] for r in rows]
        fig = go.Figure(go.Scatter(x=xs, y=values, mode="lines+markers" if len(rows) < 60
                                   else "lines", name=name,
                                   line={"color": COLORS[i % len(COLORS)]}))  # fmt: skip
        fig.update_layout(title={"text": name}, xaxis_title="step" if by_step else "time",
                          hovermode="x unified")  # fmt: skip
        out.append((name, fig))
    return out


def trials_figure(trials: list[dict], metric: str, objective_type: str):
    """A tuning job's objective by trial, with the best so far (of the trials that succeeded)
    as a step line; None before any trial reports."""
    import plotly.graph_objects as go

    done = sorted((t for t in trials if t.get("objective") is not None),
                  key=lambda t: t["number"])  # fmt: skip
    if not done:
        return None
    pick = max if objective_type == "Maximize" else min
    xs, best, running = [], [], None
    for t in done:
        if t.get("status") == "SUCCEEDED":
            running = t["objective"] if running is None else pick(running, t["objective"])
        if running is not None:
            xs.append(t["number"])
            best.append(running)
    fig = go.Figure([
        go.Scatter(x=[t["number"] for t in done], y=[t["objective"] for t in done],
                   mode="markers", name=metric, text=[t.get("training_job") for t in done],
                   marker={"color": COLORS[0], "size": 8}),
        go.Scatter(x=xs, y=best, mode="lines", name="best so far", line_shape="hv",
                   line={"color": COLORS[2], "dash": "dash"}),
    ])  # fmt: skip
    fig.update_layout(title={"text": f"{metric} by trial ({objective_type})"},
                      xaxis_title="trial", hovermode="closest")  # fmt: skip
    return fig


def parallel_figure(trials: list[dict], metric: str):
    """Hyperparameters against the objective, parallel coordinates, one line a trial; None
    with fewer than two scored trials."""
    import plotly.graph_objects as go

    done = [t for t in trials if t.get("objective") is not None]
    names = sorted({k for t in done for k in (t.get("hyperparameters") or {})})
    if len(done) < 2 or not names:
        return None
    dims = []
    for name in names:
        values = [(t.get("hyperparameters") or {}).get(name) for t in done]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            dims.append({"label": name, "values": values})
        else:  # categorical: numbered, labelled
            labels = sorted({str(v) for v in values})
            dims.append({"label": name, "values": [labels.index(str(v)) for v in values],
                         "tickvals": list(range(len(labels))), "ticktext": labels})  # fmt: skip
    objective = [t["objective"] for t in done]
    dims.append({"label": metric, "values": objective})
    fig = go.Figure(go.Parcoords(line={"color": objective, "colorscale": "Viridis",
                                       "showscale": True}, dimensions=dims))  # fmt: skip
    # the axis names sit above the axes: room for them and the title
    fig.update_layout(title={"text": "hyperparameters vs objective", "y": 0.98},
                      margin={"l": 60, "r": 40, "t": 90, "b": 30}, hovermode=False)  # fmt: skip
    return fig


def write_asset(store, prefix: str) -> str:
    """Plotly's library (the copy the ``plotly`` package ships) at ``<prefix>/assets/``."""
    from plotly.offline import get_plotlyjs

    from raymaker.storage import join

    key = join(prefix, "assets", ASSET)
    if not store.exists(key):
        store.write_text(key, get_plotlyjs())
    return key


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    return esc(value)
