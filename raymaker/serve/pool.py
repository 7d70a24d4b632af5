"""The gateway's view of one variant: its registered replicas and its Serve handle.

``Pool.submit`` sends a request to the replica with the fewest requests in flight over the
data plane (``wire``), batching what queues while a frame is out. With no replica registered
(scaled to zero, or still starting) a spare stands in while Serve starts one (``spare``);
without a spare it calls the Serve handle, which waits for Serve to start one. A replica whose
connection breaks is dropped and its requests are sent again elsewhere: predictions are
idempotent, so a scale-down or a rolling update loses nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

from raymaker.serve import wire
from raymaker.serve.spare import MAX_STANDIN_S

log = logging.getLogger("raymaker.serve")
MAX_BATCH = 64
FRAME_BYTES = wire.MAX_BATCH_BYTES  # a frame's bodies together (one body may be larger)
CONNECT_TIMEOUT_S = 2.0
SPARE_LOAD_TIMEOUT_S = 30.0


def _batch_size(pending: list) -> int:
    """How many of ``pending`` go in the next frame: at most MAX_BATCH and FRAME_BYTES of
    bodies, and always one."""
    n, size = 0, 0
    for _, body, _ in pending[:MAX_BATCH]:
        size += len(body)
        if n and size > FRAME_BYTES:
            break
        n += 1
    return n


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
        self._flusher: asyncio.Task | None = None  # held: asyncio keeps tasks weakly
        self._ids = itertools.count()

    def load(self) -> int:
        return self.inflight + len(self.pending)

    def submit(self, item: dict, body: bytes) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.pending.append((item, body, fut))
        if not self.busy:
            self.busy = True
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
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
                n = _batch_size(self.pending)
                batch, self.pending = self.pending[:n], self.pending[n:]
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
                if not fut.done():  # the cause is in the log; a client never sees Ray's words
                    fut.set_exception(Unavailable("the replica's connection closed"))
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

    def __init__(
        self,
        app: str,
        key: str,
        multi_model: bool = False,
        standin: dict | None = None,
        spares=None,
    ):
        self.app = app
        self.key = key
        self.multi_model = multi_model
        self.conns: dict[str, Conn] = {}
        self._handle = None
        self.inflight = 0
        self.standin = standin  # the replica config a spare loads (None: no spare for this one)
        self.spares = spares  # the gateway's ``Spares``
        self.spare: Conn | None = None  # the spare standing in now
        self._spare_actor = None
        self._spare_since = 0.0
        self._loading: asyncio.Future | None = None
        self._spare_spent = False  # one stood in until it expired: none again before a replica
        self.spare_requests = 0
        self._tasks: set[asyncio.Task] = set()
        self._waking = False  # a hello is out

    def register(self, replica_id: str, host: str, port: int) -> None:
        conn = self.conns.get(replica_id)
        if conn is None or conn.broken or conn.address != (host, port):
            self.conns[replica_id] = Conn(replica_id, host, port, self.key)
        self._spare_spent = False
        if self.spare is not None:  # a replica is here: the spare answers what it holds, goes
            self._retire_spare()

    def unregister(self, replica_id: str) -> None:
        conn = self.conns.pop(replica_id, None)
        if conn is not None and not conn.busy:
            conn.close()

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()
        if self.spare is not None:
            self._retire_spare()

    async def submit(self, item: dict, body: bytes, target_model: str | None = None):
        """``(item, body)`` of the replica's answer. Raises Unavailable."""
        self.inflight += 1
        try:
            for _ in range(3):
                live = [c for c in self.conns.values() if not c.broken]
                if not live and not self.multi_model:
                    spare = await self._standing_in()
                    live = [c for c in self.conns.values() if not c.broken]  # one may be here now
                    if not live and spare is not None:
                        self.spare_requests += 1
                        live = [spare]
                    elif not live:
                        self._wake()  # the request waits in Serve; the hello registers its replica
                if self.multi_model or not live:
                    return await self._via_handle(item, body, target_model)
                conn = min(live, key=Conn.load)
                try:
                    return await conn.submit(item, body)
                except Unavailable:
                    self.conns.pop(conn.replica_id, None)
                    if conn is self.spare:
                        self._retire_spare()
            return await self._via_handle(item, body, target_model)
        finally:
            self.inflight -= 1

    # -- a spare standing in during a cold start -----------------------------------------------
    async def _standing_in(self) -> Conn | None:
        """The spare answering for this variant, one taken now, or None (then: the handle)."""
        if self.spare is not None:
            if not self.spare.broken and time.monotonic() - self._spare_since < MAX_STANDIN_S:
                return self.spare
            self._retire_spare()  # broken, or no replica came in time: Serve's handle waits
            self._spare_spent = True
            return None
        if self._loading is None:
            if self.standin is None or self.spares is None or self._spare_spent:
                return None
            taken = self.spares.take()
            if taken is None:
                return None
            self._wake()  # Serve starts the replica meanwhile
            self._loading = asyncio.ensure_future(self._load(taken))
        return await asyncio.shield(self._loading)

    async def _load(self, actor) -> Conn | None:
        """Have ``actor`` (maybe still starting: the call waits behind its start) load this
        variant; None when the replica came first, or the spare failed or took too long."""
        loaded = None
        loading = asyncio.ensure_future(actor.load.remote(self.standin))
        deadline = time.monotonic() + SPARE_LOAD_TIMEOUT_S
        try:
            while not self.conns and time.monotonic() < deadline:
                done, _ = await asyncio.wait({loading}, timeout=0.05)
                if done:
                    loaded = loading.result()
                    break
        except Exception as e:  # noqa: BLE001 - the replica will fail the same way, visibly
            log.warning("a spare could not stand in for %s: %s", self.app, e)
        if not loading.done():
            loading.cancel()
        if loaded is None or self.conns:
            self.spares.release(actor)
            self._loading = None
            return None
        host, port = loaded
        self.spare = Conn("spare", host, port, self.key)
        self._spare_actor, self._spare_since = actor, time.monotonic()
        return self.spare

    def _wake(self) -> None:
        """Send one ``hello`` through the handle unless one is out: Serve starts a replica to
        answer it (scale from zero), and its answer registers that replica, heartbeat or not."""
        if self._waking:
            return
        self._waking = True

        async def call():
            try:
                hello = await self._hello()
            except Exception as e:  # noqa: BLE001 - Serve's errors have no common base
                log.warning("waking %s: %s: %s", self.app, type(e).__name__, e)
                return
            finally:
                self._waking = False
            if hello and hello[0] not in self.conns:
                self.register(*hello)

        self._spawn(call())

    async def _hello(self) -> tuple[str, str, int] | None:
        return await self._handle_for(None).hello.remote()

    def _spawn(self, coro) -> None:
        """Run ``coro`` in the background, held here until it ends (asyncio keeps only a weak
        reference to a task)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _retire_spare(self) -> None:
        conn, actor = self.spare, self._spare_actor
        self.spare = self._spare_actor = self._loading = None

        async def retire():
            deadline = time.monotonic() + 30.0
            while conn.busy and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            conn.close()
            self.spares.release(actor)

        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing is in flight either
            conn.close()
            self.spares.release(actor)
            return
        self._spawn(retire())

    def _handle_for(self, target_model: str | None):
        if self._handle is None:
            from ray import serve

            self._handle = serve.get_deployment_handle("replica", app_name=self.app)
        if target_model:
            return self._handle.options(multiplexed_model_id=target_model)
        return self._handle

    async def _via_handle(self, item: dict, body: bytes, target_model: str | None):
        try:
            items, bodies = await self._handle_for(target_model).invoke.remote([item], [body])
        except Exception as e:  # noqa: BLE001 - Serve's errors have no common base
            # Serve's message names the replica's pid, node and actor: logged, never answered
            log.warning("the Serve handle of %s failed: %s: %s", self.app, type(e).__name__, e)
            raise Unavailable("the replica did not answer") from None
        return items[0], bodies[0]

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until nothing is in flight here."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.inflight and loop.time() < deadline:
            await asyncio.sleep(0.01)
