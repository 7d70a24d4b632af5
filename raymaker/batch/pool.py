"""Where a transform's items run: lanes in the job's driver, an actor pool, or both at once.

One scheduler hands out the items a free slot at a time:

    driver lanes  threads of the job's driver over one TransformWorker (Arrow's parser, the
                  model and the formatter release the GIL); a one-instance job runs only here
    actors        Ray actors of the preset's resources, each a TransformWorker loaded once,
                  ``max_concurrent_transforms`` calls at a time (and one queued); a killed
                  actor is restarted and its item redone (the part is rewritten whole)

On CPU instances the driver is instance 1 of ``instance_count`` (it reserves that instance's
cores) and the other instances are actors. Starting an actor costs seconds (a process, imports,
the model); meanwhile the driver also scores on the lanes of the actors not up yet, whose cores
sit idle until then, so a pool is never slower to start than the driver alone. A GPU pool is
all actors and its driver does not score (the model may need the GPU).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from raymaker.errors import JobFailed

DRIVER = "driver"


def run_items(
    items,
    config: dict,
    tally,
    *,
    lanes: int,
    actors: int = 0,
    start_pool=None,
    per_actor: int = 1,
    driver_is_instance: bool = True,
    driver_scores: bool = True,
) -> dict:
    """Run every item; each summary goes to ``tally.add`` (which raises at a failed one).

    ``lanes`` is one instance's; ``start_pool(actors, per_actor)`` (called on a thread: it
    joins Ray) returns the actors' Pool. Returns how many items the driver and the actors did.
    Raises JobFailed.
    """
    from raymaker.batch.worker import TransformWorker

    began = time.perf_counter()
    pool_up_s = None
    pending = deque(items)
    running: dict = {}  # future -> DRIVER or the actor that runs it
    done = {DRIVER: 0, "actors": 0}
    local = TransformWorker({**config, "threads": 1}) if driver_scores else None
    own = 1 if driver_is_instance else 0
    executor = ThreadPoolExecutor(
        lanes * (own + actors) + 1, thread_name_prefix="raymaker-transform"
    )
    starting = executor.submit(start_pool, actors, per_actor) if actors else None
    pool = None
    try:
        while pending or running:
            # the driver's own instance, plus the idle cores of the actors not up yet
            up = pool.up() if pool else 0
            allowed = lanes * (own + actors - up) if local else 0
            busy = sum(1 for where in running.values() if where == DRIVER)
            while pending and busy < allowed:
                running[executor.submit(local.run, pending.popleft().to_dict())] = DRIVER
                busy += 1
            if pool is not None:
                for future, actor in pool.submit(pending):
                    running[future] = actor
            waiting = [
                *running,
                *(pool.starting() if pool else []),
                *([starting] if starting else []),
            ]
            finished, _ = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished:
                if future is starting:
                    pool, starting = future.result(), None  # raises what joining Ray raised
                    continue
                if pool is not None and pool.started(future):
                    if pool.up() == actors:
                        pool_up_s = round(time.perf_counter() - began, 3)
                    continue
                where = running.pop(future)
                summary = _summary(future, where)
                if where != DRIVER:
                    pool.release(where)
                done[DRIVER if where == DRIVER else "actors"] += 1
                tally.add(summary)
    finally:
        pending.clear()
        executor.shutdown(wait=True, cancel_futures=True)
        if pool is None and starting is not None and starting.done() and not starting.cancelled():
            pool = starting.result() if starting.exception() is None else None
        if pool is not None:
            pool.stop()
        if local is not None:
            local.close()
    counts = {"driver_items": done[DRIVER], "pool_items": done["actors"]}
    return {**counts, "pool_up_s": pool_up_s} if actors else counts


def _summary(future, where) -> dict:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - an actor that died twice, Ray's error
        if where == DRIVER:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise JobFailed(f"a transform actor failed: {type(exc).__name__}: {first}") from None


class Pool:
    """The actors, which of them are up, and their free call slots."""

    def __init__(self, config: dict, count: int, resources: dict, per_actor: int):
        import ray

        from raymaker.batch.worker import TransformWorker

        remote = ray.remote(TransformWorker).options(
            num_cpus=resources.get("cpus", 1),
            num_gpus=resources.get("gpus", 0) or None,
            max_restarts=1,
            max_task_retries=1,
            max_concurrency=per_actor,
        )
        self.slots = per_actor + 1  # one queued call: no round trip between two items
        self.actors = [remote.remote(config) for _ in range(count)]
        self._starting = {a.ready.remote().future(): a for a in self.actors}
        self._free: dict = {}  # actor -> free call slots

    def starting(self) -> list:
        return list(self._starting)

    def up(self) -> int:
        return len(self._free)

    def started(self, future) -> bool:
        """True when ``future`` was an actor's start (now up); raises JobFailed if it failed."""
        actor = self._starting.pop(future, None)
        if actor is None:
            return False
        try:
            failure = future.result()
        except Exception as exc:  # noqa: BLE001 - Ray's actor errors
            raise JobFailed(f"a transform actor did not start: {type(exc).__name__}") from None
        if failure:
            raise JobFailed(f"transform failed: {failure}")
        self._free[actor] = self.slots
        return True

    def submit(self, pending: deque):
        """Hand pending items to free slots; yields ``(future, actor)``."""
        for actor, slots in self._free.items():
            while slots and pending:
                yield actor.run.remote(pending.popleft().to_dict()).future(), actor
                slots -= 1
            self._free[actor] = slots

    def release(self, actor) -> None:
        self._free[actor] += 1

    def stop(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
