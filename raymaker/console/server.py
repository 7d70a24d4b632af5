"""Serving the console: checks who may reach it, then runs uvicorn (in the foreground for
``raymaker console``, or in a thread for tests and benchmarks)."""

from __future__ import annotations

import threading

from raymaker.errors import SpecError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def prepare(session, host: str):
    """The app for ``host``. Beyond loopback every request needs a token, and one must exist.
    Raises SpecError."""
    from raymaker.console.app import build

    beyond = host not in LOOPBACK
    if beyond and not session.tokens.any():
        raise SpecError(
            f"--host {host} listens beyond loopback, where every request needs a token, and "
            "none exists: make one with `raymaker tokens create NAME --role viewer` (or set "
            "RAYMAKER_SERVE_TOKEN, an admin token)"
        )
    return build(session, required=beyond or bool(session.settings.serve_token))


def _config(app, host: str, port: int):
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          lifespan="off", server_header=False)  # fmt: skip


def serve(session, *, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Serve until interrupted. Raises SpecError."""
    import uvicorn

    server = uvicorn.Server(_config(prepare(session, host), host, port))
    server.run()
    if not server.started:
        raise SpecError(f"the console could not listen on {host}:{port} (is the port taken?)")


class Background:
    """The console in a thread of this process: ``url``, then ``stop()``."""

    def __init__(self, session, *, host: str = "127.0.0.1", port: int = 0):
        import socket

        import uvicorn

        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.app = prepare(session, host)
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
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.url = f"http://{shown}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
