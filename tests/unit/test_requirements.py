"""A training script's requirements.txt: what the environment has is not installed again; the
rest is installed once per node (cached by the file's hash), beside the platform, never over."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from wheels import wheel

from raymaker.errors import JobFailed
from raymaker.train import requirements


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYMAKER_PYDEPS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_what_the_environment_satisfies_is_not_installed(tmp_path, cache):
    import numpy

    req = tmp_path / "requirements.txt"
    req.write_text(
        "# the platform's own\n"
        f"numpy=={numpy.__version__}\ntorch\npandas>=1  # a comment\n"
        "pywin32; sys_platform == 'win32'\n"  # not for this platform
        "rm-surely-not-installed==1.0\nnumpy<1\n"
    )
    assert requirements.unsatisfied(str(req)) == ["rm-surely-not-installed==1.0", "numpy<1"]
    req.write_text(f"numpy=={numpy.__version__}\ntorch==2.13.0\nscikit-learn\n")
    lines = []
    assert requirements.install(str(req), log=lines.append) is None
    assert "nothing to install" in lines[0] and not cache.exists()


def test_missing_requirements_install_once_per_node_and_are_reused(tmp_path, cache):
    req = tmp_path / "requirements.txt"
    req.write_text(wheel(str(tmp_path)) + "\ntorch\n")
    lines = []
    site = requirements.install(str(req), log=lines.append)
    assert "installing" in lines[-1] and site.startswith(str(cache))
    out = subprocess.run(
        [sys.executable, "-c", "import rmtinydep, torch; print(rmtinydep.VALUE, torch.__file__)"],
        env={**os.environ, "PYTHONPATH": site},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "42" and not out[1].startswith(str(cache))  # the platform's torch
    assert not any(name.startswith("torch") for part in site.split(os.pathsep)
                   for name in os.listdir(part))  # fmt: skip
    assert requirements.install(str(req), log=lines.append) == site
    assert "reused" in lines[-1]


def test_a_failed_install_names_the_file_and_leaves_no_cache_entry(tmp_path, cache):
    req = tmp_path / "requirements.txt"
    req.write_text(str(tmp_path / "missing-1.0-py3-none-any.whl") + "\n")
    with pytest.raises(JobFailed, match="installing requirements.txt failed") as info:
        requirements.install(str(req), log=lambda line: None)
    assert "missing-1.0" in (info.value.traceback or "")
    assert [p for p in os.listdir(cache) if not p.endswith(".lock")] == []
