"""Data capture: sampled requests and responses as JSON lines, in SageMaker's layout.

    <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<time>-<id>.jsonl

Each line is SageMaker's record (``captureData.endpointInput`` / ``endpointOutput`` with
``observedContentType``, ``mode``, ``data``, ``encoding``; ``eventMetadata`` with
``eventId`` and ``inferenceTime``; ``eventVersion``), so monitoring code written for
SageMaker reads it. Capture never slows or fails a request: records go into a bounded queue
and a background task writes them about once a second; when the queue is full, records are
dropped and counted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
import uuid

log = logging.getLogger("raymaker.serve")
QUEUE_LIMIT = 10_000
FLUSH_S = 1.0
_TEXT = {"text/csv": "CSV", "application/json": "JSON", "application/jsonlines": "JSON"}


def record(
    content_type: str,
    body: bytes,
    accept: str,
    answer: bytes,
    event_id: str | None = None,
    inference_id: str | None = None,
    now: float | None = None,
) -> dict:
    """One capture record, SageMaker's shape."""
    now = time.time() if now is None else now
    meta = {
        "eventId": event_id or str(uuid.uuid4()),
        "inferenceTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        + f".{int(now % 1 * 1000):03d}Z",
    }
    if inference_id:
        meta["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": _data(content_type, body, "INPUT"),
            "endpointOutput": _data(accept, answer, "OUTPUT"),
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }


def _data(content_type: str, body: bytes, mode: str) -> dict:
    base = (content_type or "").split(";")[0].strip().lower()
    encoding = _TEXT.get(base)
    if encoding:
        try:
            text = body.decode("utf-8")
            return {
                "observedContentType": content_type,
                "mode": mode,
                "data": text,
                "encoding": encoding,
            }
        except UnicodeDecodeError:
            pass
    data = base64.b64encode(body).decode()
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": "BASE64"}


def capture_key(prefix: str, endpoint: str, variant: str, now: float) -> str:
    """Where a file of records written at ``now`` goes (``prefix`` is a store key)."""
    hour = time.strftime("%Y/%m/%d/%H", time.gmtime(now))
    stamp = time.strftime("%M-%S", time.gmtime(now))
    name = f"{stamp}-{int(now * 1000) % 1000:03d}-{uuid.uuid4().hex[:8]}.jsonl"
    return f"{prefix.rstrip('/')}/{endpoint}/{variant}/{hour}/{name}"


class CaptureWriter:
    """The gateway's bounded capture queue and its writer task."""

    def __init__(self):
        self.stores: dict[tuple, object] = {}
        self.queue: list[tuple[str, str, str, dict]] = []
        self.dropped = 0
        self.written = 0
        self._task = None

    def sample(self, percentage: float) -> bool:
        return percentage >= 100 or random.random() * 100 < percentage

    def add(self, target: dict, endpoint: str, variant: str, rec: dict) -> None:
        """Queue ``rec``; ``target`` is the endpoint's capture config (prefix, store settings)."""
        if len(self.queue) >= QUEUE_LIMIT:
            self.dropped += 1
            return
        self.queue.append((target, endpoint, variant, rec))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self.queue:
            await asyncio.sleep(FLUSH_S)
            await self.flush()

    async def flush(self) -> None:
        batch, self.queue = self.queue, []
        groups: dict[tuple, list[dict]] = {}
        for target, endpoint, variant, rec in batch:
            where = (tuple(sorted(target["store"].items())), target["prefix"], endpoint, variant)
            groups.setdefault(where, []).append(rec)
        for (store_env, prefix, endpoint, variant), recs in groups.items():
            text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs)
            key = capture_key(prefix, endpoint, variant, time.time())
            try:
                store = self._store(store_env)
                await asyncio.to_thread(store.write_text, key, text)
                self.written += len(recs)
            except Exception as e:  # noqa: BLE001 - capture must never take the gateway down
                self.dropped += len(recs)
                log.warning("data capture to %s failed: %s", key, e)

    def _store(self, store_env: tuple):
        store = self.stores.get(store_env)
        if store is None:
            from raymaker.storage.store import store_from_env

            store = self.stores[store_env] = store_from_env(dict(store_env))
        return store
