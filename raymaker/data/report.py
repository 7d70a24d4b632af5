"""The profile as one self-contained HTML page: warnings first, then target, then columns.

Charts are inline SVG (no scripts, no network), so the file opens anywhere and can be mailed.
"""

from __future__ import annotations

import html
import math

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:20px 32px}header h1{margin:0 0 6px;font-size:22px}
header .facts span{margin-right:22px;opacity:.9}main{padding:20px 32px;max-width:1200px}
h2{font-size:17px;margin:26px 0 10px}.warn{list-style:none;padding:0;margin:0}
.warn li{background:#fff;border-left:4px solid #d9822b;padding:8px 12px;margin:6px 0;border-radius:4px}
.warn li.target_leakage{border-color:#c23030}.warn li.imbalance{border-color:#8f398f}
.badge{display:inline-block;font-size:11px;text-transform:uppercase;letter-spacing:.04em;
background:#eef0f3;border-radius:3px;padding:1px 6px;margin-right:8px;color:#5c6370}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.card{background:#fff;border-radius:6px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card h3{margin:0 0 4px;font-size:15px;word-break:break-all}.muted{color:#6b7280;font-size:12px}
table.stats{border-collapse:collapse;width:100%;margin:6px 0;font-size:12px}
table.stats td{padding:2px 4px;border-bottom:1px solid #f0f1f3}table.stats td:last-child{text-align:right}
.ok{color:#0f7b3f}
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.4g}"
    return f"{value:,}" if isinstance(value, int) else _esc(value)


def _bars(items: list[tuple[str, float]], *, width=320, color="#3d7bd9", signed=False) -> str:
    """Horizontal bar chart: one labelled bar per item."""
    if not items:
        return '<p class="muted">nothing to show</p>'
    top = max(abs(v) for _, v in items) or 1.0
    row, label_w = 18, 110
    height = row * len(items) + 4
    parts = [f'<svg width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = i * row + 2
        span = (width - label_w - 50) * abs(value) / top
        fill = "#c23030" if signed and value < 0 else color
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(
            f'<text x="{label_w - 4}" y="{y + 12}" font-size="11" text-anchor="end">'
            f"<title>{_esc(label)}</title>{_esc(short)}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{span:.1f}" height="{row - 6}" fill="{fill}" rx="2"/>'
            f'<text x="{label_w + span + 4:.1f}" y="{y + 12}" font-size="11">{_num(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(hist: dict, *, width=320, height=90) -> str:
    counts = hist.get("counts") or []
    edges = hist.get("edges") or []
    if not counts:
        return ""
    top = max(counts) or 1.0
    bar = width / len(counts)
    parts = [f'<svg width="{width}" height="{height + 16}" role="img">']
    for i, c in enumerate(counts):
        h = (height - 2) * c / top
        lo, hi = edges[i], edges[i + 1]
        parts.append(
            f'<rect x="{i * bar + 1:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
            f'fill="#3d7bd9"><title>{_num(lo)} – {_num(hi)}: {_num(c)}</title></rect>'
        )
    parts.append(
        f'<text x="0" y="{height + 13}" font-size="10" fill="#6b7280">{_num(edges[0])}</text>'
        f'<text x="{width}" y="{height + 13}" font-size="10" fill="#6b7280" '
        f'text-anchor="end">{_num(edges[-1])}</text></svg>'
    )
    return "".join(parts)


def _column_card(name: str, col: dict, warned: set[str]) -> str:
    facts = [
        ("type", col["type"]),
        ("missing", f"{_num(col['missing'])} ({col['missing_pct']:.1f}%)"),
        ("distinct", ("≥ " if col["distinct_is_lower_bound"] else "") + _num(col["distinct"])),
    ]
    for key in ("mean", "std", "min", "p25", "p50", "p75", "max"):
        if key in col:
            facts.append((key, _num(col[key])))
    rows = "".join(f"<tr><td>{_esc(k)}</td><td>{v}</td></tr>" for k, v in facts)
    if col.get("histogram", {}).get("counts"):
        chart = _histogram(col["histogram"])
    else:
        chart = _bars([(str(k), v) for k, v in col["top"][:10]], color="#5b9c6b")
    flag = ' <span class="badge">warning</span>' if name in warned else ""
    return f'<div class="card"><h3>{_esc(name)}{flag}</h3><table class="stats">{rows}</table>{chart}</div>'


def render_html(report: dict, *, title: str = "Data profile") -> str:
    """The report as a complete HTML document (a string)."""
    warnings = report.get("warnings", [])
    warned = {w["column"] for w in warnings if w.get("column")}
    facts = [
        f"<span><b>{_num(report['rows'])}</b> rows</span>",
        f"<span><b>{len(report['columns'])}</b> columns</span>",
        f"<span><b>{_num(report['duplicate_rows'])}</b> duplicate rows</span>",
    ]
    if report.get("target"):
        facts.append(f"<span>target <b>{_esc(report['target'])}</b></span>")
    body = [
        f"<header><h1>{_esc(title)}</h1><div class='facts'>{''.join(facts)}</div></header><main>"
    ]
    body.append("<h2>Warnings</h2>")
    if warnings:
        body.append('<ul class="warn">')
        for w in warnings:
            body.append(
                f'<li class="{_esc(w["kind"])}"><span class="badge">{_esc(w["kind"].replace("_", " "))}'
                f"</span>{_esc(w['message'])}</li>"
            )
        body.append("</ul>")
    else:
        body.append('<p class="ok">No problems found.</p>')
    analysis = report.get("target_analysis")
    if analysis:
        body.append("<h2>Target</h2><div class='grid'>")
        if analysis.get("classes"):
            classes = sorted(analysis["classes"].items(), key=lambda kv: -kv[1])
            body.append(f"<div class='card'><h3>Class balance</h3>{_bars(classes)}</div>")
        importance = list((report.get("feature_importance") or {}).items())[:15]
        body.append(
            "<div class='card'><h3>Feature importance</h3>"
            "<p class='muted'>quick ridge model on a sample, |standardized coefficient|</p>"
            f"{_bars(importance, color='#8f398f')}</div>"
        )
        corr = list(analysis.get("correlation", {}).items())[:15]
        if corr:
            body.append(
                f"<div class='card'><h3>Correlation with target</h3>{_bars(corr, signed=True)}</div>"
            )
        mi = list(analysis.get("mutual_information", {}).items())[:15]
        if mi:
            body.append(
                "<div class='card'><h3>Mutual information</h3>"
                f"<p class='muted'>normalized by the target's entropy</p>{_bars(mi)}</div>"
            )
        body.append("</div>")
    body.append("<h2>Columns</h2><div class='grid'>")
    body.extend(_column_card(name, col, warned) for name, col in report["columns"].items())
    body.append("</div></main>")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    )
