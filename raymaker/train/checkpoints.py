"""Checkpoints in the store, written by rank 0 and read back by whoever resumes.

Every execution path (the job's driver, a Ray Train worker group restarted after a failure,
a job resubmitted with ``resume=True``) finds the newest checkpoint the same way: under the
job's checkpoint prefix (or ``checkpoint_uri``), ``latest.json`` names the newest complete
step folder. A step folder is uploaded in full before ``latest.json`` moves to it, so a
crash mid-upload leaves the previous checkpoint in charge.
"""

from __future__ import annotations

import os
import time

from raymaker.storage import Store, join

LATEST = "latest.json"


class Checkpoints:
    """The checkpoints under one store prefix."""

    def __init__(self, store: Store, prefix: str, *, keep: int = 2):
        self.store, self.prefix, self.keep = store, prefix, keep

    @property
    def uri(self) -> str:
        return self.store.uri(self.prefix)

    def latest(self) -> dict | None:
        """``{"step": n, "key": prefix, "metrics": {...}}`` of the newest checkpoint, or None."""
        key = join(self.prefix, LATEST)
        if not self.store.exists(key):
            return None
        return self.store.read_json(key)

    def save(self, step: int, local_dir: str, metrics: dict | None = None) -> str:
        """Upload ``local_dir`` as checkpoint ``step`` and make it the latest; returns its key."""
        key = join(self.prefix, f"step-{step:08d}")
        self.store.delete(key, recursive=True)
        self.store.put_dir(local_dir, key)
        previous = self.latest()
        self.store.write_json(
            join(self.prefix, LATEST),
            {"step": step, "key": key, "metrics": metrics or {}, "time": time.time()},
        )
        if previous and previous.get("key") != key:
            self._prune()
        return key

    def restore(self, local_dir: str) -> dict | None:
        """Download the newest checkpoint into ``local_dir``; returns its entry, or None."""
        entry = self.latest()
        if entry is None:
            return None
        os.makedirs(local_dir, exist_ok=True)
        for key in self.store.list(entry["key"], recursive=True):
            target = os.path.join(local_dir, key[len(entry["key"]) + 1 :])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.store.get(key, target)
        return entry

    def _prune(self) -> None:
        steps = sorted(
            k for k in self.store.list(self.prefix) if k.rsplit("/", 1)[-1].startswith("step-")
        )
        for key in steps[: -self.keep]:
            self.store.delete(key, recursive=True)
