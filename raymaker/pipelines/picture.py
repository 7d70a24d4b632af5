"""The pipeline's graph as a picture: an SVG of the steps in columns by depth, each box
coloured by its status, with its time, attempts and cache hit; in a self-contained HTML page
(no scripts, no network) that the console can show as it is.
"""

from __future__ import annotations

import html
import time

from raymaker.specs.pipeline_graph import flatten, levels

COLOURS = {
    "Succeeded": "#d4edda",
    "Failed": "#f8d7da",
    "Stopped": "#e2e3e5",
    "Executing": "#fff3cd",
    "Starting": "#fff3cd",
    "NotExecuted": "#f8f9fa",
    None: "#ffffff",
}
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 62, 70, 24, 20


def svg(spec, state: dict | None = None) -> str:
    """The graph as an SVG document."""
    nodes = flatten(spec)
    depth = levels(nodes)
    steps = (state or {}).get("steps", {})
    columns: dict[int, list[str]] = {}
    for name in nodes:  # definition order within a column
        columns.setdefault(depth[name], []).append(name)
    pos = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            pos[name] = (PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(v) for v in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#666"/></marker></defs>',
    ]
    for name, node in nodes.items():
        x2, y2 = pos[name]
        for up in sorted(node.upstream):
            if up not in pos:
                continue
            x1, y1 = pos[up]
            label = ""
            if node.gate and node.gate[0] == up:
                label = "if" if node.gate[1] else "else"
            out.append(
                f'<line x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2}" x2="{x2}" '
                f'y2="{y2 + BOX_H / 2}" stroke="#666" marker-end="url(#arrow)"/>'
            )
            if label:
                out.append(
                    f'<text x="{(x1 + BOX_W + x2) / 2}" y="{(y1 + y2 + BOX_H) / 2 - 4}" '
                    f'fill="#666" text-anchor="middle">{label}</text>'
                )
    for name, node in nodes.items():
        x, y = pos[name]
        entry = steps.get(name, {})
        status = entry.get("StepStatus")
        detail = _detail(entry)
        out.append(
            f'<g class="step" data-step="{html.escape(name)}" '
            f'data-status="{html.escape(status or "Pending")}">'
        )
        out.append(
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{COLOURS.get(status, "#ffffff")}" stroke="#555"/>'
        )
        out.append(
            f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">{html.escape(name[:26])}</text>'
        )
        out.append(
            f'<text x="{x + 8}" y="{y + 35}" fill="#333">{html.escape(node.step.type)} · '
            f"{html.escape(status or 'Pending')}</text>"
        )
        out.append(f'<text x="{x + 8}" y="{y + 52}" fill="#555">{html.escape(detail)}</text>')
        title = entry.get("FailureReason") or entry.get("CacheMiss") or ""
        if title:
            out.append(f"<title>{html.escape(str(title))}</title>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _detail(entry: dict) -> str:
    parts = []
    start, end = entry.get("StartTime"), entry.get("EndTime")
    if start and end:
        parts.append(f"{end - start:.1f} s")
    elif start:
        parts.append(f"{time.time() - start:.0f} s so far")
    if entry.get("CacheHitResult"):
        parts.append("cache hit")
    if (entry.get("AttemptCount") or 0) > 1:
        parts.append(f"{entry['AttemptCount']} attempts")
    if entry.get("ReusedFromAttempt"):
        parts.append("kept from last run")
    return ", ".join(parts)


def page(spec, state: dict | None = None) -> str:
    """An HTML page with the picture and a table of the steps."""
    title = f"pipeline {spec.name}"
    if state:
        title += f" · execution {state.get('execution')} · {state.get('status', '')}"
    rows = []
    for name, entry in (state or {}).get("steps", {}).items():
        if entry.get("StepStatus") == "NotExecuted":
            continue
        note = entry.get("FailureReason") or (
            "cache hit" if entry.get("CacheHitResult") else entry.get("CacheMiss") or ""
        )
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(entry.get('StepStatus')))}"
            f"</td><td>{html.escape(_detail(entry))}</td><td>{html.escape(str(note))}</td></tr>"
        )
    table = (
        (
            "<table><tr><th>step</th><th>status</th><th>time</th><th>note</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        if rows
        else ""
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:24px}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{svg(spec, state)}{table}</body></html>"
    )
