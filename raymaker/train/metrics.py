"""Training metrics: a time series per job in the store, from regexes or direct reports.

Two ways in, one series out (``jobs/<name>/metrics.jsonl``, a JSON object per line:
``{"name", "value", "step", "time"}``):

- SageMaker's ``metric_definitions``: each ``{"Name", "Regex"}`` is matched against every line
  the training script prints; the first group is the value.
- SageMaker's XGBoost framework container's defaults: a script's ``xgb.train`` prints
  ``[12]\tvalidation-auc:0.91\ttrain-auc:0.95`` (``#011`` for the tab in CloudWatch's copy);
  with no ``metric_definitions`` every pair becomes ``validation:auc`` / ``train:auc`` at step
  12, as the container's metric definitions name them.
- Direct reports: built-in algorithms add points themselves; a script prints a line made by
  ``raymaker.report_metrics({...}, step=n)`` (a marked JSON line), which works anywhere a
  script's output is read, with no Ray inside the script.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from raymaker.errors import SpecError

MARKER = "[raymaker-metrics] "

# Functions told of every point a MetricsLog in this process records: a tuning trial forwards
# its objective to Ray Tune this way while the training job runs in the trial's process.
_listeners: list[Callable[[str, float, int], None]] = []


@contextmanager
def listening(fn: Callable[[str, float, int], None]) -> Iterator[None]:
    """Call ``fn(name, value, step)`` for every point recorded in this process meanwhile."""
    _listeners.append(fn)
    try:
        yield
    finally:
        _listeners.remove(fn)


def report_metrics(metrics: dict[str, float], *, step: int | None = None, file=None) -> None:
    """Report metrics from a training script: prints one marked line the job records."""
    clean = {k: float(v) for k, v in metrics.items()}
    payload = {"metrics": clean, **({"step": int(step)} if step is not None else {})}
    print(MARKER + json.dumps(payload), file=file or sys.stdout, flush=True)


_XGB_ROUND = re.compile(r"^\s*\[(\d+)\]")
_XGB_PAIR = re.compile(
    r"(?:#011|\t|\s)([A-Za-z0-9_]+)-([^\s:#]+):([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
)


class LineParser:
    """Finds metric values in lines of output: ``metric_definitions`` and marked lines (and
    XGBoost's evaluation lines with ``xgboost_lines``)."""

    def __init__(self, definitions: list[dict] | None = None, *, xgboost_lines: bool = False):
        self.xgboost_lines = xgboost_lines
        self.patterns = []
        for item in definitions or []:
            name, regex = item["name"], item["regex"]
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                raise SpecError(
                    f"metric_definitions: Regex of {name!r} is invalid: {exc}"
                ) from None
            if pattern.groups < 1:
                raise SpecError(
                    f"metric_definitions: Regex of {name!r} needs one group for the value"
                )
            self.patterns.append((name, pattern))

    def parse(self, line: str) -> list[tuple[str, float, int | None]]:
        """``(name, value, step)`` for every metric found in ``line``."""
        found: list[tuple[str, float, int | None]] = []
        if line.startswith(MARKER):
            try:
                payload = json.loads(line[len(MARKER) :])
                step = payload.get("step")
                for name, value in payload["metrics"].items():
                    found.append((str(name), float(value), step))
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
            return found
        if self.xgboost_lines:
            head = _XGB_ROUND.match(line)
            if head:
                step = int(head.group(1))
                for data, metric, value in _XGB_PAIR.findall(line[head.end() :]):
                    found.append((f"{data}:{metric}", float(value), step))
        for name, pattern in self.patterns:
            for match in pattern.finditer(line):
                try:
                    found.append((name, float(match.group(1)), None))
                except (TypeError, ValueError):
                    continue
        return found


class MetricsLog:
    """Appends points and saves the series to the store every few seconds (and at close)."""

    interval_s = 3.0

    def __init__(self, store, key: str, *, existing: bool = True):
        self.store, self.key = store, key
        self.points: list[dict] = read_series(store, key) if existing else []
        self._steps: dict[str, int] = {}
        for p in self.points:
            self._steps[p["name"]] = max(self._steps.get(p["name"], -1), p.get("step", -1))
        self._lock = threading.Lock()
        self._dirty = False
        self._saved_at = time.monotonic()

    def add(self, name: str, value: float, step: int | None = None) -> None:
        """Add one point; ``step`` defaults to the metric's previous step + 1."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        with self._lock:
            if step is None:
                step = self._steps.get(name, -1) + 1
            self._steps[name] = max(self._steps.get(name, -1), step)
            self.points.append(
                {"name": name, "value": float(value), "step": int(step), "time": time.time()}
            )
            self._dirty = True
        for fn in tuple(_listeners):
            fn(name, float(value), int(step))
        if time.monotonic() - self._saved_at > self.interval_s:
            self.save()

    def add_line(self, parser: LineParser, line: str) -> None:
        for name, value, step in parser.parse(line):
            self.add(name, value, step)

    def latest(self) -> dict[str, float]:
        """The last value of each metric."""
        out: dict[str, float] = {}
        for p in self.points:
            out[p["name"]] = p["value"]
        return out

    def save(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            text = "".join(json.dumps(p) + "\n" for p in self.points)
            self._dirty = False
            self._saved_at = time.monotonic()
        self.store.write_text(self.key, text)


def read_series(store, key: str) -> list[dict]:
    """The points saved under ``key`` (empty when none were)."""
    if not store.exists(key):
        return []
    return [json.loads(line) for line in store.read_text(key).splitlines() if line.strip()]


def summarize(points: list[dict]) -> list[dict]:
    """Per metric: last, min, max and the number of points."""
    by_name: dict[str, list[dict]] = {}
    for p in points:
        by_name.setdefault(p["name"], []).append(p)
    return [
        {
            "metric": name,
            "last": items[-1]["value"],
            "min": min(i["value"] for i in items),
            "max": max(i["value"] for i in items),
            "points": len(items),
            "last_step": items[-1]["step"],
        }
        for name, items in by_name.items()
    ]
