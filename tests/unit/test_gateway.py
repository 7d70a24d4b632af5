"""The endpoints' gateway, wire, capture, scaling and specs without Ray: the ASGI app is
driven directly, with a stand-in pool where a replica would answer."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from raymaker.errors import SpecError
from raymaker.sagemaker.serializers import CSVSerializer, JSONSerializer
from raymaker.serve import wire
from raymaker.serve.autoscale import policy
from raymaker.serve.capture import capture_key, record
from raymaker.serve.gateway import Gateway
from raymaker.serve.plan import scaling as _scaling
from raymaker.serve.pool import Unavailable
from raymaker.settings import Settings
from raymaker.specs import parse_spec


class SlowPool:
    """Answers every request after ``delay`` seconds, echoing the body."""

    def __init__(self, delay=0.0, fail=False):
        self.delay, self.fail, self.inflight, self.seen, self.conns = delay, fail, 0, [], {}
        self.spare, self.spare_requests = None, 0

    async def submit(self, item, body, target_model=None):
        self.inflight += 1
        try:
            await asyncio.sleep(self.delay)
            if self.fail:
                raise Unavailable("replica gone")
            self.seen.append((item, body))
            return {"status": 200, "ct": "text/csv"}, body
        finally:
            self.inflight -= 1


def gateway(token=None, max_body=1000, limit=None, serverless=False, variants=None):
    gw = Gateway("127.0.0.1", 0, token, max_body)
    variants = variants or [{"name": "A", "app": "a", "key": "k", "weight": 1.0, "shadow": False}]
    gw.endpoints["e"] = {"variants": variants, "max_concurrency": limit,
                         "serverless": serverless, "capture": None}  # fmt: skip
    for v in variants:
        gw.pools[v["app"]] = SlowPool()
    return gw


async def call(gw, path, body=b"", headers=None, method="POST"):
    sent = []
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)] or [b""]

    async def receive():
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method,
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}  # fmt: skip
    await gw.app(scope, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, sent[1]["body"]


def run(coro):
    return asyncio.run(coro)


def test_routes_ping_404_and_variant_header():
    gw = gateway()
    assert run(call(gw, "/ping", method="GET"))[0] == 200
    assert run(call(gw, "/endpoints/e/ping", method="GET"))[0] == 200
    status, _, body = run(call(gw, "/endpoints/zzz/invocations", b"1"))
    assert status == 404 and b"endpoint 'zzz' does not exist" in body
    assert run(call(gw, "/other", b"1"))[0] == 404
    status, headers, body = run(
        call(gw, "/endpoints/e/invocations", b"1,2", {"Content-Type": "text/csv"})
    )
    assert (status, body) == (200, b"1,2") and headers["x-amzn-invoked-production-variant"] == "A"
    status, _, body = run(
        call(gw, "/endpoints/e/invocations", b"1", {"X-Amzn-SageMaker-Target-Variant": "B"})
    )
    assert status == 400 and b"variants: A" in body


def test_token_and_body_limit():
    gw = gateway(token="t0k", max_body=500)
    assert run(call(gw, "/endpoints/e/invocations", b"1"))[0] == 401
    assert (
        run(call(gw, "/endpoints/e/invocations", b"1", {"Authorization": "Bearer nope"}))[0] == 401
    )
    assert (
        run(call(gw, "/endpoints/e/invocations", b"1", {"Authorization": "Bearer t0k"}))[0] == 200
    )
    assert run(call(gw, "/ping", method="GET"))[0] == 200  # health checks need no token
    status, _, body = run(
        call(gw, "/endpoints/e/invocations", b"x" * 501, {"Authorization": "Bearer t0k"})
    )
    assert status == 413 and b"over 500 bytes" in body


def test_a_sigv4_signature_made_with_the_token_is_accepted():
    from test_sigv4 import signed

    gw = gateway(token="t0k")
    url = "http://127.0.0.1:8080/endpoints/e/invocations"
    status, _, body = run(call(gw, "/endpoints/e/invocations", b"1,2,3", signed(url)))
    assert (status, body) == (200, b"1,2,3")
    status, _, body = run(call(gw, "/endpoints/e/invocations", b"1,2,3", signed(url, secret="x")))
    assert status == 401 and b"sign with the endpoint token" in body
    # a signature is checked before the route: an unknown endpoint is not revealed
    other = "http://127.0.0.1:8080/endpoints/zzz/invocations"
    assert run(call(gw, "/endpoints/zzz/invocations", b"1", signed(other, b"1", "x")))[0] == 401
    assert run(call(gw, "/endpoints/zzz/invocations", b"1", signed(other, b"1")))[0] == 404
    get = signed(url.replace("invocations", "ping"), b"")  # signed as a POST: refused as a GET
    assert run(call(gw, "/endpoints/e/ping", b"", get, method="GET"))[0] == 401


@pytest.mark.parametrize(("serverless", "code"), [(True, 429), (False, 503)])
def test_concurrency_limit_sheds_with_retry_after(serverless, code):
    gw = gateway(limit=2, serverless=serverless)
    gw.pools["a"].delay = 0.2

    async def burst():
        return await asyncio.gather(*(call(gw, "/endpoints/e/invocations", b"1") for _ in range(6)))

    results = run(burst())
    statuses = sorted(r[0] for r in results)
    assert statuses == [200, 200] + [code] * 4
    shed = next(r for r in results if r[0] == code)
    assert shed[1]["retry-after"] == "1"


def test_weights_shadow_copies_and_an_unavailable_variant():
    variants = [
        {"name": "A", "app": "a", "key": "k", "weight": 3.0, "shadow": False},
        {"name": "B", "app": "b", "key": "k", "weight": 1.0, "shadow": False},
        {"name": "S", "app": "s", "key": "k", "weight": 1.0, "shadow": True},
    ]
    gw = gateway(variants=variants)

    async def many():
        out = [await call(gw, "/endpoints/e/invocations", b"1") for _ in range(400)]
        await asyncio.sleep(0.05)  # shadow copies finish
        return out

    results = run(many())
    picked = [r[1]["x-amzn-invoked-production-variant"] for r in results]
    assert "S" not in picked and 60 <= picked.count("B") <= 140  # 100 expected
    assert len(gw.pools["s"].seen) == 400
    gw.pools["a"].fail = gw.pools["b"].fail = True
    status, headers, body = run(call(gw, "/endpoints/e/invocations", b"1"))
    assert status == 503 and headers["retry-after"] == "1" and b"replica gone" in body
    summary = gw.describe("e")["variants"]
    assert (
        summary["S"]["requests"] == 400
        and summary["A"]["requests"] + summary["B"]["requests"] == 401
    )


def test_wire_frames_round_trip():
    async def roundtrip():
        reader = asyncio.StreamReader()
        reader.feed_data(wire.frame({"id": 7}, [{"ct": "text/csv"}, {"ct": "x"}], [b"ab", b""]))
        reader.feed_eof()
        return await wire.read_frame(reader)

    header, bodies = run(roundtrip())
    assert header == {"id": 7, "items": [{"ct": "text/csv"}, {"ct": "x"}]} and bodies == [
        b"ab",
        b"",
    ]


def test_capture_records_in_sagemaker_shape():
    rec = record("text/csv", b"1,2", "application/json", b'{"p": 1}', inference_id="abc", now=0.5)
    data = rec["captureData"]
    assert data["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                     "data": "1,2", "encoding": "CSV"}  # fmt: skip
    assert data["endpointOutput"]["encoding"] == "JSON"
    assert rec["eventMetadata"]["inferenceTime"] == "1970-01-01T00:00:00.500Z"
    assert rec["eventMetadata"]["inferenceId"] == "abc" and rec["eventVersion"] == "0"
    binary = record("application/x-npy", b"\x93NUMPY", "text/csv", b"1")
    assert binary["captureData"]["endpointInput"]["encoding"] == "BASE64"
    key = capture_key(
        "capture", "e", "A", time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, 0)) - time.timezone
    )
    assert key.startswith("capture/e/A/2026/03/04/05/") and key.endswith(".jsonl")


class Ctx:
    def __init__(self, running, handle_requests, inflight, target=2.0):
        self.current_num_replicas = running
        self.target_num_replicas = running
        self.total_num_requests = handle_requests
        self.aggregated_metrics = {"inflight": {f"r{i}": v for i, v in enumerate(inflight)}}

        class Config:
            def get_target_ongoing_requests(self):
                return target

        self.config = Config()


def test_autoscaling_policy_counts_the_data_plane():
    assert policy(Ctx(1, 0, [8.0]))[0] == pytest.approx(4.0)  # 8 in flight / target 2
    assert policy(Ctx(2, 2, [1.0, 1.0]))[0] == pytest.approx(2.0)
    assert policy(Ctx(1, 0, [0.0]))[0] == 0.0  # idle: Serve's wrapper applies min and delays


def test_scaling_from_specs():
    serverless = parse_spec({"kind": "Endpoint", "name": "e", "variants": [{"model_data": "m"}],
                             "serverless": {"max_concurrency": 20, "idle_timeout_s": 7}})  # fmt: skip
    s = _scaling(serverless)
    assert s["limit"] == 20 and s["autoscaling"]["min_replicas"] == 0
    assert s["autoscaling"]["downscale_to_zero_delay_s"] == 7
    assert s["autoscaling"]["policy"]["policy_function"] == "raymaker.serve.autoscale:policy"
    fixed = parse_spec({"kind": "Endpoint", "name": "e",
                        "variants": [{"model_data": "m", "instance_count": 2}]})  # fmt: skip
    assert _scaling(fixed) == {"autoscaling": None, "limit": 512}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"variants": []}, "variants"),
        (
            {"variants": [{"model_data": "m", "shadow": True}]},
            "at least one variant must not be a shadow",
        ),
        ({"variants": [{"model_data": "m"}, {"model_data": "n"}]}, "variant names must be unique"),
        (
            {
                "variants": [{"model_data": "m"}],
                "autoscaling": {"min_replicas": 3, "max_replicas": 2},
            },
            "max_replicas (2) must be >= min_replicas (3)",
        ),
        (
            {"variants": [{"model_data": "m"}], "serverless": {"max_concurrency": 0}},
            "max_concurrency",
        ),
        ({"variants": [{"model_data": "m", "colour": 1}]}, "colour"),
    ],
)
def test_endpoint_spec_errors_name_the_field(raw, message):
    with pytest.raises(SpecError) as err:
        parse_spec({"kind": "Endpoint", "name": "e", **raw})
    assert message in str(err.value)


def test_serving_beyond_loopback_needs_a_token():
    settings = Settings.from_env({"RAYMAKER_SERVE_HOST": "0.0.0.0"})
    with pytest.raises(SpecError, match="RAYMAKER_SERVE_TOKEN"):
        settings.check_serve()
    Settings.from_env({"RAYMAKER_SERVE_HOST": "0.0.0.0", "RAYMAKER_SERVE_TOKEN": "x"}).check_serve()
    Settings.from_env({}).check_serve()


def test_serializers():
    import pandas as pd

    assert CSVSerializer().serialize([[1, 2], [3, 4]]) == b"1,2\n3,4\n"
    assert CSVSerializer().serialize(pd.DataFrame({"a": [1], "b": ["x"]})) == b"1,x\n"
    assert json.loads(JSONSerializer().serialize(pd.DataFrame({"a": [1]}))) == {
        "instances": [{"a": 1}]
    }


def test_a_non_ascii_token_or_signature_is_a_401_not_a_500():
    from test_sigv4 import signed

    gw = gateway(token="t0k")
    path = "/endpoints/e/invocations"
    assert run(call(gw, path, b"1", {"Authorization": "Bearer tökén"}))[0] == 401
    headers = signed("http://127.0.0.1:8080/endpoints/e/invocations")
    headers["Authorization"] = headers["Authorization"][:-3] + "é€ü"
    assert run(call(gw, path, b"1,2,3", headers))[0] == 401


def test_a_p99_past_the_last_latency_bucket_is_valid_json():
    import json

    from raymaker.serve.stats import BOUNDS, Stats

    stats = Stats()
    for _ in range(10):
        stats.add("e", "v", 200, BOUNDS[-1] * 10)  # slower than the last bucket's bound
    figures = stats.summary("e", "v")
    json.dumps(figures, allow_nan=False)  # Infinity would raise here
    assert figures["latency_p99_ms"] is None and figures["requests"] == 10


def test_invoking_a_gateway_that_is_down_is_a_cluster_error():
    import socket
    import types

    from raymaker.errors import ClusterError
    from raymaker.sagemaker.predictor import Predictor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    session = types.SimpleNamespace(
        endpoints=types.SimpleNamespace(
            url=lambda name: f"http://127.0.0.1:{port}/endpoints/{name}/invocations"
        ),
        settings=types.SimpleNamespace(serve_token=None),
    )
    with pytest.raises(ClusterError, match="does not answer"):
        Predictor("e", session=session).predict("1,2,3")


def test_a_sigv4_request_is_judged_before_its_body_is_read():
    import hashlib

    from test_sigv4 import signed

    gw = gateway(token="t0k", max_body=500)
    path, url = "/endpoints/e/invocations", "http://127.0.0.1:8080/endpoints/e/invocations"
    reads = []

    async def call_counting(headers, body):
        sent = []

        async def receive():
            reads.append(len(body))
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "path": path, "method": "POST",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip
        await gw.app(scope, receive, send)
        return sent[0]["status"]

    # a wrong key over a signed payload hash: 401 with no byte of the body read
    body = b"1,2,3"
    digest = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    assert run(call_counting(signed(url, body, "wrong", headers=digest), body)) == 401
    # a malformed or stale authorization header: 401 unread
    stale = signed(url, body)
    stale["X-Amz-Date"] = "20200101T000000Z"
    assert run(call_counting(stale, body)) == 401
    # a declared length far over the limit: 413 unread
    big = b"x" * 1100
    assert run(call_counting({**signed(url, big), "Content-Length": "1100"}, big)) == 413
    assert reads == []
    # signed hash and the right key: read once, answered
    assert run(call_counting(signed(url, body, headers=digest), body)) == 200
    # a body that is not the one whose hash was signed: 401
    assert run(call_counting(signed(url, body, headers=digest), b"9,9,9")) == 401


def test_the_data_plane_holds_nothing_for_a_peer_without_the_key():
    import socket
    import struct
    import time

    from raymaker.serve.dataplane import DataPlane

    plane = DataPlane("s3cret", "127.0.0.1", lambda items, bodies: (items, bodies), max_body=1000)
    plane.key_timeout_s = plane.frame_timeout_s = 0.5
    plane.start()

    def closed_soon(payload: bytes, within: float = 3.0) -> bool:
        with socket.create_connection(plane.address, timeout=within) as s:
            s.sendall(payload)
            started = time.monotonic()
            try:
                return s.recv(1) == b"" and time.monotonic() - started < within
            except TimeoutError:
                return False

    try:
        # a bare 512 MiB length prefix, no key: dropped at once, nothing buffered
        assert closed_soon(struct.pack("!II", 16, 512 << 20))
        # a big first frame (the key frame is capped at 4 KiB)
        assert closed_soon(struct.pack("!II", 1 << 20, 0) + b"{" * 1000)
        # silence, or half a frame: dropped after the key deadline
        assert closed_soon(b"")
        assert closed_soon(struct.pack("!II", 100, 0) + b'{"key"')
        # the right key, then a frame over the body cap: dropped
        key = wire.frame({"key": "s3cret"}, [], [])
        assert closed_soon(key + struct.pack("!II", 10, wire.frame_limit(1000) + 1))
        # the right key and a good frame: answered
        with socket.create_connection(plane.address, timeout=3) as s:
            s.sendall(key + wire.frame({"id": 1}, [{"ct": "text/csv"}], [b"1,2"]))
            assert b"1,2" in s.recv(4096)
    finally:
        plane.close()
