"""SageMaker's ml.* instance types: real sizes on a cluster, fitted (with a notice) locally."""

import warnings

import pytest

from raymaker.errors import RaymakerNotice, SpecError
from raymaker.settings import Settings


def cluster() -> Settings:
    return Settings.from_env({}).replace(fit_instance_types=False)


def local(cpus: int) -> Settings:
    return Settings.from_env({}).replace(fit_instance_types=True, num_cpus=cpus)


def test_a_notebooks_instance_types_ask_a_cluster_for_their_real_size():
    s = cluster()
    assert s.resources_for("ml.m5.xlarge") == {"cpus": 4, "gpus": 0}
    assert s.resources_for("ml.c5.2xlarge") == {"cpus": 8, "gpus": 0}
    assert s.resources_for("ml.c4.xlarge") == {"cpus": 4, "gpus": 0}
    assert s.resources_for("ml.m4.xlarge") == {"cpus": 4, "gpus": 0}
    assert s.resources_for("ml.p3.2xlarge") == {"cpus": 8, "gpus": 1}
    assert s.resources_for("ml.g5.12xlarge") == {"cpus": 48, "gpus": 4}
    assert s.resources_for("cpu.2") == {"cpus": 2, "gpus": 0}  # the presets stay


def test_on_the_local_head_they_are_fitted_to_the_machine_with_one_notice(monkeypatch):
    monkeypatch.setenv("RAYMAKER_NUM_GPUS", "0")
    with pytest.warns(RaymakerNotice, match=r"ml.p3.2xlarge \(8 vCPUs, 1 GPUs\) .* as 2 CPUs"):
        assert local(2).resources_for("ml.p3.2xlarge") == {"cpus": 2, "gpus": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a type that fits says nothing
        assert local(4).resources_for("ml.t3.medium") == {"cpus": 2, "gpus": 0}
        assert local(4).resources_for("cpu.8") == {"cpus": 8, "gpus": 0}  # presets as asked


def test_a_mistyped_instance_type_names_the_choices_and_the_nearest():
    with pytest.raises(SpecError) as err:
        cluster().resources_for("ml.m5.xlarg")
    text = str(err.value)
    assert "did you mean ml.m5.xlarge" in text and "cpu.1" in text and "ml.*" in text
    with pytest.raises(SpecError, match="not a known preset"):
        cluster().resources_for("huge")


def test_local_mode_names_and_where_the_fitting_applies(monkeypatch):
    monkeypatch.setenv("RAYMAKER_NUM_GPUS", "1")
    assert local(2).resources_for("local_gpu") == {"cpus": 1, "gpus": 1}
    assert Settings.from_env({}).fit_instance_types  # the local head
    remote = Settings.from_env({"RAY_ADDRESS": "10.0.0.5:6379"})
    assert not remote.fit_instance_types
    job = Settings.from_env({"RAY_ADDRESS": "127.0.0.1:6379", **local(2).job_env()})
    assert job.fit_instance_types and job.num_cpus == 2  # a job fits as its client did


def test_a_submit_with_a_misspelt_instance_type_leaves_nothing_behind(local_settings):
    from raymaker.jobs.client import JobsClient
    from raymaker.storage import store_for_settings

    store = store_for_settings(local_settings)
    jobs = JobsClient(local_settings, store)  # no Ray: the check comes first
    spec = {"kind": "TransformJob", "name": "t1", "model_data": "models/m",
            "input": {"data_uri": "data/x.csv"}, "instance_type": "ml.c5.larg"}  # fmt: skip
    with pytest.raises(SpecError, match=r"instance_type: .*did you mean ml.c5.large"):
        jobs.submit(spec)
    assert store.list("jobs") == []  # no record, no FAILED job


def test_a_deploy_with_a_misspelt_instance_type_writes_no_endpoint_state(local_settings):
    from raymaker.serve.endpoints import Endpoints
    from raymaker.specs import parse_spec
    from raymaker.storage import store_for_settings

    store = store_for_settings(local_settings)
    spec = parse_spec({"kind": "Endpoint", "name": "ep", "variants": [
        {"name": "A", "model_data": "models/m", "instance_type": "cpu.1"},
        {"name": "B", "model_data": "models/m", "instance_type": "ml.g5.xlarg"},
    ]})  # fmt: skip
    with pytest.raises(SpecError, match=r"variants\[1\]\.instance_type: .*ml.g5.xlarge"):
        Endpoints(local_settings, store).deploy(spec)
    assert store.list("endpoints") == []
