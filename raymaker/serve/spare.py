"""Spares: model processes started before they are needed, each standing in for a variant's
first replica during one cold start (OpenWhisk's pre-warmed "stem cell" containers).

Serve starts a replica in a new worker process; measured here, ~2 s pass before its constructor
runs (the process, ``import ray``, Serve's replica module). A spare has paid that already, and
has imported the handler code and the frameworks of the endpoints that can scale to zero.

1. The gateway keeps one idle spare (no CPU reserved, on the gateway's node) while any routed
   variant can scale to zero.
2. A request reaches such a variant with no replica: the gateway wakes Serve (an empty call
   through the handle, which Serve answers by starting a replica) and hands the variant to the
   spare, which fetches and verifies the model and opens a data plane. The variant's requests
   go to the spare meanwhile.
3. The first replica registers: the spare gets no new request, answers what it holds, and is
   killed. It ran one variant's code, so it is never reused; a fresh spare starts after it.

A spare stands in for at most ``MAX_STANDIN_S``; a variant whose replica has not come by then
waits for it through the handle, as without spares. Variants that want a GPU, multi-model
variants, shadows and models over ``MAX_MODEL_BYTES`` never get one.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
import threading

from raymaker.serve.dataplane import DataPlane, answer, load_handler, requests_of

log = logging.getLogger("raymaker.serve")
MAX_STANDIN_S = 60.0
MAX_MODEL_BYTES = 1 << 30


def warm_framework(framework: str | None) -> None:
    """Import what loading a model of ``framework`` imports."""
    if framework == "xgboost":
        from raymaker.inference.builtin import import_xgboost

        import_xgboost()
    elif framework in ("lightgbm", "torch", "sklearn"):
        importlib.import_module(framework)


class Spare:
    """The spare process (a Ray actor the gateway owns)."""

    def __init__(self, frameworks: list[str]):
        import raymaker.data.recipe  # noqa: F401 - what every built-in loads
        import raymaker.inference.builtin  # noqa: F401
        import raymaker.storage.local  # noqa: F401

        self.plane: DataPlane | None = None
        self.handler = None
        self.workdir = None
        self.lock = threading.Lock()
        self.warm(frameworks)

    def warm(self, frameworks: list[str]) -> None:
        for framework in frameworks:
            try:
                warm_framework(framework)
            except ImportError as e:  # the replica will say so; the spare just stays cooler
                log.warning("spare: cannot import %s: %s", framework, e)

    def load(self, config: dict) -> tuple[str, int]:
        """Load the variant of ``config`` (a replica's config) and serve it on loopback."""
        if self.plane is not None:
            raise RuntimeError("a spare stands in for one variant, once")
        os.environ.update(config["model"].get("environment") or {})  # the handler's own env
        self.workdir = tempfile.mkdtemp(prefix="raymaker-spare-")
        self.handler = load_handler(config, self.workdir)
        self.plane = DataPlane(
            config["key"], "127.0.0.1", self._run, config.get("max_body") or 6 << 20
        )
        self.plane.start()
        log.info("spare stands in for %s/%s", config["endpoint"], config["variant"])
        return self.plane.address

    def _run(self, items: list[dict], bodies: list[bytes]):
        with self.lock:
            return answer(self.handler.invoke(requests_of(items, bodies)))

    def __del__(self):
        plane, workdir = getattr(self, "plane", None), getattr(self, "workdir", None)
        if plane is not None:
            plane.close()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


class Spares:
    """The gateway's side: at most one idle spare, kept while some variant may need one."""

    def __init__(self):
        self.wanted = False
        self.frameworks: set[str] = set()
        self.idle = None  # the idle spare's actor handle

    def want(self, frameworks: set[str] | None) -> None:
        """Keep a spare warm for ``frameworks`` (None: no variant needs one; stop it)."""
        if frameworks is None:
            self.wanted, self.frameworks = False, set()
            self._stop(self.idle)
            self.idle = None
            return
        self.wanted = True
        new = frameworks - self.frameworks
        self.frameworks |= frameworks
        if self.idle is None:
            self._start()
        elif new:
            self.idle.warm.remote(sorted(new))

    def take(self):
        """The idle spare, now the caller's, or None. It may still be starting: it started
        before any replica Serve starts now, so it is still the first process able to answer."""
        spare, self.idle = self.idle, None
        return spare

    def release(self, spare) -> None:
        """Kill a spare that stood in, and start a fresh one for the next cold start."""
        self._stop(spare)
        if self.wanted and self.idle is None:
            self._start()

    def close(self) -> None:
        self.want(None)

    def _start(self) -> None:
        try:
            import ray

            if not ray.is_initialized():  # outside Ray (unit tests): no spares
                return
            self.idle = (
                ray.remote(Spare)
                .options(
                    num_cpus=0,
                    resources={"node:__internal_head__": 0.001},  # beside the gateway
                    max_restarts=0,
                    name=None,
                )
                .remote(sorted(self.frameworks))
            )
        except Exception as e:  # noqa: BLE001 - without a spare, cold starts go through Serve
            log.warning("could not start a spare: %s", e)
            self.idle = None

    @staticmethod
    def _stop(spare) -> None:
        if spare is None:
            return
        try:
            import ray

            ray.kill(spare, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
