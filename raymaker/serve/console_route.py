"""The gateway's door to the console: every path that is not an endpoint's goes to the console
registered in the store (``access/console.json``, written by ``raymaker console --gateway``),
so a cluster has one known address for its endpoints and its pages.

The console checks every request itself (a console behind a gateway that listens beyond
loopback requires a token); the gateway passes the request through as it came, headers and
body, and answers 404 as before when no console is registered or it does not answer.
"""

from __future__ import annotations

import json
import logging
import time

log = logging.getLogger("raymaker.serve")
KEY = "access/console.json"
RECHECK_S = 5.0
LIMIT = 8 << 20  # a console form or page is small; a store object larger than this is refused
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate", "content-length"}  # fmt: skip
# Host is passed on as it came: the console's same-origin check compares it with Origin


def register(store, url: str, *, required: bool) -> None:
    """Name ``url`` as the console the gateway serves (the console calls this)."""
    store.write_json(KEY, {"url": url.rstrip("/"), "required": required, "at": time.time()})


def unregister(store, url: str) -> None:
    """Forget the console at ``url`` (if it is still the one registered)."""
    try:
        if store.read_json(KEY).get("url") == url.rstrip("/"):
            store.delete(KEY)
    except Exception:  # noqa: BLE001 - gone already, or the store away: nothing to undo
        pass


class ConsoleRoute:
    def __init__(self, store_env: dict | None):
        self.store_env = store_env
        self._store = None
        self._url: str | None = None
        self._checked = 0.0
        self._session = None

    async def _target(self) -> str | None:
        import asyncio

        if self.store_env is None:
            return None
        if time.monotonic() - self._checked >= RECHECK_S:
            self._checked = time.monotonic()
            try:
                self._url = (await asyncio.to_thread(self._read)).get("url")
            except Exception:  # noqa: BLE001 - none registered (NotFound), or the store away
                self._url = None
        return self._url

    def _read(self) -> dict:
        if self._store is None:
            from raymaker.storage.store import store_from_env

            self._store = store_from_env(self.store_env)
        return json.loads(self._store.read_bytes(KEY))

    async def forward(self, scope, receive, send) -> None:
        """Pass the request to the console and its answer back; 404 without a console."""
        from raymaker.serve.gateway import _error, _read_body

        target = await self._target()
        path, method = scope["path"], scope["method"]
        if not target:
            return await _error(send, 404, "NotFound", f"no route {method} {path}")
        body = await _read_body(receive, LIMIT, grace=1)
        if body is None:
            return await _error(send, 413, "SpecError", f"body over {LIMIT} bytes")
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False
            )
        raw = (scope.get("raw_path") or path.encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{target}{raw}" + (f"?{query}" if query else "")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in HOP]  # fmt: skip
        try:
            async with self._session.request(method, url, headers=headers, data=body,
                                             allow_redirects=False) as reply:  # fmt: skip
                data = await reply.read()
                out = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                       for k, v in reply.headers.items() if k.lower() not in HOP]  # fmt: skip
        except (aiohttp.ClientError, TimeoutError) as e:
            self._checked = 0.0  # look again next time: it may have moved
            log.warning("console at %s: %s", target, e)
            return await _error(send, 502, "Unavailable", "the console does not answer")
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": data})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
