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
import logging
import os
import re
import shutil
import tempfile
import threading
import time

from ray import serve

from raymaker.errors import SpecError
from raymaker.inference.handler import Handler, Response
from raymaker.inference.reference import ModelRef
from raymaker.serve.dataplane import DataPlane, answer, load_handler, requests_of

log = logging.getLogger("ray.serve")
NAMESPACE = "raymaker"
HEARTBEAT_S = 2.0
MODELS_PER_REPLICA = 8
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


class EndpointReplica:
    """The Serve deployment class (decorated in ``endpoints.build_app``)."""

    def __init__(self, config: dict):
        started = time.perf_counter()
        self.config = config
        os.environ.update(config["model"].get("environment") or {})  # the handler's own env
        self.workdir = tempfile.mkdtemp(prefix="raymaker-replica-")
        self.lock = threading.Lock()
        self.inflight = 0
        self.handler = None
        if not config.get("multi_model"):
            self.handler = load_handler(config, self.workdir)
        self.replica_id = _replica_id()
        self._closed = False
        self.plane = DataPlane(
            config["key"],
            config.get("bind_host") or _node_ip(),
            lambda items, bodies: self._run(self.handler, items, bodies),
            config.get("max_body") or 6 << 20,
        )
        self.address = self.plane.address
        if self.handler is not None:
            self.plane.start()
            threading.Thread(target=self._heartbeat, name="raymaker-heartbeat", daemon=True).start()
        log.info(
            "replica of %s/%s ready in %.2f s at %s:%s",
            config["endpoint"],
            config["variant"],
            time.perf_counter() - started,
            *self.address,
        )

    # -- the Serve handle path -----------------------------------------------------------------
    async def hello(self) -> tuple[str, str, int] | None:
        """``(replica id, host, port)`` of this replica's data plane (None for multi-model).

        The gateway's wake-up call during a cold start: Serve starts a replica to answer it,
        and the answer registers the replica at once, whether or not a heartbeat got there.
        """
        if self.handler is None:
            return None
        return self.replica_id, self.address[0], self.address[1]

    async def invoke(
        self, items: list[dict], bodies: list[bytes]
    ) -> tuple[list[dict], list[bytes]]:
        """Answer a batch (the same items and bodies a frame carries)."""
        if not items:  # nothing to predict
            return [], []
        handler = self.handler
        model_id = serve.get_multiplexed_model_id()
        if self.config.get("multi_model"):
            if not model_id:
                return answer(
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
                return answer(
                    [Response.error(status, f"target model {model_id!r}: {e}", type(e).__name__)]
                    * len(items)
                )
        return await asyncio.to_thread(self._run, handler, items, bodies)

    def _run(self, handler: Handler, items: list[dict], bodies: list[bytes]):
        requests = requests_of(items, bodies)
        self.inflight += len(requests)
        try:
            with self.lock:
                return answer(handler.invoke(requests))
        finally:
            self.inflight -= len(requests)

    @serve.multiplexed(max_num_models_per_replica=MODELS_PER_REPLICA)
    async def model(self, model_id: str) -> Handler:
        """The handler of one model of a multi-model endpoint (LRU per replica)."""
        if not _MODEL_ID.match(model_id) or ".." in model_id.split("/"):
            raise SpecError(f"target model {model_id!r} is not a relative model path")
        target = os.path.join(self.workdir, "models", model_id.replace("/", "__"))
        ref = ModelRef.from_dict(self.config["model"]).child(model_id)
        return await asyncio.to_thread(load_handler, self.config, target, ref)

    def record_autoscaling_stats(self) -> dict:
        return {"inflight": float(self.inflight)}

    def check_health(self) -> None:
        if self._closed:
            raise RuntimeError("replica closed")

    def __del__(self):
        self._closed = True
        plane = getattr(self, "plane", None)  # absent when the constructor failed
        if plane is None:
            return
        plane.close()
        try:
            import ray

            gateway = ray.get_actor(self.config["gateway"], namespace=NAMESPACE)
            gateway.unregister.remote(self.config["app"], self.replica_id)
        except Exception:  # noqa: BLE001 - the gateway may be gone already
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _heartbeat(self) -> None:
        """Register with the gateway now and again (a restarted gateway learns of us).

        Measured here, about one replica in a hundred never sees its call reach the gateway:
        Ray does not deliver the gateway's address to that process, and its calls queue. The
        gateway then learns of it from the answer to its wake-up call (``hello``); this says so
        in the replica's log rather than failing quietly.
        """
        import ray

        sent, unanswered_since, warned = None, None, False
        while not self._closed:
            try:
                if sent is not None:
                    done, _ = ray.wait([sent], timeout=0)
                    if done:
                        unanswered_since = None
                    elif unanswered_since is None:
                        unanswered_since = time.monotonic()
                    elif time.monotonic() - unanswered_since > 5 * HEARTBEAT_S and not warned:
                        warned = True
                        log.warning(
                            "registration with the gateway %s unanswered for %.0f s",
                            self.config["gateway"],
                            time.monotonic() - unanswered_since,
                        )
                gateway = ray.get_actor(self.config["gateway"], namespace=NAMESPACE)
                sent = gateway.register.remote(
                    self.config["app"], self.replica_id, self.address[0], self.address[1]
                )
            except Exception:  # noqa: BLE001 - no gateway yet: the handle path still works
                pass
            time.sleep(HEARTBEAT_S)


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
