"""A spare standing in for a variant's first replica, without Ray: a real ``Spare`` loads a real
model and answers over its real data plane; the pool hands over to a replica that registers."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from test_inference import COLUMNS, expected, frame, model_dir  # noqa: F401 - a fixture

from raymaker.serve.dataplane import DataPlane, answer, load_handler, requests_of
from raymaker.serve.pool import Pool
from raymaker.serve.spare import Spare, Spares
from raymaker.storage import store_for_settings


class Remote:
    """An in-process stand-in for an actor method's ``.remote`` (the unit has no Ray)."""

    def __init__(self, fn):
        self.fn = fn

    def remote(self, *args):
        async def call():
            return self.fn(*args)

        return call()


class InProcess:
    """A ``Spare`` called as the pool calls an actor."""

    def __init__(self, spare):
        self.spare = spare
        self.load = Remote(spare.load)


class LocalSpares:
    def __init__(self, spare):
        self.spare, self.released = spare, []

    def take(self):
        spare, self.spare = self.spare, None
        return spare

    def release(self, spare):
        self.released.append(spare)


class QuietPool(Pool):
    """The pool, with its hello through Serve's handle counted instead of sent; like a real
    one at zero replicas, it stays out (no replica answers it here)."""

    woken = 0

    async def _hello(self):
        self.woken += 1
        await asyncio.Event().wait()


class HandlePool(QuietPool):
    """The pool, with Serve's handle answering ``serve`` and recording what it was sent."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    async def _via_handle(self, item, body, target_model):
        self.calls.append(body)
        return {"status": 200, "ct": "text/csv"}, b"serve\n"


def config(local_settings, key="k") -> dict:
    from raymaker.inference.reference import ModelRef

    ref = ModelRef(uri=store_for_settings(local_settings).uri("models/m"),
                   store_env=local_settings.job_env(), framework="xgboost")  # fmt: skip
    return {"endpoint": "e", "variant": "AllTraffic", "app": "rm-e", "key": key,
            "model": ref.to_dict(), "framework": "xgboost"}  # fmt: skip


@pytest.fixture
def stored(model_dir, local_settings):  # noqa: F811
    store_for_settings(local_settings).put_dir(model_dir[0], "models/m")
    return config(local_settings)


def csv(rows) -> bytes:
    return rows.to_csv(header=False, index=False).encode()


def test_a_spare_loads_a_variant_once_and_answers_as_its_replica_would(model_dir, stored):  # noqa: F811
    spare = Spare(["xgboost", "no-such-framework"])
    try:
        host, port = spare.load(stored)
        assert host == "127.0.0.1" and port > 0
        with pytest.raises(RuntimeError, match="once"):
            spare.load(stored)
        rows = frame(6, seed=4)[COLUMNS]
        pool = QuietPool("rm-e", "k")
        pool.register("spare", host, port)
        item, body = asyncio.run(pool.submit({"ct": "text/csv"}, csv(rows)))
        assert item["status"] == 200
        np.testing.assert_allclose(np.array(body.split(), float), expected(model_dir, rows),
                                   rtol=1e-6)  # fmt: skip
        replica = load_handler(stored, str(spare.workdir) + "-replica")
        want = answer(replica.invoke(requests_of([{"ct": "text/csv"}], [csv(rows)])))
        assert body == want[1][0]  # byte for byte the replica's answer
    finally:
        spare.__del__()


def test_the_pool_uses_the_spare_until_a_replica_registers(model_dir, stored, tmp_path):  # noqa: F811
    rows = frame(3, seed=5)[COLUMNS]
    spare = Spare([])
    spares = LocalSpares(InProcess(spare))
    replica = DataPlane("k", "127.0.0.1", lambda items, bodies: (
        [{"status": 200, "ct": "text/csv"}] * len(items), [b"replica\n"] * len(items)))  # fmt: skip
    replica.start()

    async def scenario():
        pool = QuietPool("rm-e", "k", standin=stored, spares=spares)
        first = await asyncio.gather(
            *(pool.submit({"ct": "text/csv"}, csv(rows)) for _ in range(4))
        )
        assert pool.woken == 1 and pool.spare is not None and pool.spare_requests == 4
        pool.register("r1", *replica.address)  # the replica is here: the spare goes
        assert pool.spare is None
        then = await pool.submit({"ct": "text/csv"}, csv(rows))
        for _ in range(100):
            if spares.released:
                break
            await asyncio.sleep(0.01)
        return first, then

    try:
        first, then = asyncio.run(scenario())
        assert {body for _, body in first} == {first[0][1]} and first[0][1] != b"replica\n"
        assert then[1] == b"replica\n"
        assert len(spares.released) == 1  # it ran this variant's code: never reused
    finally:
        replica.close()
        spare.__del__()


def test_a_failing_spare_leaves_the_request_to_serve(local_settings):
    broken = {**config(local_settings), "model_data": "models/missing"}
    spares = LocalSpares(InProcess(Spare([])))

    pool = HandlePool("rm-e", "k", standin=broken, spares=spares)
    assert asyncio.run(pool.submit({"ct": "text/csv"}, b"1,2,3")) == (
        {"status": 200, "ct": "text/csv"}, b"serve\n")  # fmt: skip
    assert pool.calls == [b"1,2,3"] and len(spares.released) == 1 and pool.spare is None


def test_a_spare_stands_in_once_until_a_replica_comes(stored, monkeypatch):
    """One that served its time is not followed by another: requests then wait for Serve."""
    import raymaker.serve.pool as pool_module

    spares = LocalSpares(InProcess(Spare([])))

    async def scenario():
        pool = HandlePool("rm-e", "k", standin=stored, spares=spares)
        first = await pool.submit({"ct": "text/csv"}, csv(frame(1)[COLUMNS]))
        monkeypatch.setattr(pool_module, "MAX_STANDIN_S", 0.0)
        spares.spare = InProcess(Spare([]))  # another would be free
        later = [await pool.submit({"ct": "text/csv"}, b"1") for _ in range(2)]
        return pool, first, later

    pool, first, later = asyncio.run(scenario())
    assert first[1] != b"serve\n" and [body for _, body in later] == [b"serve\n"] * 2
    assert pool.spare_requests == 1 and pool.woken == 1 and spares.spare is not None
    pool.register("r1", "127.0.0.1", 1)  # a replica came: a later cold start may use a spare
    assert not pool._spare_spent
    for used in [*spares.released, spares.spare]:
        used.spare.__del__()


def test_spares_start_only_under_ray():
    import sys

    spares = Spares()
    spares.want({"xgboost"})
    ray_on = "ray" in sys.modules and sys.modules["ray"].is_initialized()  # a whole-suite run
    taken = spares.take()
    assert spares.wanted and (taken is not None) == ray_on
    spares.close()
    Spares._stop(taken)
    assert not spares.wanted and spares.idle is None


class HelloPool(HandlePool):
    """Serve's handle answers the hello with ``replica``'s address once ``ready`` is set; the
    replica's own heartbeat never comes (as when Ray does not deliver it)."""

    def __init__(self, *args, replica=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.replica, self.ready, self.hellos = replica, asyncio.Event(), 0

    async def _hello(self):
        self.hellos += 1
        await self.ready.wait()
        return "r1", *self.replica.address


@pytest.mark.parametrize("with_spare", [True, False])
def test_the_hello_registers_a_replica_whose_heartbeat_never_came(stored, with_spare):
    replica = DataPlane("k", "127.0.0.1", lambda items, bodies: (
        [{"status": 200, "ct": "text/csv"}] * len(items), [b"replica\n"] * len(items)))  # fmt: skip
    replica.start()
    spares = LocalSpares(InProcess(Spare([]))) if with_spare else None

    async def scenario():
        pool = HelloPool("rm-e", "k", standin=stored if with_spare else None, spares=spares,
                         replica=replica)  # fmt: skip
        cold = await asyncio.gather(*(pool.submit({"ct": "text/csv"}, b"1") for _ in range(3)))
        assert pool.hellos == 1  # one hello out at a time
        pool.ready.set()  # Serve's replica is up and answers the hello
        for _ in range(200):
            if pool.conns and pool.spare is None:
                break
            await asyncio.sleep(0.01)
        warm = await pool.submit({"ct": "text/csv"}, b"1")
        return pool, cold, warm

    try:
        pool, cold, warm = asyncio.run(scenario())
        assert list(pool.conns) == ["r1"] and pool.spare is None
        assert warm[1] == b"replica\n"  # over the data plane, not the handle
        if with_spare:
            assert pool.spare_requests == 3 and pool.calls == []
        else:
            assert [body for _, body in cold] == [b"serve\n"] * 3 and len(pool.calls) == 3
    finally:
        replica.close()
        if spares:
            for used in [*spares.released, spares.spare]:
                if used is not None:
                    used.spare.__del__()
