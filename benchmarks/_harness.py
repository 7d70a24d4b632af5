"""The benchmark convention: one script per capability, baselines measured in the same run.

Each script builds a ``Report``: named measurements (a list of samples each), a baseline for
each ratio, and notes. ``Report.finish()`` prints a table (median, min, ratio against the
baseline) and writes ``benchmarks/results/<name>.json``. Benchmarks report figures; they do
not assert (tests assert behaviour).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


@dataclass
class Row:
    name: str
    samples: list[float]
    unit: str = "s"
    baseline: str | None = None  # name of the row this one is compared with
    higher_is_better: bool = False
    rss_mb: list[float] = field(default_factory=list)  # peak RSS of each sample's processes

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Report:
    name: str
    title: str
    rows: dict[str, Row] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(
        self, name: str, samples, *, unit="s", baseline=None, higher_is_better=False, rss_mb=()
    ) -> Row:
        row = Row(name, list(samples), unit, baseline, higher_is_better, list(rss_mb))
        self.rows[name] = row
        return row

    def ratio(self, row: Row) -> float | None:
        """How many times better than its baseline (>1 is better)."""
        base = self.rows.get(row.baseline) if row.baseline else None
        if base is None or not row.median or not base.median:
            return None
        return row.median / base.median if row.higher_is_better else base.median / row.median

    def table(self) -> str:
        head = ["measurement", "median", "min", "n", "vs baseline", "peak RSS", "baseline"]
        lines = []
        for row in self.rows.values():
            ratio = self.ratio(row)
            lines.append(
                [
                    row.name,
                    f"{row.median:.3f} {row.unit}",
                    f"{min(row.samples):.3f} {row.unit}",
                    str(len(row.samples)),
                    f"{ratio:.2f}x" if ratio else "-",
                    f"{max(row.rss_mb):,.0f} MiB" if row.rss_mb else "-",
                    row.baseline or "-",
                ]
            )
        widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(head)]
        fmt = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
        out = [fmt(head), "-+-".join("-" * w for w in widths), *map(fmt, lines)]
        return "\n".join(out)

    def finish(self) -> str:
        """Print the table and notes; write the JSON. Returns the JSON path."""
        print(f"\n## {self.title}\n")
        print(self.table())
        for note in self.notes:
            print(f"- {note}")
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, f"{self.name}.json")
        data = {
            "name": self.name,
            "title": self.title,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "started": self.started,
            "rows": [
                {
                    "name": r.name,
                    "unit": r.unit,
                    "median": r.median,
                    "min": min(r.samples),
                    "samples": r.samples,
                    "baseline": r.baseline,
                    "ratio": self.ratio(r),
                    "peak_rss_mb": max(r.rss_mb) if r.rss_mb else None,
                }
                for r in self.rows.values()
            ],
            "notes": self.notes,
        }
        with open(path, "w") as f:
            json.dump(data, f, indent=2)
        print(f"\nwrote {path}")
        return path


class PeakRss:
    """The peak resident memory (MiB) of process trees while a block runs, sampled every
    ``interval_s`` with psutil: ``with PeakRss(pids) as peak: ...; peak.mb``. Give the roots
    whose trees do the work (this process, a child, the local head: Ray's job drivers and
    workers are the head's descendants, so its idle processes count too; ``idle()`` measures
    them alone)."""

    def __init__(self, roots, interval_s: float = 0.05):
        self.roots = [r for r in roots if r]
        self.interval_s = interval_s
        self.mb = 0.0
        self._stop = None

    def sample(self) -> float:
        import psutil

        seen, total = set(), 0
        for root in self.roots:
            try:
                proc = psutil.Process(root)
                tree = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                continue
            for p in tree:
                if p.pid in seen:
                    continue
                seen.add(p.pid)
                with contextlib.suppress(psutil.Error):  # it ended meanwhile
                    total += p.memory_info().rss
        return total / (1 << 20)

    def __enter__(self):
        import threading

        self._stop = threading.Event()

        def loop():
            while not self._stop.is_set():
                self.mb = max(self.mb, self.sample())
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.mb = max(self.mb, self.sample())


def head_pid(session) -> int | None:
    """The local head's process (its tree holds Ray's drivers and workers), or None."""
    from raymaker.cluster import LocalCluster

    info = LocalCluster(session.settings).info()
    return info.get("pid") if info else None


@contextlib.contextmanager
def warm_session(prefix: str):
    """A raymaker Session in a private home (unless RAYMAKER_* say otherwise) on a warm local
    head, started here unless RAY_ADDRESS names one; yields ``(session, home, started)`` and
    stops the head it started."""
    home = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("RAYMAKER_HOME", home)
    os.environ.setdefault("RAYMAKER_STORE", os.path.join(home, "store"))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    from raymaker.cluster import LocalCluster
    from raymaker.sagemaker.session import Session

    session = Session()
    started = False
    if not session.settings.ray_address:
        _, started = LocalCluster(session.settings).up()
    try:
        yield session, home, started
    except BaseException:
        import traceback

        traceback.print_exc()  # now: stopping the head may end this process before Python does
        sys.stdout.flush()
        sys.stderr.flush()
        raise
    finally:
        if started:
            LocalCluster(session.settings).down()
