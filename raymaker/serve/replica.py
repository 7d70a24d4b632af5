"""One replica of one endpoint variant: a Ray Serve deployment holding the handler.

Serve owns its life: placement, health checks, autoscaling (``autoscale.policy``), scale to
zero, multiplexing. Requests reach it two ways:

- the data plane: at start the replica opens a TCP port (``wire``), registers with the
  gateway and answers batched frames on a thread of its own. This is the fast path.
- the Serve handle (``invoke``): the gateway uses it when no replica is registered yet (a
  cold start from zero: Serve queues the call while it starts one) and for multi-model
  endpoints, where Serve's multiplexing routes by target model.

``record_autoscaling_stats`` reports the data plane's requests in flight, which Serve cannot
see, so the autoscaling policy counts both paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time

from ray import serve

from raymaker.errors import SpecError
from raymaker.inference.handler import Handler, Request, Response
from raymaker.serve import wire

log = logging.getLogger("ray.serve")
NAMESPACE = "raymaker"
HEARTBEAT_S = 2.0
MODELS_PER_REPLICA = 8
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


def _fetch(
    config: dict, target: str, model_uri: str, expected_sha256: str | None = None
) -> tuple[str, str | None]:
    """Download the model (and the code) into ``target``; returns their local folders."""
    from raymaker.settings import Settings
    from raymaker.storage import artifacts
    from raymaker.storage.store import store_for_settings

    store = store_for_settings(Settings.from_env({**os.environ, **config.get("store_env", {})}))
    model_dir = os.path.join(target, "model")
    artifacts.download(store, model_uri, model_dir, expected_sha256=expected_sha256)
    code_dir = None
    if config.get("code_uri"):
        code_dir = os.path.join(target, "code")
        store.get_dir(store.key(config["code_uri"]), code_dir)
    return model_dir, code_dir


def _handler(
    config: dict, target: str, model_uri: str, expected_sha256: str | None = None
) -> Handler:
    model_dir, code_dir = _fetch(config, target, model_uri, expected_sha256)
    return Handler.load(
        model_dir,
        code_dir,
        config.get("entry_point"),
        endpoint=config["endpoint"],
        variant=config["variant"],
    )


class EndpointReplica:
    """The Serve deployment class (decorated in ``endpoints.build_app``)."""

    def __init__(self, config: dict):
        started = time.perf_counter()
        self.config = config
        os.environ.update(config.get("environment") or {})  # Model(env=...): the handler's own
        self.workdir = tempfile.mkdtemp(prefix="raymaker-replica-")
        self.lock = threading.Lock()
        self.inflight = 0
        self.handler = None
        if not config.get("multi_model"):
            self.handler = _handler(
                config, self.workdir, config["model_data"], config.get("model_sha256")
            )
        self.replica_id = _replica_id()
        self._closed = False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((config.get("bind_host") or _node_ip(), 0))
        self._sock.listen(128)
        self.address = self._sock.getsockname()[:2]
        if self.handler is not None:
            threading.Thread(target=self._serve, name="raymaker-data-plane", daemon=True).start()
            threading.Thread(target=self._heartbeat, name="raymaker-heartbeat", daemon=True).start()
        log.info(
            "replica of %s/%s ready in %.2f s at %s:%s",
            config["endpoint"],
            config["variant"],
            time.perf_counter() - started,
            *self.address,
        )

    # -- the Serve handle path -----------------------------------------------------------------
    async def invoke(
        self, items: list[dict], bodies: list[bytes]
    ) -> tuple[list[dict], list[bytes]]:
        """Answer a batch (the same items and bodies a frame carries)."""
        handler = self.handler
        model_id = serve.get_multiplexed_model_id()
        if self.config.get("multi_model"):
            if not model_id:
                return _answer(
                    [
                        Response.error(
                            400,
                            "this is a multi-model endpoint: set the "
                            "X-Amzn-SageMaker-Target-Model header",
                            "SpecError",
                        )
                    ]
                    * len(items)
                )
            try:
                handler = await self.model(model_id)
            except Exception as e:  # noqa: BLE001 - a missing or broken model is this request's
                status = getattr(e, "http_status", 500)
                return _answer(
                    [Response.error(status, f"target model {model_id!r}: {e}", type(e).__name__)]
                    * len(items)
                )
        return await asyncio.to_thread(self._run, handler, items, bodies)

    def _run(self, handler: Handler, items: list[dict], bodies: list[bytes]):
        requests = [
            Request(body, i.get("ct") or "text/csv", i.get("accept"), i.get("headers") or {})
            for i, body in zip(items, bodies, strict=True)
        ]
        self.inflight += len(requests)
        try:
            with self.lock:
                return _answer(handler.invoke(requests))
        finally:
            self.inflight -= len(requests)

    @serve.multiplexed(max_num_models_per_replica=MODELS_PER_REPLICA)
    async def model(self, model_id: str) -> Handler:
        """The handler of one model of a multi-model endpoint (LRU per replica)."""
        if not _MODEL_ID.match(model_id) or ".." in model_id.split("/"):
            raise SpecError(f"target model {model_id!r} is not a relative model path")
        target = os.path.join(self.workdir, "models", model_id.replace("/", "__"))
        uri = self.config["model_data"].rstrip("/") + "/" + model_id
        return await asyncio.to_thread(_handler, self.config, target, uri)

    def record_autoscaling_stats(self) -> dict:
        return {"inflight": float(self.inflight)}

    def check_health(self) -> None:
        if self._closed:
            raise RuntimeError("replica closed")

    def __del__(self):
        self._closed = True
        sock = getattr(self, "_sock", None)  # absent when the constructor failed
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.close()
        try:
            import ray

            gateway = ray.get_actor(self.config["gateway"], namespace=NAMESPACE)
            gateway.unregister.remote(self.config["app"], self.replica_id)
        except Exception:  # noqa: BLE001 - the gateway may be gone already
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the data plane ------------------------------------------------------------------------
    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.start_server(self._connection, sock=self._sock))
        loop.run_forever()

    async def _connection(self, reader, writer) -> None:
        try:
            header, _ = await wire.read_frame(reader)
            if not hmac.compare_digest(str(header.get("key", "")), self.config["key"]):
                return
            while not self._closed:
                header, bodies = await wire.read_frame(reader)
                items, out = self._run(self.handler, header["items"], bodies)
                writer.write(wire.frame({"id": header.get("id")}, items, out))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def _heartbeat(self) -> None:
        """Register with the gateway now and again (a restarted gateway learns of us)."""
        import ray

        while not self._closed:
            try:
                gateway = ray.get_actor(self.config["gateway"], namespace=NAMESPACE)
                gateway.register.remote(
                    self.config["app"], self.replica_id, self.address[0], self.address[1]
                )
            except Exception:  # noqa: BLE001 - no gateway yet: the handle path still works
                pass
            time.sleep(HEARTBEAT_S)


def _answer(responses: list[Response]) -> tuple[list[dict], list[bytes]]:
    return [{"status": r.status, "ct": r.content_type} for r in responses], [
        r.body for r in responses
    ]


def _replica_id() -> str:
    try:
        from ray import serve

        return serve.get_replica_context().replica_id.unique_id
    except Exception:  # noqa: BLE001 - outside Serve (unit tests)
        return f"local-{os.getpid()}"


def _node_ip() -> str:
    try:
        import ray

        return ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001
        return "127.0.0.1"
