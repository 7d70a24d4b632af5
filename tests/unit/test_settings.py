import pytest

from raymaker.errors import SpecError
from raymaker.settings import Settings


def test_defaults_live_under_the_home_folder(tmp_path):
    s = Settings.from_env({"RAYMAKER_HOME": str(tmp_path)})
    assert s.home == tmp_path
    assert s.store == str(tmp_path / "store")
    assert s.ray_address is None
    assert s.num_cpus >= 1
    assert 512 <= s.object_store_mb <= 4096


def test_environment_overrides(tmp_path):
    s = Settings.from_env(
        {
            "RAYMAKER_HOME": str(tmp_path),
            "RAYMAKER_STORE": "s3://bucket/prefix",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "RAY_ADDRESS": "http://127.0.0.1:8265",
            "RAYMAKER_NUM_CPUS": "3",
            "RAYMAKER_OBJECT_STORE_MB": "700",
        }
    )
    assert s.store == "s3://bucket/prefix"
    assert s.s3_endpoint_url == "http://127.0.0.1:9000"
    assert s.ray_address == "http://127.0.0.1:8265"
    assert (s.num_cpus, s.object_store_mb) == (3, 700)


@pytest.mark.parametrize("value", ["two", "0", "-1"])
def test_bad_numbers_name_the_variable(value):
    with pytest.raises(SpecError, match="RAYMAKER_NUM_CPUS"):
        Settings.from_env({"RAYMAKER_NUM_CPUS": value})


def test_job_env_forwards_the_store_but_no_credentials():
    s = Settings.from_env(
        {
            "RAYMAKER_STORE": "s3://b/p",
            "RAYMAKER_S3_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "RAYMAKER_SERVE_PORT": "9999",
            "RAYMAKER_SERVE_TOKEN": "token-secret",
        }
    )
    env = s.job_env()
    assert env["RAYMAKER_SERVE_PORT"] == "9999" and "token-secret" not in env.values()
    assert env["RAYMAKER_STORE"] == "s3://b/p"
    assert env["RAYMAKER_S3_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert "secret" not in env.values()


def test_spare_flag_parses_and_names_the_allowed_values():
    assert Settings.from_env({}).serve_spare is True
    assert Settings.from_env({"RAYMAKER_SERVE_SPARE": "off"}).serve_spare is False
    assert Settings.from_env({"RAYMAKER_SERVE_SPARE": "0"}).job_env()["RAYMAKER_SERVE_SPARE"] == "0"
    with pytest.raises(SpecError, match="RAYMAKER_SERVE_SPARE='maybe': allowed values are 1, 0"):
        Settings.from_env({"RAYMAKER_SERVE_SPARE": "maybe"})


def test_instance_type_presets():
    s = Settings.from_env({})
    assert s.resources_for("cpu.2") == {"cpus": 2, "gpus": 0}
    assert s.resources_for("gpu.1")["gpus"] == 1
    with pytest.raises(SpecError, match="allowed: .*cpu.1"):
        s.resources_for("ml.p3.huge")
