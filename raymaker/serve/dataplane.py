"""What a model process serves: the handler loaded from the store, and its data plane.

Both kinds of model process use it: a Serve replica (``replica``) and a spare standing in for
one during a cold start (``spare``). Neither Serve nor Ray is imported here.

``DataPlane`` listens on a TCP port of its own and answers the gateway's batched frames
(``wire``) on a thread of its own, one frame at a time, each predicted as one matrix. The first
frame on a connection must carry the variant's key: it is read with a 4 KiB cap and a
``KEY_TIMEOUT_S`` deadline, so a peer without the key can make the process hold nothing; later
frames are capped by the body limit (``wire.frame_limit``) and must arrive whole within
``wire.FRAME_TIMEOUT_S`` once begun.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
import threading
from collections.abc import Callable

from raymaker.inference.handler import Handler, Request, Response
from raymaker.inference.reference import ModelRef, load
from raymaker.serve import wire

KEY_TIMEOUT_S = 10.0


def load_handler(config: dict, target: str, ref: ModelRef | None = None) -> Handler:
    """The variant's handler (``config["model"]``, or one model ``ref`` of a multi-model
    prefix), its files fetched into ``target`` and hash-checked."""
    ref = ref or ModelRef.from_dict(config["model"])
    return load(ref, target, endpoint=config["endpoint"], variant=config["variant"])


def answer(responses: list[Response]) -> tuple[list[dict], list[bytes]]:
    """Responses as a frame's items and bodies."""
    return [{"status": r.status, "ct": r.content_type} for r in responses], [
        r.body for r in responses
    ]


def requests_of(items: list[dict], bodies: list[bytes]) -> list[Request]:
    return [
        Request(body, i.get("ct") or "text/csv", i.get("accept"), i.get("headers") or {})
        for i, body in zip(items, bodies, strict=True)
    ]


class DataPlane:
    """A listening socket answering frames with ``run(items, bodies) -> (items, bodies)``."""

    def __init__(
        self,
        key: str,
        host: str,
        run: Callable[[list, list], tuple[list, list]],
        max_body: int = 6 << 20,
    ):
        self.key = key
        self.max_frame = wire.frame_limit(max_body)
        self.key_timeout_s = KEY_TIMEOUT_S
        self.frame_timeout_s = wire.FRAME_TIMEOUT_S
        self.run = run
        self.closed = False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(128)
        self.address: tuple[str, int] = self._sock.getsockname()[:2]

    def start(self) -> None:
        threading.Thread(target=self._serve, name="raymaker-data-plane", daemon=True).start()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.close()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.start_server(self._connection, sock=self._sock))
        loop.run_forever()

    async def _connection(self, reader, writer) -> None:
        try:
            # The key comes first, in a small frame, soon: a peer without it is dropped
            # before it can make this process buffer anything.
            header, _ = await wire.read_frame(
                reader,
                max_bytes=0,
                max_header=wire.KEY_FRAME,
                timeout_s=self.key_timeout_s,
                first_byte_timeout_s=self.key_timeout_s,
            )
            given = str(header.get("key", "")).encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, self.key.encode()):
                return
            while not self.closed:
                header, bodies = await wire.read_frame(
                    reader, self.max_frame, timeout_s=self.frame_timeout_s
                )
                items, out = self.run(header["items"], bodies)
                writer.write(wire.frame({"id": header.get("id")}, items, out))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, TimeoutError, KeyError):
            pass
        finally:
            writer.close()
