"""Every ``bash`` block of README.md runs, in order, after ``raymaker quickstart --keep-cluster``,
as a newcomer would type them: each must exit 0. A block that cannot run here (it launches a
cloud cluster, or it is the two set-up commands) is marked ``<!-- not run: why -->`` above it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK = re.compile(r"(<!-- not run: [^>]*-->\n)?```bash\n(.*?)```", re.S)


def readme_blocks() -> list[str]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return [m.group(2) for m in BLOCK.finditer(text) if not m.group(1)]


def test_the_readme_names_its_skipped_blocks_and_runs_the_rest():
    blocks = readme_blocks()
    assert len(blocks) >= 8 and "raymaker deploy" in "".join(blocks)


@pytest.mark.slow
def test_readme_cli_examples_run_in_order(ray_head, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(os.path.join(ROOT, "jobs"), work / "jobs")
    bin_dir = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        "RAYMAKER_STORE": str(tmp_path / "store"),
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
    }
    env.pop("RAY_ADDRESS", None)
    env["RAYMAKER_MLFLOW"] = "1"  # what a newcomer gets: every job an MLflow run

    def sh(script: str, timeout: float = 600) -> str:
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        assert proc.returncode == 0, f"$ {script}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        return proc.stdout + proc.stderr

    try:
        out = sh("raymaker quickstart --keep-cluster")
        assert "quickstart summary" in out and "InService" in out
        port = env.get("RAYMAKER_SERVE_PORT", "8080")  # the suite's gateway port, not the default
        for block in readme_blocks():
            out = sh(block.replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
            if "ray job submit" in block:
                continue  # Ray's own CLI prints in its own way
            # quiet by default: no Ray or Serve log lines, no ANSI codes, no raw epoch times
            assert "\x1b[" not in out, f"$ {block}\n{out}"
            assert not re.search(r"\(pid=\d+|INFO \w+\.py:\d+|\bWARNING \w+\.py:\d+", out), out
            assert not re.search(r"_at: 1\.\d+e\+09|_at\s+1\d{9}\.", out), out
    finally:
        subprocess.run(["bash", "-c", "raymaker endpoints delete churn; "
                        "raymaker endpoints delete quickstart-churn"], cwd=work, env=env,
                       capture_output=True, timeout=120)  # fmt: skip
