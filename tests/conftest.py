"""Shared fixtures: an isolated RAYMAKER_HOME, a real S3-compatible server, stores.

The S3 server is moto's standalone server on 127.0.0.1 (as s3fs's own tests use); storage
tests run against both a local folder and ``s3://`` through the ``store`` fixture.
"""

from __future__ import annotations

import atexit
import os
import socket
import tempfile
import uuid

import pytest

# Before anything reads settings or starts Ray: a private home, quiet Ray, fake S3 credentials.
_HOME = tempfile.mkdtemp(prefix="raymaker-test-home-")
os.environ["RAYMAKER_HOME"] = _HOME
os.environ["RAYMAKER_STORE"] = os.path.join(_HOME, "store")
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ.setdefault("RAYMAKER_NUM_CPUS", "2")
os.environ.setdefault("RAYMAKER_OBJECT_STORE_MB", "512")
os.environ.pop("RAY_ADDRESS", None)
# Jobs are MLflow runs by default; here only the tests of tracking turn it on (each job would
# otherwise import MLflow in its driver: ~2 s of CPU on this 2-core machine, times every job).
os.environ.setdefault("RAYMAKER_MLFLOW", "0")
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_key] = _value

BUCKET = "raymaker-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


os.environ["RAYMAKER_SERVE_PORT"] = str(_free_port())  # the endpoints' gateway, not 8080


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 API on 127.0.0.1 with the test bucket; its endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    os.environ["RAYMAKER_S3_ENDPOINT_URL"] = url
    yield url
    server.stop()


@pytest.fixture
def s3_root(s3_endpoint) -> str:
    """A fresh ``s3://`` prefix for one test."""
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["file", "s3"])
def store_uri(request, tmp_path) -> str:
    """A fresh store root, once as a local folder and once on the S3 server."""
    if request.param == "file":
        return str(tmp_path / "store")
    return request.getfixturevalue("s3_root")


@pytest.fixture
def settings(store_uri):
    from raymaker.settings import Settings

    return Settings.from_env().replace(store=store_uri)


@pytest.fixture
def store(settings):
    from raymaker.storage import store_for_settings

    return store_for_settings(settings)


@pytest.fixture
def local_settings(tmp_path):
    """Settings with a fresh local-folder store."""
    from raymaker.settings import Settings

    return Settings.from_env().replace(store=str(tmp_path / "store"))


def _remove_home():
    import shutil

    shutil.rmtree(_HOME, ignore_errors=True)


# atexit, not pytest_sessionfinish: session fixtures (the Ray head, whose state file lives in
# the home) are torn down after that hook when a run stops early (-x).
atexit.register(_remove_home)
