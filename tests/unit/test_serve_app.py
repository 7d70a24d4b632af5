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


def test_registered_hooks_are_served_hash_checked(model_dir, local_settings, monkeypatch, tmp_path):  # noqa: F811
    from raymaker.errors import DataError
    from raymaker.registry.registry import ModelRegistry

    store = store_for_settings(local_settings)
    store.put_dir(model_dir[0], "models/m")
    code = tmp_path / "hooks"
    code.mkdir()
    (code / "inference.py").write_text(
        "def model_fn(model_dir):\n    return 'm'\n\n"
        "def transform_fn(model, body, content_type, accept):\n    return b'hooked', accept\n"
    )
    v = ModelRegistry(store=store).register("app-hooks", "models/m", entry_point="inference.py",
                                            source_dir=str(code), approval_status="Approved")  # fmt: skip
    monkeypatch.setenv("RAYMAKER_STORE", local_settings.store)
    server = ModelServer("registry://app-hooks/approved")
    answer = asyncio.run(server(http("POST", "/m/invocations", b"1", {"Accept": "text/csv"})))
    assert answer.status_code == 200 and answer.body == b"hooked"
    store.write_text(store.key(v.inference["source_dir"]) + "/inference.py", "# changed\n")
    with pytest.raises(DataError, match="registry version recorded"):
        ModelServer("registry://app-hooks/approved")
