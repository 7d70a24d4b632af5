"""The console's index: short rows of every job, model version and endpoint, kept in memory.

The store stays the source of truth; the index is rebuilt from it at start and kept current
by one listing of stamps per collection (``Store.stamps``: mtime and size, or ETag), rereading
only the records that changed. A refresh runs at most once a second, when a page asks; in
the console it runs in a thread beside the request (``background``), so no page waits for
it but the very first. A list of 10,000 jobs answers from memory: reading 10,000 records per
request is what the console's benchmark measures as the baseline.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from raymaker.errors import NotFound
from raymaker.storage import join, layout

REFRESH_S = 1.0


def job_row(record: dict) -> dict[str, Any]:
    """The short form of a job record that the lists show and filter."""
    started, ended = record.get("started_at"), record.get("ended_at")
    return {
        "name": record["name"],
        "kind": record.get("kind"),
        "status": record.get("status"),
        "created_at": record.get("created_at") or 0.0,
        "started_at": started,
        "ended_at": ended,
        "duration_s": (ended or time.time()) - started if started else None,
        "parent": record.get("parent"),
        "failure_reason": (record.get("failure_reason") or "")[:200] or None,
    }


def endpoint_row(state: dict) -> dict[str, Any]:
    variants = state.get("variants") or []
    return {
        "name": state["name"],
        "status": state.get("status"),
        "url": state.get("url"),
        "variants": [v.get("name") for v in variants],
        "models": [v.get("registry") or v.get("model_data") for v in variants],
        "updated_at": state.get("updated_at"),
    }


class Collection:
    """One kind of record under ``prefix/<name>/<leaf>``, rows by name, kept current."""

    def __init__(self, store, prefix: str, leaf: str, row):
        self.store, self.prefix, self.leaf, self.row = store, prefix, leaf, row
        self.stamps: dict[str, str] = {}
        self.rows: dict[str, dict] = {}

    def refresh(self) -> int:
        """Reread what changed; returns how many records were read. The rows are replaced
        whole, never changed in place: pages read them from other threads meanwhile."""
        stamps = self.store.stamps(self.prefix, self.leaf)
        rows, known, read = dict(self.rows), dict(self.stamps), 0
        for name, stamp in stamps.items():
            if known.get(name) == stamp:
                continue
            try:
                rows[name] = self.row(self.store.read_json(join(self.prefix, name, self.leaf)))
            except (NotFound, ValueError, KeyError):
                continue  # being written, or not a record: the next refresh sees it
            known[name] = stamp
            read += 1
        for gone in set(rows) - set(stamps):
            rows.pop(gone, None)
            known.pop(gone, None)
        self.rows, self.stamps = rows, known
        return read


class Versions:
    """Every model version's row: one recursive listing per group tells which versions gained
    an event (an approval, metrics) or appeared."""

    def __init__(self, store):
        self.store = store
        self.marks: dict[tuple[str, int], int] = {}
        self.rows: dict[tuple[str, int], dict] = {}

    def refresh(self) -> int:
        from raymaker.registry.registry import ModelRegistry

        registry = ModelRegistry(self.store)
        rows, marks = dict(self.rows), dict(self.marks)  # replaced whole, as above
        seen, read = set(), 0
        for group in self.store.stamps(layout.REGISTRY, "group.json"):
            events: dict[int, int] = {}
            for key in self.store.list(join(layout.REGISTRY, group), recursive=True):
                parts = key.split("/")
                if len(parts) == 4 and parts[2] == "versions" and parts[3].endswith(".json"):
                    events.setdefault(int(parts[3].split(".")[0]), 0)
                elif len(parts) == 5 and parts[2] == "events":
                    number = int(parts[3])
                    events[number] = events.get(number, 0) + 1
            for number, count in events.items():
                seen.add((group, number))
                if marks.get((group, number)) == count:
                    continue
                try:
                    v = registry.get(group, number)
                except NotFound:
                    continue
                rows[(group, number)] = {
                    "group": group, "version": number, "status": v.status,
                    "framework": v.framework, "created_at": v.created_at,
                    "created_by": v.created_by, "metrics": v.metrics,
                    "job": (v.lineage or {}).get("job"),
                }  # fmt: skip
                marks[(group, number)] = count
                read += 1
        for gone in set(rows) - seen:
            rows.pop(gone, None)
            marks.pop(gone, None)
        self.rows, self.marks = rows, marks
        return read


class Index:
    """Jobs, model versions and endpoints of one store, at most ``REFRESH_S`` stale."""

    def __init__(self, store, *, refresh_s: float = REFRESH_S, background: bool = False):
        self.store = store
        self.refresh_s = refresh_s
        self.background = background
        self._running = False
        self.jobs = Collection(store, layout.JOBS, "record.json", job_row)
        self.endpoints = Collection(store, layout.ENDPOINTS, "state.json", endpoint_row)
        self.versions = Versions(store)
        self._lock = threading.Lock()
        self._at = 0.0

    def fresh(self, force: bool = False) -> Index:
        """Refresh when the last one is older than ``refresh_s`` (one at a time): here, or,
        with ``background`` and once built, in a thread while this answers from memory."""
        stale = time.monotonic() - self._at >= self.refresh_s
        if force or (stale and not (self.background and self._at)):
            with self._lock:
                if force or time.monotonic() - self._at >= self.refresh_s:
                    self._refresh()
        elif stale and not self._running:
            self._running = True
            threading.Thread(target=self._refresh_quietly, daemon=True).start()
        return self

    def _refresh(self) -> None:
        self.jobs.refresh()
        self.endpoints.refresh()
        self.versions.refresh()
        self._at = time.monotonic()

    def _refresh_quietly(self) -> None:
        import logging

        try:
            with self._lock:
                self._refresh()
        except Exception:  # noqa: BLE001 - the store away for a moment: the next page retries
            logging.getLogger("raymaker.console").exception("index refresh")
        finally:
            self._running = False

    def job_rows(self, *, kind: str | None = None, status: str | None = None,
                 q: str | None = None, parent: str | None = None,
                 top_level: bool = False) -> list[dict]:  # fmt: skip
        """Jobs newest first, filtered: kind, status, a substring of the name, a parent (a
        tuning job's trials), or only jobs that are nobody's trial."""
        rows = self.fresh().jobs.rows.values()
        q = (q or "").lower()
        out = [
            r for r in rows
            if (not kind or r["kind"] == kind) and (not status or r["status"] == status)
            and (not q or q in r["name"].lower()) and (not parent or r["parent"] == parent)
            and not (top_level and r["parent"])
        ]  # fmt: skip
        return sorted(out, key=lambda r: r["created_at"], reverse=True)

    def version_rows(self, *, group: str | None = None, status: str | None = None,
                     q: str | None = None) -> list[dict]:  # fmt: skip
        rows = self.fresh().versions.rows.values()
        q = (q or "").lower()
        out = [
            r for r in rows
            if (not group or r["group"] == group) and (not status or r["status"] == status)
            and (not q or q in r["group"].lower())
        ]  # fmt: skip
        return sorted(out, key=lambda r: (r["group"], -r["version"]))

    def groups(self) -> list[dict]:
        """Each model group: versions, latest, latest approved."""
        by_group: dict[str, list[dict]] = {}
        for r in self.fresh().versions.rows.values():
            by_group.setdefault(r["group"], []).append(r)
        out = []
        for group, rows in sorted(by_group.items()):
            numbers = sorted(r["version"] for r in rows)
            approved = [r["version"] for r in rows if r["status"] == "Approved"]
            out.append({"group": group, "versions": len(rows), "latest": numbers[-1],
                        "approved": max(approved) if approved else None})  # fmt: skip
        return out

    def endpoint_rows(self, *, q: str | None = None, status: str | None = None) -> list[dict]:
        rows = self.fresh().endpoints.rows.values()
        q = (q or "").lower()
        out = [r for r in rows if (not q or q in r["name"].lower())
               and (not status or r["status"] == status)]  # fmt: skip
        return sorted(out, key=lambda r: r["name"])
