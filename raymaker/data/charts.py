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
    fig.update_layout(height=height, margin={"l": 50, "r": 16, "t": 36, "b": 44},
                      template="plotly_white", font={"size": 12})  # fmt: skip
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
