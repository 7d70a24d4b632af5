"""The CLI without Ray: rendering, exit codes, validate, run, jobs on finished records."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from raymaker.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def cli(*args, env=None, check=None):
    proc = subprocess.run(
        [sys.executable, "-m", "raymaker", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT,
    )  # fmt: skip
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    store = str(tmp_path / "store")
    monkeypatch.setenv("RAYMAKER_STORE", store)
    return {"RAYMAKER_STORE": store}


def run_main(capsys, *args):
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_good_and_bad_specs(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ProcessingJob\ncode: x.py\ninstance_count: 0\nbogus: 1\n")
    code, out, err = run_main(
        capsys, "validate", os.path.join(ROOT, "jobs", "hello.yaml"), str(bad)
    )
    assert code == 2
    assert "hello.yaml: ok (ProcessingJob)" in out
    assert "bad.yaml.instance_count: Input should be greater than or equal to 1 (got 0)" in err
    assert "bad.yaml.bogus: unknown field; allowed fields:" in err


def test_validate_finds_every_instance_type_a_submit_would_refuse(tmp_path, capsys):
    spec = tmp_path / "tune.yaml"
    spec.write_text(
        "kind: TuningJob\nobjective: {metric_name: validation:logloss}\nmax_jobs: 4\n"
        "hyperparameter_ranges: {eta: {type: Continuous, min_value: 0.1, max_value: 0.3}}\n"
        "training: {algorithm: xgboost, label: y, inputs: {train: data/t.csv},\n"
        "           instance_type: ml.m5.xlarg}\n"
    )
    code, _, err = run_main(capsys, "validate", str(spec))
    assert code == 2
    assert "training.instance_type: instance_type 'ml.m5.xlarg' is not a known preset" in err
    assert "did you mean ml.m5.xlarge" in err
    spec.write_text(spec.read_text().replace("ml.m5.xlarg", "ml.m5.xlarge"))
    assert run_main(capsys, "validate", str(spec))[0] == 0


def test_validate_reports_every_problem_a_submit_would_meet_at_once(tmp_path, capsys):
    spec = tmp_path / "tune.yaml"
    spec.write_text(
        "kind: TuningJob\nobjective: {metric_name: validation:logloss}\nmax_jobs: 4\n"
        "hyperparameter_ranges:\n"
        "  etaa: {type: Continuous, min_value: 0.1, max_value: 0.3}\n"
        "  max_depth: {type: Integer, min_value: 2, max_value: 8}\n"
        "  tree_method: {type: Categorical, values: [hist, aprox]}\n"
        "training:\n"
        "  algorithm: xgboost\n  label: y\n  instance_type: ml.m5.xlarg\n"
        "  inputs: {trian: data/t.csv, validation: data/v.csv}\n"
        "  hyperparameters: {num_round: many, depth: 3}\n"
    )
    code, out, err = run_main(capsys, "validate", str(spec))
    assert code == 2 and "ok" not in out
    for expected in (
        "7 problems",
        "training.instance_type: instance_type 'ml.m5.xlarg'",
        "hyperparameters (xgboost).num_round: Input should be a valid integer",
        "hyperparameters (xgboost).depth: unknown field (did you mean 'max_depth'?)",
        "training.inputs.trian: not a channel of xgboost (did you mean 'train'?)",
        "training.inputs: channel 'train' is required",
        "hyperparameter_ranges.etaa: not a hyperparameter of xgboost (did you mean 'eta'?)",
        "hyperparameter_ranges.tree_method: the value 'aprox' is refused",
    ):
        assert expected in err, (expected, err)
    assert "hyperparameter_ranges.max_depth" not in err  # a good range is not reported

    algo = tmp_path / "train.yaml"
    algo.write_text("kind: TrainingJob\nalgorithm: xgbost\nlabel: y\ninputs: {train: t.csv}\n")
    code, _, err = run_main(capsys, "validate", str(algo))
    assert code == 2 and "algorithm: 'xgbost' is not a built-in (did you mean 'xgboost'?)" in err


def test_run_then_list_describe_logs_in_every_format(store_env, capsys):
    code, _, err = run_main(
        capsys, "run", "--name", "hello-1", os.path.join(ROOT, "jobs", "hello.yaml")
    )
    assert code == 0, err
    code, out, _ = run_main(capsys, "jobs", "list")
    assert "hello-1" in out and "SUCCEEDED" in out and out.startswith("NAME")
    code, out, _ = run_main(capsys, "jobs", "list", "-o", "json")
    assert json.loads(out)[0]["name"] == "hello-1"
    code, out, _ = run_main(capsys, "jobs", "describe", "hello-1", "-o", "yaml")
    record = yaml.safe_load(out)
    assert record["status"] == "SUCCEEDED" and record["kind"] == "ProcessingJob"
    code, out, _ = run_main(capsys, "jobs", "describe", "hello-1")
    assert "status: SUCCEEDED" in out
    code, out, _ = run_main(capsys, "jobs", "logs", "hello-1")
    assert "hello from raymaker" in out


def test_errors_map_to_exit_codes(store_env):
    proc = cli("jobs", "describe", "no-such-job", env=store_env, check=3)
    assert "error: no job named 'no-such-job'" in proc.stderr
    proc = cli("run", "--name", "twice", "jobs/hello.yaml", env=store_env, check=0)
    proc = cli("run", "--name", "twice", "jobs/hello.yaml", env=store_env, check=4)
    assert "already exists" in proc.stderr
    proc = cli("run", "--name", "bad name", "jobs/hello.yaml", env=store_env, check=2)


def test_a_failed_run_exits_7_with_the_traceback(store_env, tmp_path):
    (tmp_path / "boom.py").write_text("raise RuntimeError('boom in user code')\n")
    (tmp_path / "boom.yaml").write_text("kind: ProcessingJob\ncode: boom.py\n")
    proc = cli("run", str(tmp_path / "boom.yaml"), env=store_env, check=7)
    assert "RuntimeError: boom in user code" in proc.stdout + proc.stderr


def test_data_upload_and_download(store_env, tmp_path, capsys):
    (tmp_path / "f.csv").write_text("a\n1\n")
    code, out, _ = run_main(capsys, "data", "upload", str(tmp_path / "f.csv"), "--key-prefix", "x")
    assert code == 0 and out.strip().endswith("/x/f.csv")  # the key as given, as in a bucket
    code, out, _ = run_main(capsys, "data", "download", out.strip(), str(tmp_path / "back"))
    assert open(out.strip()).read() == "a\n1\n"


def test_config_and_cluster_status_without_a_cluster(store_env, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RAYMAKER_HOME", str(tmp_path / "home"))
    code, out, _ = run_main(capsys, "config", "-o", "json")
    assert json.loads(out)["store"] == store_env["RAYMAKER_STORE"]
    code, out, _ = run_main(capsys, "cluster", "status", "-o", "json")
    assert json.loads(out) == {"running": False}


def test_run_a_training_job_then_read_its_metrics_and_plot(store_env, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    df["y"] = (df["a"] + df["b"] > 0).astype(int)
    df.to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "job.yaml").write_text(
        "kind: TrainingJob\nname: cli-train\nalgorithm: xgboost\nlabel: y\n"
        "inputs: {train: train.csv}\nhyperparameters: {num_round: 7}\n"
    )
    cli("run", str(tmp_path / "job.yaml"), env=store_env, check=0)
    summary = json.loads(cli("jobs", "metrics", "cli-train", "-o", "json", env=store_env,
                             check=0).stdout)  # fmt: skip
    assert summary == [
        {"metric": "train-logloss", "last": summary[0]["last"], "min": summary[0]["min"],
         "max": summary[0]["max"], "points": 7, "last_step": 7}
    ]  # fmt: skip
    plot = tmp_path / "m.html"
    out = cli("jobs", "metrics", "cli-train", "--all", "--plot", str(plot), env=store_env, check=0)
    assert out.stdout.count("train-logloss") == 7
    assert "Plotly.newPlot" in plot.read_text() and "train-logloss" in plot.read_text()
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000  # beside it: offline
    missing = cli("jobs", "metrics", "nope", env=store_env)
    assert missing.returncode == 3 and "nope" in missing.stderr
    # a finished job resumes only when asked, and only if it did not succeed
    again = cli("run", "--resume", str(tmp_path / "job.yaml"), env=store_env)
    assert again.returncode != 0 and "already exists (SUCCEEDED)" in again.stderr


def test_an_unexpected_error_is_one_line_and_verbose_adds_the_traceback(store_env, capsys,
                                                                         monkeypatch):  # fmt: skip
    from raymaker.sagemaker.session import Session

    def broken(self):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(Session, "jobs", property(broken))
    code, out, err = run_main(capsys, "jobs", "list")
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "error: ConnectionRefusedError: [Errno 111] Connection refused "
        "(run with --verbose for details)"
    ]
    code, out, err = run_main(capsys, "--verbose", "jobs", "list")
    assert code == 1 and "Traceback" in err


def test_tables_show_times_as_dates_and_json_keeps_numbers(store_env, capsys):
    code, out, _ = run_main(capsys, "run", "--name", "dated", "jobs/hello.yaml")
    code, out, _ = run_main(capsys, "jobs", "describe", "dated")
    assert code == 0 and "e+09" not in out
    import re

    assert re.search(r"created_at: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", out)
    code, out, _ = run_main(capsys, "jobs", "describe", "dated", "-o", "json")
    assert isinstance(json.loads(out)["created_at"], float)
