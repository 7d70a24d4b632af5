"""Metric plots as one self-contained HTML page: a line chart per metric, inline SVG."""

from __future__ import annotations

import html


def _esc(value) -> str:
    return html.escape(str(value))


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def line_chart(points: list[tuple[float, float]], *, width=560, height=220, color="#3d7bd9",
               best: list[tuple[float, float]] | None = None,
               connect: bool = True) -> str:  # fmt: skip
    """An SVG line chart of ``(x, y)`` points (and an optional second ``best`` line);
    ``connect=False`` draws the points as dots only."""
    if not points:
        return "<p>no points</p>"
    xs = [p[0] for p in points]
    ys = [p[1] for p in points] + [p[1] for p in best or []]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + (abs(y0) or 1) * 0.01
    left, right, top, bottom = 58, 12, 10, 28

    def sx(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y):
        return top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)

    def path(series, stroke, dash=""):
        d = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in
                     enumerate(series))  # fmt: skip
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="2"{extra}/>'

    parts = [f'<svg width="{width}" height="{height}" role="img" font-size="11">']
    for frac in (0, 0.5, 1):
        y = y0 + frac * (y1 - y0)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
            f'stroke="#e5e7eb"/><text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">'
            f"{y:.4g}</text>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}">{x0:g}</text>'
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{x1:g}</text>'
    )
    if connect:
        parts.append(path(points, color))
    if best:
        parts.append(path(best, "#0f7b3f", "5,3"))
    if len(points) <= 60 or not connect:
        parts += [
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>' for x, y in points
        ]
    parts.append("</svg>")
    return "".join(parts)


CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}"
    "header{background:#1d2330;color:#fff;padding:18px 28px}h1{margin:0;font-size:20px}"
    "main{padding:18px 28px;display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));"
    "gap:14px}.card{background:#fff;border-radius:6px;padding:12px 14px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.06)}.card h2{margin:0 0 4px;font-size:15px}"
    ".muted{color:#6b7280;font-size:12px}"
)


def render_metrics_html(points: list[dict], *, title: str) -> str:
    """One card per metric: value by step, with last/min/max."""
    by_name: dict[str, list[dict]] = {}
    for p in points:
        by_name.setdefault(p["name"], []).append(p)
    cards = []
    for name, items in by_name.items():
        items = sorted(items, key=lambda p: (p["step"], p["time"]))
        values = [p["value"] for p in items]
        facts = f"last {values[-1]:.6g} · min {min(values):.6g} · max {max(values):.6g}"
        chart = line_chart([(p["step"], p["value"]) for p in items])
        cards.append(
            f'<div class="card"><h2>{_esc(name)}</h2><div class="muted">{facts} · '
            f"{len(items)} points</div>{chart}</div>"
        )
    body = "".join(cards) or "<p>No metrics were recorded.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
        f"<style>{CSS}</style></head><body><header><h1>{_esc(title)}</h1></header>"
        f"<main>{body}</main></body></html>"
    )


def render_tuning_html(rows, *, metric: str, objective_type: str, title: str) -> str:
    """A tuning job's page: the objective by trial with the best so far, and the leaderboard."""
    scored = [r for r in rows if r.objective is not None]
    points = [(r.number, r.objective) for r in scored]
    best_line, best = [], None
    pick = max if objective_type == "Maximize" else min
    for r in sorted(scored, key=lambda r: r.number):
        if r.status == "SUCCEEDED":
            best = r.objective if best is None else pick(best, r.objective)
        if best is not None:
            best_line.append((r.number, best))
    chart = line_chart(points, best=best_line, width=760, height=260, connect=False)
    names = list(rows[0].hyperparameters) if rows else []
    head = "".join(f"<th>{_esc(h)}</th>" for h in ["#", "training job", "status", metric, *names])
    lines = []
    for r in rows:
        value = "" if r.objective is None else f"{r.objective:.6g}"
        cells = [
            r.number,
            r.training_job,
            r.status,
            value,
            *(_short(r.hyperparameters.get(n)) for n in names),
        ]
        lines.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>")
    table = f"<table><tr>{head}</tr>{''.join(lines)}</table>"
    facts = f"{objective_type} {_esc(metric)} · {len(rows)} trials"
    if best is not None:
        facts += f" · best {best:.6g}"
    body = (
        f'<div class="card"><h2>Objective by trial</h2><div class="muted">{facts} · dots: each '
        f"trial's final value; dashed: best so far</div>{chart}</div>"
        f'<div class="card"><h2>Trials</h2>{table}</div>'
    )
    style = (
        CSS + "main{display:block}.card{margin-bottom:14px;overflow-x:auto}"
        "table{border-collapse:collapse;font-size:12px}td,th{padding:2px 8px;"
        "border-bottom:1px solid #eee;text-align:left;white-space:nowrap}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
        f"<style>{style}</style></head><body><header><h1>{_esc(title)}</h1></header>"
        f"<main>{body}</main></body></html>"
    )
