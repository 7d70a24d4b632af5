"""Session.connect on a real Ray head: this process joins the shared head with its token."""

import pytest


def test_connect_joins_the_local_head(ray_head, local_settings):
    import ray

    from raymaker.sagemaker.session import Session

    session = Session(settings=local_settings)
    session.connect()
    try:

        @ray.remote
        def square(x):
            return x * x

        assert ray.get(square.remote(7)) == 49
        assert ray.cluster_resources()["CPU"] == ray_head["num_cpus"]
        session.connect()  # a second call is a no-op
    finally:
        ray.shutdown()


def test_connect_to_an_unreachable_address_is_a_cluster_error(local_settings):
    from raymaker.errors import ClusterError
    from raymaker.sagemaker.session import Session

    session = Session(settings=local_settings.replace(ray_address="127.0.0.1:9"))
    with pytest.raises(ClusterError, match="127.0.0.1:9"):
        session.connect()
