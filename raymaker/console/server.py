"""Serving the console: checks who may reach it, then runs uvicorn (in the foreground for
``raymaker console``, or in a thread for tests and benchmarks)."""

from __future__ import annotations

import threading

from raymaker.errors import SpecError
from raymaker.serve import console_route
from raymaker.settings import LOOPBACK


def prepare(session, host: str, *, gateway: bool = False):
    """The app for ``host``. Beyond loopback every request needs a token, and one must exist;
    so too behind a gateway that listens beyond loopback (``gateway``). Raises SpecError."""
    from raymaker.console.app import build

    beyond = host not in LOOPBACK or (gateway and not session.settings.serve_loopback())
    if beyond and not session.tokens.any():
        raise SpecError(
            f"the console at {host} is reached beyond loopback (its host, or the gateway's), where "
            "every request needs a token, and "
            "none exists: make one with `raymaker tokens create NAME --role viewer` (or set "
            "RAYMAKER_SERVE_TOKEN, an admin token)"
        )
    return build(session, required=beyond or bool(session.settings.serve_token))


def _config(app, host: str, port: int):
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          lifespan="off", server_header=False)  # fmt: skip


def serve(session, *, host: str = "127.0.0.1", port: int = 8090, gateway: bool = False,
          ready=None) -> None:  # fmt: skip
    """Serve until interrupted; with ``gateway``, also at the endpoints' gateway's address
    for as long as it runs. ``ready(url)`` is called once the console is set up, before it
    listens. Raises SpecError."""
    import uvicorn

    server = uvicorn.Server(_config(prepare(session, host, gateway=gateway), host, port))
    url = _url(host, port)
    if ready is not None:
        ready(url)
    if gateway:
        console_route.register(session.store, url, required=True)
    try:
        server.run()
    finally:
        if gateway:
            console_route.unregister(session.store, url)
    if not server.started:
        raise SpecError(f"the console could not listen on {host}:{port} (is the port taken?)")


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}"


class Background:
    """The console in a thread of this process: ``url``, then ``stop()``."""

    def __init__(self, session, *, host: str = "127.0.0.1", port: int = 0,
                 gateway: bool = False):  # fmt: skip
        import socket

        import uvicorn

        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.app = prepare(session, host, gateway=gateway)
        self.server = uvicorn.Server(_config(self.app, host, port))
        self.server.install_signal_handlers = lambda: None
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="console")
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            if not self.thread.is_alive():
                raise SpecError(f"the console could not listen on {host}:{port}")
            threading.Event().wait(0.01)
        self.url = _url(host, port)
        self.store, self.gateway = session.store, gateway
        if gateway:
            console_route.register(session.store, self.url, required=True)

    def stop(self) -> None:
        if self.gateway:
            console_route.unregister(self.store, self.url)
        self.server.should_exit = True
        self.thread.join(timeout=10)
