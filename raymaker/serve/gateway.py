"""The HTTP ingress of every endpoint: one detached Ray actor running uvicorn.

    POST /endpoints/{name}/invocations   SageMaker's InvokeEndpoint
    GET  /ping                           liveness (no token needed)
    GET  /endpoints/{name}/ping          200 when the endpoint exists
    anything else                        the console, when one is registered with the gateway
                                         (``raymaker console --gateway``): one known address

Per request: the credentials (``access``: a bearer token whose roles allow ``invoke``, or
``RAYMAKER_SERVE_TOKEN``, which settings require beyond loopback, also as the secret key of a
SigV4 signature, as boto3 sends; ``sigv4``; a token that is sent is always checked), the
body limit (413), the endpoint (404), its concurrency limit (429 for serverless, 503
otherwise, with ``Retry-After``: never an unbounded queue), the variant (weights, or
``X-Amzn-SageMaker-Target-Variant``), a copy to each shadow variant, the answer with
``X-Amzn-Invoked-Production-Variant``, a sampled capture record and the metrics.

Why not Serve's own proxy: measured here it answers ~135 req/s against ~1,400 for one
uvicorn process; this ingress plus the replicas' batched data plane (``pool``) beats the
single process. Serve still runs the replicas: placement, health, autoscaling, scale to zero
and multiplexing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid

from raymaker.access.tokens import Tokens
from raymaker.errors import AuthError
from raymaker.serve import sigv4
from raymaker.serve.capture import CaptureWriter, record
from raymaker.serve.console_route import ConsoleRoute
from raymaker.serve.pool import Pool, Unavailable
from raymaker.serve.spare import Spares
from raymaker.serve.stats import Stats
from raymaker.settings import LOOPBACK

log = logging.getLogger("raymaker.serve")
VARIANT = "x-amzn-sagemaker-target-variant"
TARGET_MODEL = "x-amzn-sagemaker-target-model"
INVOKED = b"x-amzn-invoked-production-variant"
FORWARDED = (
    "x-amzn-sagemaker-custom-attributes",
    "x-amzn-sagemaker-inference-id",
    "x-amzn-sagemaker-target-model",
    "x-amzn-sagemaker-enable-explanations",
)
SHADOW_LIMIT = 64
SIGNED_GRACE = 2  # an oversized body read (to answer 413) before its signature is checked


class Gateway:
    """The actor class (``endpoints.ensure_gateway`` creates it detached)."""

    def __init__(self, host: str, port: int, token: str | None, max_body: int,
                 store_env: dict | None = None):  # fmt: skip
        self.host, self.port, self.token, self.max_body = host, port, token, max_body
        self.store_env = store_env
        self._tokens: Tokens | None = None
        self.console = ConsoleRoute(store_env)
        # beyond loopback every request needs credentials (settings.check_serve)
        self.required = bool(token) or host not in LOOPBACK
        self.endpoints: dict[str, dict] = {}
        self.pools: dict[str, Pool] = {}
        self.seen: dict[str, dict[str, tuple[str, int]]] = {}  # app -> replica -> address
        self.stats = Stats()
        self.capture = None
        self.shadow_inflight = 0
        self._server = None
        self.spares = Spares()
        self._kv_key = f"gateway-{port}/routes".encode()
        for name, config in _load_routes(self._kv_key).items():  # after a restart by Ray
            self.set_endpoint(name, config, save=False)

    # -- control (called by the client) --------------------------------------------------------
    async def start(self) -> str:
        """Start serving (idempotent); returns the base URL."""
        if self._server is None:
            import uvicorn

            self.capture = CaptureWriter()

            async def asgi(
                scope, receive, send
            ):  # Ray wraps actor methods: hand uvicorn a function
                await self.app(scope, receive, send)

            config = uvicorn.Config(
                asgi,
                host=self.host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                http="httptools",
                loop="none",
                interface="asgi3",
                proxy_headers=False,
                server_header=False,
                timeout_keep_alive=30,
            )
            self._server = uvicorn.Server(config)
            self._server.install_signal_handlers = lambda: None
            asyncio.get_running_loop().create_task(self._server.serve())
            for _ in range(500):
                if self._server.started:
                    break
                if self._server.should_exit:
                    raise OSError(f"the gateway could not listen on {self.host}:{self.port}")
                await asyncio.sleep(0.01)
        return self.url()

    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def set_endpoint(self, name: str, config: dict, save: bool = True) -> None:
        """Route ``name`` by ``config`` (variants with their apps, limits, capture).

        Routes are kept in Ray's GCS as well, so a gateway Ray restarts routes as before.
        """
        for v in config["variants"]:
            if v["app"] not in self.pools:
                pool = Pool(
                    v["app"],
                    v["key"],
                    config.get("multi_model", False),
                    standin=v.get("standin"),
                    spares=self.spares,
                )
                for replica_id, (host, port) in self.seen.get(v["app"], {}).items():
                    pool.register(replica_id, host, port)
                self.pools[v["app"]] = pool
        self.endpoints[name] = config
        self._want_spares()
        if save:
            _save_routes(self._kv_key, self.endpoints)

    def _want_spares(self) -> None:
        """Keep a spare warm while some variant may start from zero (see ``spare``)."""
        standins = [
            v["standin"] for c in self.endpoints.values() for v in c["variants"] if v.get("standin")
        ]
        frameworks = {s["framework"] for s in standins if s.get("framework")}
        self.spares.want(frameworks if standins else None)

    async def retire(self, apps: list[str]) -> None:
        """Forget ``apps`` once their requests in flight are answered."""
        used = {v["app"] for c in self.endpoints.values() for v in c["variants"]}
        for app in apps:
            pool = self.pools.get(app)
            if pool is not None and app not in used:
                await pool.drain()
                pool.close()
                self.pools.pop(app, None)
                self.seen.pop(app, None)

    def remove_endpoint(self, name: str) -> list[str]:
        config = self.endpoints.pop(name, None)
        self._want_spares()
        _save_routes(self._kv_key, self.endpoints)
        return [v["app"] for v in config["variants"]] if config else []

    async def register(self, app: str, replica_id: str, host: str, port: int) -> None:
        """A replica's heartbeat; it also brings a gateway that Ray restarted back up."""
        if self._server is None and self.endpoints:
            await self.start()
        self.seen.setdefault(app, {})[replica_id] = (host, port)
        pool = self.pools.get(app)
        if pool is not None:
            pool.register(replica_id, host, port)

    def unregister(self, app: str, replica_id: str) -> None:
        self.seen.get(app, {}).pop(replica_id, None)
        pool = self.pools.get(app)
        if pool is not None:
            pool.unregister(replica_id)

    def describe(self, name: str) -> dict:
        """Live figures: requests, errors, latency, replicas registered per variant."""
        config = self.endpoints.get(name)
        if config is None:
            return {}
        variants = {}
        for v in config["variants"]:
            pool = self.pools.get(v["app"])
            variants[v["name"]] = {
                "registered_replicas": len(pool.conns) if pool else 0,
                "spare_standing_in": bool(pool and pool.spare),
                "spare_requests": pool.spare_requests if pool else 0,
                "inflight": pool.inflight if pool else 0,
                **self.stats.summary(name, v["name"]),
            }
        return {
            "variants": variants,
            "capture": {"written": self.capture.written, "dropped": self.capture.dropped}
            if self.capture
            else {},
        }

    # -- the ASGI app --------------------------------------------------------------------------
    async def app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/ping":
            return await _reply(send, 200, b"", "text/plain")
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "endpoints" or parts[2] not in ("invocations", "ping"):
            return await self.console.forward(scope, receive, send)
        name = parts[1]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = None
        authorization = headers.get("authorization", "")
        signed = sigv4.is_sigv4(authorization)
        if signed and self.token:  # boto3: the token is the secret key
            body = await self._signed_body(scope, method, headers, receive, send)
            if body is None:
                return  # refused, and answered
        elif signed:  # nothing to check a signature with (loopback, no token): none was needed
            pass
        elif authorization or self.required:
            try:
                self._principal(authorization).require("invoke")
            except AuthError as e:
                extra = [(b"www-authenticate", b"Bearer")] if e.http_status == 401 else []
                return await _error(send, e.http_status, type(e).__name__, str(e), extra=extra)
        config = self.endpoints.get(name)
        if config is None:
            return await _error(send, 404, "NotFound", f"endpoint {name!r} does not exist")
        if parts[2] == "ping":
            return await _reply(send, 200, b"", "text/plain")
        if method != "POST":
            return await _error(send, 405, "SpecError", "invocations take POST")
        if body is None:
            body = await _read_body(receive, self.max_body)
        if body is None:
            return await _error(send, 413, "SpecError", f"body over {self.max_body} bytes")
        await self._invoke(name, config, headers, body, send)

    async def _signed_body(self, scope, method, headers, receive, send) -> bytes | None:
        """The body of a SigV4-signed request, or None once a refusal is sent. Everything but
        the body's hash is checked before a byte of it is read; the signature too when the
        client signed the hash (X-Amz-Content-SHA256), and then the body only against that
        hash. A client not yet proven gets little grace past the limit."""
        raw = _raw_request(scope)
        signed_hash = sigv4.signed_payload_hash(raw[2])
        try:
            if signed_hash:
                sigv4.verify(self.token, method, *raw, None)
            else:
                sigv4.check(raw[2])
        except sigv4.SignatureError as e:
            await _error(send, 401, "AuthError", str(e))
            return None
        body = None
        if _declared_length(headers) <= SIGNED_GRACE * self.max_body:
            body = await _read_body(receive, self.max_body, grace=SIGNED_GRACE)
        if body is None:
            await _error(send, 413, "SpecError", f"body over {self.max_body} bytes")
            return None
        try:
            if signed_hash:
                sigv4.check_payload(signed_hash, body)
            else:
                sigv4.verify(self.token, method, *raw, body)
        except sigv4.SignatureError as e:
            await _error(send, 401, "AuthError", str(e))
            return None
        return body

    def _principal(self, authorization: str):
        """Who sent the request (``access.Tokens``: the token's record is cached two seconds, so
        this reads the store at most that often per token). Raises AuthError."""
        if self._tokens is None:
            from raymaker.storage.store import store_from_env

            self._tokens = Tokens(store_from_env(self.store_env) if self.store_env else None,
                                  admin_token=self.token)  # fmt: skip
        return self._tokens.authenticate(authorization, required=self.required)

    async def _invoke(self, name: str, config: dict, headers: dict, body: bytes, send) -> None:
        started = time.perf_counter()
        wanted = headers.get(VARIANT)
        primaries = [v for v in config["variants"] if not v["shadow"]]
        if wanted:
            chosen = next((v for v in primaries if v["name"] == wanted), None)
            if chosen is None:
                names = ", ".join(v["name"] for v in primaries)
                return await _error(
                    send,
                    400,
                    "SpecError",
                    f"variant {wanted!r} is not on endpoint {name!r}; variants: {names}",
                )
        else:
            chosen = _pick(primaries)
        limit = config.get("max_concurrency")
        pool = self.pools[chosen["app"]]
        inflight = sum(self.pools[v["app"]].inflight for v in primaries)
        if limit and inflight >= limit:
            status = 429 if config.get("serverless") else 503
            self.stats.add(name, chosen["name"], status, 0.0)
            return await _error(
                send,
                status,
                "Throttled",
                f"endpoint {name!r} has {inflight} requests in flight (limit {limit})",
                extra=[(b"retry-after", b"1")],
            )
        item = {
            "ct": headers.get("content-type") or "text/csv",
            "accept": headers.get("accept"),
            "headers": {k: headers[k] for k in FORWARDED if k in headers},
        }
        target = headers.get(TARGET_MODEL)
        try:
            answer, out = await pool.submit(item, body, target)
        except Unavailable as e:
            self.stats.add(name, chosen["name"], 503, time.perf_counter() - started)
            return await _error(
                send,
                503,
                "Unavailable",
                f"no replica answered: {e}",
                extra=[(b"retry-after", b"1")],
            )
        status, content_type = answer["status"], answer["ct"]
        await _reply(send, status, out, content_type, extra=[(INVOKED, chosen["name"].encode())])
        self.stats.add(name, chosen["name"], status, time.perf_counter() - started)
        capture = config.get("capture")
        if capture and status == 200 and self.capture.sample(capture["percentage"]):
            self.capture.add(
                capture,
                name,
                chosen["name"],
                record(
                    item["ct"],
                    body,
                    content_type,
                    out,
                    inference_id=headers.get("x-amzn-sagemaker-inference-id"),
                ),
            )
        for shadow in config["variants"]:
            if shadow["shadow"] and self.shadow_inflight < SHADOW_LIMIT:
                self.shadow_inflight += 1
                asyncio.get_running_loop().create_task(
                    self._shadow(name, config, shadow, item, body, target)
                )

    async def _shadow(self, name, config, variant, item, body, target) -> None:
        started = time.perf_counter()
        try:
            answer, out = await self.pools[variant["app"]].submit(dict(item), body, target)
            self.stats.add(name, variant["name"], answer["status"], time.perf_counter() - started)
            capture = config.get("capture")
            if capture and self.capture.sample(capture["percentage"]):
                self.capture.add(
                    capture,
                    name,
                    variant["name"],
                    record(item["ct"], body, answer["ct"], out, event_id=str(uuid.uuid4())),
                )
        except Exception as e:  # noqa: BLE001 - a shadow never affects the caller
            self.stats.add(name, variant["name"], 503, time.perf_counter() - started)
            log.warning("shadow variant %s of %s: %s", variant["name"], name, e)
        finally:
            self.shadow_inflight -= 1


def _load_routes(key: bytes) -> dict:
    try:
        from ray.experimental.internal_kv import _internal_kv_get

        raw = _internal_kv_get(key, namespace=b"raymaker")
        return json.loads(raw) if raw else {}
    except Exception:  # noqa: BLE001 - outside Ray (unit tests) there is nothing to restore
        return {}


def _save_routes(key: bytes, endpoints: dict) -> None:
    try:
        from ray.experimental.internal_kv import _internal_kv_put

        _internal_kv_put(key, json.dumps(endpoints).encode(), overwrite=True, namespace=b"raymaker")
    except Exception:  # noqa: BLE001 - outside Ray (unit tests)
        pass


def _raw_request(scope) -> tuple[str, str, list[tuple[str, str]]]:
    """The path and query as sent and the headers as received: what a signature covers."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return (
        raw_path.decode("latin-1"),
        scope.get("query_string", b"").decode("latin-1"),
        [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
    )


def _pick(variants: list[dict]) -> dict:
    total = sum(v["weight"] for v in variants)
    if total <= 0:
        return variants[0]
    x = random.random() * total
    for v in variants:
        x -= v["weight"]
        if x < 0:
            return v
    return variants[-1]


def _declared_length(headers: dict) -> int:
    try:
        return int(headers.get("content-length") or 0)
    except ValueError:
        return 0


async def _read_body(receive, limit: int, grace: int = 8) -> bytes | None:
    """The body, or None when it is over ``limit``. An oversized body sent without a length
    is still read (up to ``grace`` x ``limit``, then dropped) so the client gets the 413
    rather than a reset connection."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > grace * limit:
            return None
        more = message.get("more_body", False)
    return b"".join(chunks) if size <= limit else None


async def _reply(send, status: int, body: bytes, content_type: str, extra=()) -> None:
    headers = [(b"content-type", content_type.encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send, status: int, kind: str, message: str, extra=()) -> None:
    body = json.dumps({"error": kind, "message": message}).encode()
    await _reply(
        send, status, body, "application/json", extra=[(b"x-amzn-errortype", kind.encode()), *extra]
    )
