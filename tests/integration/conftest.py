"""One real Ray head for the whole session (loopback, token auth on, 2 CPUs)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_head():
    """The embedded local head that raymaker itself starts; its state dict."""
    from raymaker.cluster import LocalCluster
    from raymaker.settings import Settings

    cluster = LocalCluster(Settings.from_env())
    state, _ = cluster.up()
    yield state
    cluster.down()


@pytest.fixture
def session(ray_head, settings):
    """A Session on a fresh store (file and s3 params) and the session's Ray head."""
    from raymaker.sagemaker.session import Session

    return Session(settings=settings)


@pytest.fixture
def local_session(ray_head, local_settings):
    from raymaker.sagemaker.session import Session

    return Session(settings=local_settings)
