"""``raymaker.serve.app``: one model as a plain Serve application (KubeRay's RayService, ``serve
run``), called here without a cluster."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from starlette.requests import Request
from test_inference import COLUMNS, expected, frame, model_dir  # noqa: F401 - a fixture

from raymaker.errors import SpecError
from raymaker.serve.app import ModelServer, build
from raymaker.storage import store_for_settings


def http(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Request:
    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "server": ("test", 80), "scheme": "http", "root_path": ""}  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def test_model_server_answers_sagemakers_paths(model_dir, local_settings, monkeypatch):  # noqa: F811
    store = store_for_settings(local_settings)
    store.put_dir(model_dir[0], "models/m")
    monkeypatch.setenv("RAYMAKER_STORE", local_settings.store)
    server = ModelServer("models/m")
    rows = frame(4, seed=3)[COLUMNS]
    body = rows.to_csv(header=False, index=False).encode()
    answer = asyncio.run(
        server(http("POST", "/churn/invocations", body, {"Content-Type": "text/csv"}))
    )
    assert answer.status_code == 200
    got = np.array(answer.body.split(), float)
    np.testing.assert_allclose(got, expected(model_dir, rows), rtol=1e-6)
    assert asyncio.run(server(http("GET", "/churn/ping"))).status_code == 200
    bad = asyncio.run(
        server(http("POST", "/churn/invocations", b"{", {"Content-Type": "application/json"}))
    )
    assert bad.status_code == 400
    assert asyncio.run(server(http("GET", "/churn/other"))).status_code == 404


def test_build_needs_model_data():
    with pytest.raises(SpecError, match="args.model_data"):
        build({})
    assert type(build({"model_data": "models/m", "num_replicas": 2})).__name__ == "Application"
