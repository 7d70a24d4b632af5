"""The gateway's view of one variant: its registered replicas and its Serve handle.

``Pool.submit`` sends a request to the replica with the fewest requests in flight over the
data plane (``wire``), batching what queues while a frame is out. With no replica registered
(scaled to zero, or still starting) it calls the Serve handle instead, which waits for Serve
to start one. A replica whose connection breaks is dropped and its requests are sent again
elsewhere: predictions are idempotent, so a scale-down or a rolling update loses nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from raymaker.serve import wire

log = logging.getLogger("raymaker.serve")
MAX_BATCH = 64
CONNECT_TIMEOUT_S = 2.0


class Unavailable(Exception):
    """No replica could answer (the caller answers 503)."""


class Conn:
    """One data-plane connection to one replica."""

    def __init__(self, replica_id: str, host: str, port: int, key: str):
        self.replica_id = replica_id
        self.address = (host, port)
        self.key = key
        self.pending: list[tuple[dict, bytes, asyncio.Future]] = []
        self.inflight = 0
        self.busy = False
        self.broken = False
        self._reader = self._writer = None
        self._ids = itertools.count()

    def load(self) -> int:
        return self.inflight + len(self.pending)

    def submit(self, item: dict, body: bytes) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.pending.append((item, body, fut))
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self._flush())
        return fut

    async def _flush(self) -> None:
        batch: list = []
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.address), CONNECT_TIMEOUT_S
                )
                self._writer.write(wire.frame({"key": self.key}, [], []))
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                self.inflight = len(batch)
                items = [dict(item) for item, _, _ in batch]
                self._writer.write(
                    wire.frame({"id": next(self._ids)}, items, [b for _, b, _ in batch])
                )
                await self._writer.drain()
                header, bodies = await wire.read_frame(self._reader)
                for (_, _, fut), item, body in zip(batch, header["items"], bodies, strict=True):
                    if not fut.done():
                        fut.set_result((item, body))
                batch = []
                self.inflight = 0
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
            self.broken = True
            log.info("replica %s at %s:%s went away: %s", self.replica_id, *self.address, e)
            for _, _, fut in batch + self.pending:
                if not fut.done():
                    fut.set_exception(Unavailable(str(e)))
            self.pending = []
            self.close()
        finally:
            self.inflight = 0
            self.busy = False

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class Pool:
    """Replicas of one Serve application (one endpoint variant)."""

    def __init__(self, app: str, key: str, multi_model: bool = False):
        self.app = app
        self.key = key
        self.multi_model = multi_model
        self.conns: dict[str, Conn] = {}
        self._handle = None
        self.inflight = 0

    def register(self, replica_id: str, host: str, port: int) -> None:
        conn = self.conns.get(replica_id)
        if conn is None or conn.broken or conn.address != (host, port):
            self.conns[replica_id] = Conn(replica_id, host, port, self.key)

    def unregister(self, replica_id: str) -> None:
        conn = self.conns.pop(replica_id, None)
        if conn is not None and not conn.busy:
            conn.close()

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()

    async def submit(self, item: dict, body: bytes, target_model: str | None = None):
        """``(item, body)`` of the replica's answer. Raises Unavailable."""
        self.inflight += 1
        try:
            for _ in range(3):
                live = [c for c in self.conns.values() if not c.broken]
                if self.multi_model or not live:
                    return await self._via_handle(item, body, target_model)
                conn = min(live, key=Conn.load)
                try:
                    return await conn.submit(item, body)
                except Unavailable:
                    self.conns.pop(conn.replica_id, None)
            return await self._via_handle(item, body, target_model)
        finally:
            self.inflight -= 1

    async def _via_handle(self, item: dict, body: bytes, target_model: str | None):
        if self._handle is None:
            from ray import serve

            self._handle = serve.get_deployment_handle("replica", app_name=self.app)
        handle = (
            self._handle.options(multiplexed_model_id=target_model)
            if target_model
            else self._handle
        )
        try:
            items, bodies = await handle.invoke.remote([item], [body])
        except Exception as e:  # noqa: BLE001 - Serve's errors have no common base
            raise Unavailable(f"{type(e).__name__}: {e}") from None
        return items[0], bodies[0]

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until nothing is in flight here."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.inflight and loop.time() < deadline:
            await asyncio.sleep(0.01)
