"""The cluster launcher YAMLs pass Ray's own validator (offline), the KubeRay manifests carry
what KubeRay needs, and an instance no node can hold is refused with a clear error."""

from __future__ import annotations

import copy
import json
import os

import pytest
import yaml

from raymaker.errors import SpecError
from raymaker.placement import autoscaler_node_types, check_fits

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "cluster")
LAUNCHER = ["aws.yaml", "gcp.yaml", "azure.yaml", "local.yaml"]


def load(*parts):
    with open(os.path.join(CLUSTER, *parts)) as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_yaml_passes_rays_validator_and_sets_raymaker_up(name):
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = load(name)
    validate_config(prepare_config(copy.deepcopy(config)))  # Ray's schema and checks, no cloud
    text = json.dumps(config)
    assert "pip install ~/raymaker-dist/raymaker-*.whl" in text
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    for command in config["head_start_ray_commands"][1:] + config["worker_start_ray_commands"][1:]:
        assert "RAY_AUTH_MODE=token ray start" in command
    assert "--dashboard-host=127.0.0.1" in " ".join(config["head_start_ray_commands"])
    env = "\n".join(config["setup_commands"])
    store = env.split("RAYMAKER_STORE=", 1)[1].split()[0]
    assert store.split("://")[0] in ("s3", "gs", "abfs")
    assert "RAYMAKER_SERVE_HOST=0.0.0.0" in env and "RAYMAKER_SERVE_TOKEN=" in env
    if name != "local.yaml":
        types = config["available_node_types"]
        assert {"head", "cpu_worker", "gpu_worker", "spot_worker"} <= set(types)
        assert "torch==2.13.0" in " ".join(types["cpu_worker"]["worker_setup_commands"])


def test_rays_validator_rejects_a_misspelled_field():
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = load("aws.yaml")
    config["available_node_types"]["gpu_worker"]["max_worker"] = 2  # not max_workers
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(config))


def test_kuberay_manifests_carry_what_kuberay_requires():
    with open(os.path.join(CLUSTER, "kuberay", "raycluster.yaml")) as f:
        docs = list(yaml.safe_load_all(f))
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    job = load("kuberay", "rayjob.yaml")
    assert job["kind"] == "RayJob" and job["spec"]["entrypoint"].startswith("raymaker run ")
    for spec in (cluster["spec"], job["spec"]["rayClusterSpec"]):
        assert cluster["apiVersion"] == job["apiVersion"] == "ray.io/v1"
        assert spec["rayVersion"] == "2.60.0" and spec["authOptions"] == {"mode": "token"}
        head = spec["headGroupSpec"]
        assert "rayStartParams" in head and head["template"]["spec"]["containers"][0]["image"]
        for group in spec["workerGroupSpecs"]:
            assert {"groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams",
                    "template"} <= set(group)  # fmt: skip
            assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
            env = {e["name"] for e in group["template"]["spec"]["containers"][0]["env"]}
            assert "RAYMAKER_STORE" in env
    gpu = next(g for g in cluster["spec"]["workerGroupSpecs"] if g["groupName"] == "gpu")
    assert gpu["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["ports"][0]["port"] == 8080


def test_an_instance_no_node_can_hold_is_refused_with_what_the_cluster_has(tmp_path):
    nodes = [{"CPU": 2.0}, {"CPU": 8.0}]
    check_fits({"cpus": 4, "gpus": 0}, "cpu.4", nodes=nodes, node_types={})
    with pytest.raises(SpecError, match=r"instance_type 'gpu.1': a training worker needs 4 "
                                        r"CPU\(s\) and 1 GPU\(s\).*largest has 8 CPU\(s\), 0 GPU"
                                        r".*no autoscaler"):  # fmt: skip
        check_fits({"cpus": 4, "gpus": 1}, "gpu.1", nodes=nodes, node_types={},
                   what="a training worker")  # fmt: skip
    # a node type the autoscaler can add makes it fit; one with unknown resources counts too
    check_fits({"cpus": 4, "gpus": 1}, "gpu.1", nodes=nodes, node_types={"g": {"CPU": 8, "GPU": 1}})
    check_fits({"cpus": 4, "gpus": 1}, "gpu.1", nodes=nodes, node_types={"g": {}})
    bootstrap = tmp_path / "ray_bootstrap_config.yaml"
    config = load("aws.yaml")
    bootstrap.write_text(yaml.safe_dump(config))
    types = autoscaler_node_types(str(bootstrap))
    assert set(types) == {"cpu_worker", "gpu_worker", "spot_worker"}  # not the head
    assert types["spot_worker"] == {"spot": 1}


def test_rayservice_serves_a_model_through_raymakers_serve_app():
    import importlib

    service = load("kuberay", "rayservice.yaml")
    assert service["apiVersion"] == "ray.io/v1" and service["kind"] == "RayService"
    cluster = service["spec"]["rayClusterConfig"]
    assert cluster["authOptions"] == {"mode": "token"} and cluster["rayVersion"] == "2.60.0"
    app = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"][0]
    module, _, attr = app["import_path"].partition(":")
    assert callable(getattr(importlib.import_module(module), attr))
    assert app["args"]["model_data"] == "registry://churn/approved"
