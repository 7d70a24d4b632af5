"""Rendering for the CLI: tables, JSON and YAML. No logic beyond layout."""

from __future__ import annotations

import json
import time
from typing import Any

import click

FORMATS = ("table", "json", "yaml")


def output_option(f):
    return click.option(
        "--output", "-o", type=click.Choice(FORMATS), default="table", show_default=True,
        help="How to print the result.",
    )(f)  # fmt: skip


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def emit(value: Any, fmt: str, *, columns: list[str] | None = None) -> None:
    """Print ``value`` (a dict, a list of dicts, or pydantic models) as ``fmt``.

    JSON and YAML keep times as epoch seconds; a table shows them as local dates.
    """
    value = _plain(value)
    if fmt == "table":
        value = _dates(value)
    if fmt == "json":
        click.echo(json.dumps(value, indent=2, default=str))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip())
    elif isinstance(value, list):
        click.echo(table(value, columns))
    else:
        click.echo(key_values(value))


def _dates(value: Any, key: str = "") -> Any:
    """Epoch seconds under a ``*_at`` key (``created_at``, ``updated_at``, ...) as dates."""
    if isinstance(value, dict):
        return {k: _dates(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v, key) for v in value]
    if key.endswith("_at") and isinstance(value, int | float) and not isinstance(value, bool):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    return value


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "(none)"
    columns = columns or list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def key_values(value: dict, indent: int = 0) -> str:
    lines = []
    pad = " " * indent
    for key, item in value.items():
        if item in (None, {}, []):
            continue
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.append(key_values(item, indent + 2))
        elif isinstance(item, str) and "\n" in item:
            lines.append(f"{pad}{key}: |")
            lines.extend(f"{pad}  {line}" for line in item.rstrip().splitlines())
        else:
            lines.append(f"{pad}{key}: {_cell(item)}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def progress_bar(done: Any, total: Any, width: int = 20) -> str:
    """``[#####.....] 12/40 `` for a job that reports items done, or "" when it does not."""
    if not isinstance(done, int) or not isinstance(total, int) or total <= 0:
        return ""
    filled = min(width, round(width * done / total))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
