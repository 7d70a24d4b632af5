"""Training in this process (the driver path, no Ray): built-ins, script mode, checkpoints,
metrics, artifacts, and the bad inputs that must fail before any worker starts."""

from __future__ import annotations

import json
import os
import tarfile
import textwrap

import numpy as np
import pandas as pd
import pytest

import raymaker as rm
from raymaker.errors import DataError, SpecError
from raymaker.jobs.records import JobStatus
from raymaker.jobs.runner import run_spec
from raymaker.specs import parse_spec
from raymaker.storage import artifacts, layout
from raymaker.train.channels import Shard, read_shard
from raymaker.train.checkpoints import Checkpoints
from raymaker.train.metrics import LineParser, MetricsLog, read_series, report_metrics


def churn_frame(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    plan = rng.choice(["basic", "pro", "team"], size=n)
    y = (x1 + 0.5 * x2 + (plan == "pro") + rng.normal(scale=0.3, size=n) > 0.5).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "plan": plan, "churn": y})


def put_frame(store, key: str, df: pd.DataFrame) -> str:
    store.write_bytes(key, df.to_csv(index=False).encode())
    return store.uri(key)


def train(settings, store, body: dict):
    spec = parse_spec({"kind": "TrainingJob", **body})
    return run_spec(spec, settings=settings, store=store)


# -- built-ins ------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["xgboost", "lightgbm"])
def test_builtin_gbdt_trains_publishes_artifact_and_metrics(algorithm, store, settings):
    df = churn_frame().drop(columns="plan")
    train_uri = put_frame(store, "data/churn/train.csv", df[:300])
    val_uri = put_frame(store, "data/churn/val.csv", df[300:])
    rounds = {"xgboost": {"num_round": 15}, "lightgbm": {"num_boost_round": 15}}[algorithm]
    record = train(settings, store, {
        "algorithm": algorithm, "label": "churn", "hyperparameters": rounds,
        "inputs": {"train": train_uri, "validation": val_uri},
    })  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    result = record.result
    assert result["execution"] == "driver" and result["rounds"] == 15
    assert result["model_data"].endswith("/output/model.tar.gz")
    manifest = store.read_json(store.key(result["model_dir"]) + "/" + artifacts.MANIFEST)
    assert manifest["framework"] == algorithm and manifest["task"] == "binary"
    assert manifest["features"] == ["x1", "x2"] and manifest["classes"] == [0, 1]
    assert manifest["lineage"]["job"] == record.name
    assert manifest["lineage"]["data"]["train"]["sha256"]
    model_file = {"xgboost": "model.ubj", "lightgbm": "model.txt"}[algorithm]
    assert model_file in manifest["files"]
    points = read_series(store, layout.job_metrics(record.name))
    names = {p["name"] for p in points}
    assert any(n.startswith("validation-") for n in names), names
    assert max(p["step"] for p in points) == 15
    assert set(result["metrics"]) == names


def test_builtin_with_a_recipe_stores_it_and_handles_string_labels(store, settings, tmp_path):
    df = churn_frame()
    df["churn"] = np.where(df["churn"] == 1, "yes", "no")
    uri = put_frame(store, "data/c/train.csv", df)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("steps:\n  - {op: onehot, columns: [plan]}\n  - {op: scale, columns: [x1]}\n")
    spec = parse_spec({
        "kind": "TrainingJob", "algorithm": "xgboost", "label": "churn", "recipe": str(recipe),
        "hyperparameters": {"num_round": 5}, "inputs": {"train": uri},
    })  # fmt: skip
    record = run_spec(spec, settings=settings, store=store)
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    model_dir = store.key(record.result["model_dir"])
    manifest = store.read_json(f"{model_dir}/{artifacts.MANIFEST}")
    assert manifest["classes"] == ["no", "yes"] and manifest["recipe"] == "recipe.json"
    assert any(f.startswith("plan") for f in manifest["features"])
    fitted = rm.FittedRecipe.from_json(store.read_text(f"{model_dir}/recipe.json"))
    assert list(fitted.transform_frame(df.drop(columns="churn")).columns) == manifest["features"]


def test_model_tarball_matches_the_folder(store, settings, tmp_path):
    uri = put_frame(store, "data/c/train.csv", churn_frame().drop(columns="plan"))
    record = train(settings, store, {
        "algorithm": "xgboost", "label": "churn", "hyperparameters": {"num_round": 3},
        "inputs": {"train": uri},
    })  # fmt: skip
    local = tmp_path / "m.tar.gz"
    store.get(store.key(record.result["model_data"]), str(local))
    with tarfile.open(local) as tar:
        assert sorted(tar.getnames()) == ["model.ubj", "raymaker-model.json"]
        tar.extractall(tmp_path / "x", filter="data")
    assert artifacts.verify(str(tmp_path / "x"))["algorithm"] == "xgboost"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"label": "nope"}, "column 'nope' is not in the train channel; columns: x1, x2, plan"),
        ({"label": "churn"}, "plan (str) are not; give a recipe"),
        (
            {"label": "churn", "hyperparameters": {"depth": 3}},
            "depth: unknown field (did you mean 'max_depth'?); allowed",
        ),
        ({"label": "churn", "inputs": {"validation": "data/c/train.csv"}}, "'train' is required"),
        ({"label": "churn", "inputs": {"train": "data/c/train.csv", "test": "x"}}, "allowed: t"),
        ({"label": "churn", "instance_type": "big"}, "not a known preset; allowed:"),
        ({}, "needs the target column; columns: x1, x2, plan, churn"),
    ],
)
def test_bad_training_specs_fail_before_any_worker_starts(body, message, store, settings):
    put_frame(store, "data/c/train.csv", churn_frame())
    full = {"algorithm": "xgboost", "inputs": {"train": "data/c/train.csv"}, **body}
    record = train(settings, store, full)
    assert record.status == JobStatus.FAILED
    assert message in record.failure_reason, record.failure_reason
    assert "SpecError" in record.failure_reason
    assert not store.exists(layout.job_metrics(record.name))  # nothing trained


def test_hyperparameter_errors_name_the_field_and_value():
    from raymaker.train.algorithms import algorithm_for

    with pytest.raises(SpecError, match=r"hyperparameters \(xgboost\)\.eta: .*got 0"):
        algorithm_for("xgboost").parse_hyperparameters({"eta": 0})
    with pytest.raises(SpecError, match="allowed: forecast, image, lightgbm, mlp, text, xgboost"):
        algorithm_for("catboost")
    hps = algorithm_for("xgboost").parse_hyperparameters({"num_round": "7", "lambda": "2"})
    assert hps.num_round == 7 and hps.lambda_ == 2.0  # SageMaker sends strings


# -- script mode ----------------------------------------------------------------------------
SKLEARN_SCRIPT = """
import argparse, glob, json, os
import joblib, pandas as pd
from sklearn.linear_model import LogisticRegression

p = argparse.ArgumentParser()
p.add_argument("--C", type=float)
p.add_argument("--fit-intercept", type=str)
args = p.parse_args()
frames = [pd.read_csv(f) for f in glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv"))]
df = pd.concat(frames)
y = df.pop("churn")
model = LogisticRegression(C=args.C).fit(df, y)
print(f"accuracy={model.score(df, y):.4f}")
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
env = {k: v for k, v in os.environ.items() if k.startswith("SM_")}
cfg = os.environ["SM_INPUT_CONFIG_DIR"]
hps_file = json.load(open(os.path.join(cfg, "hyperparameters.json")))
resources = json.load(open(os.path.join(cfg, "resourceconfig.json")))
json.dump({"env": env, "cwd": os.getcwd(), "args": [args.C, args.fit_intercept],
           "hps_file": hps_file, "resources": resources},
          open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w"))
"""


def test_script_mode_sklearn_gets_the_sagemaker_contract(store, settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(SKLEARN_SCRIPT)
    (src / "helper.py").write_text("X = 1\n")
    put_frame(store, "data/sk/train.csv", churn_frame().drop(columns="plan"))
    spec = parse_spec({
        "kind": "TrainingJob", "entry_point": "train.py", "source_dir": str(src),
        "framework": "sklearn", "hyperparameters": {"C": 0.5, "fit-intercept": True},
        "inputs": {"train": "data/sk/train.csv"},
        "metric_definitions": [{"Name": "train:accuracy", "Regex": "accuracy=([0-9.]+)"}],
    })  # fmt: skip
    record = run_spec(spec, settings=settings, store=store, base_dir=str(tmp_path))
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    out = store.key(record.result["output_data"])
    seen = store.read_json(f"{out}/seen.json")
    env = seen["env"]
    assert seen["args"] == [0.5, "True"]
    assert seen["cwd"].endswith("/code") and os.path.basename(env["SM_MODEL_DIR"]) == "model"
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert json.loads(env["SM_HPS"]) == {"C": 0.5, "fit-intercept": True}
    assert env["SM_HP_C"] == "0.5" and env["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["channel_input_dirs"]["train"] == env["SM_CHANNEL_TRAIN"]
    for key in ("SM_NUM_GPUS", "SM_NUM_CPUS", "SM_OUTPUT_DIR", "SM_INPUT_DIR"):
        assert key in env
    assert seen["hps_file"] == {"C": "0.5", "fit-intercept": "true"}  # strings, as SageMaker
    assert seen["resources"]["current_host"] == "algo-1"
    model_dir = store.key(record.result["model_dir"])
    manifest = store.read_json(f"{model_dir}/{artifacts.MANIFEST}")
    assert "model.joblib" in manifest["files"] and manifest["framework"] == "sklearn"
    assert record.result["metrics"]["train:accuracy"] > 0.6
    assert manifest["lineage"]["code_sha256"]


def test_a_failing_script_keeps_its_own_traceback(store, settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        "def load():\n    raise KeyError('no column churn_flag')\nload()\n"
    )
    spec = parse_spec({"kind": "TrainingJob", "entry_point": "train.py", "source_dir": str(src)})
    record = run_spec(spec, settings=settings, store=store)
    assert record.status == JobStatus.FAILED
    assert "exited with code 1" in record.failure_reason
    assert "KeyError: 'no column churn_flag'" in record.traceback
    assert 'train.py", line 2, in load' in record.traceback
    assert "ExecuteUserScriptError" not in record.traceback


def test_script_checkpoints_are_synced_and_restored_on_resume(store, settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        textwrap.dedent("""
        import os, sys
        from raymaker import report_metrics
        ck = os.path.join(os.environ["SM_CHECKPOINT_DIR"], "epoch.txt")
        start = int(open(ck).read()) if os.path.exists(ck) else 0
        for epoch in range(start, 4):
            open(ck, "w").write(str(epoch + 1))
            report_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch + 1)
            if epoch == 1 and start == 0:
                sys.exit("simulated crash after epoch 2")
        open(os.path.join(os.environ["SM_MODEL_DIR"], "done.txt"), "w").write(str(start))
    """)
    )
    spec = parse_spec({"kind": "TrainingJob", "name": "ckpt", "entry_point": "train.py",
                       "source_dir": str(src)})  # fmt: skip
    first = run_spec(spec, settings=settings, store=store)
    assert first.status == JobStatus.FAILED and "simulated crash" in first.traceback
    second = run_spec(spec, settings=settings, store=store, resume=True)
    assert second.status == JobStatus.SUCCEEDED, second.traceback
    assert second.attempts == 2
    model = store.key(second.result["model_dir"])
    assert store.read_text(f"{model}/done.txt") == "2"  # resumed after epoch 2, not from 0
    steps = [p["step"] for p in read_series(store, layout.job_metrics("ckpt"))]
    assert steps == [1, 2, 3, 4]


# -- parts ----------------------------------------------------------------------------------
def test_metrics_parser_and_log(store):
    parser = LineParser([{"name": "loss", "regex": r"loss=([-0-9.e]+)"}])
    assert parser.parse("epoch 1 loss=0.25 acc=0.9") == [("loss", 0.25, None)]
    assert parser.parse("nothing here") == []
    with pytest.raises(SpecError, match="needs one group"):
        LineParser([{"name": "x", "regex": "loss"}])
    with pytest.raises(SpecError, match="invalid"):
        LineParser([{"name": "x", "regex": "(("}])
    import io

    buf = io.StringIO()
    report_metrics({"auc": 0.75}, step=3, file=buf)
    assert parser.parse(buf.getvalue().strip()) == [("auc", 0.75, 3)]
    log = MetricsLog(store, "jobs/m/metrics.jsonl")
    log.add("loss", 1.0)
    log.add("loss", 0.5)
    log.add_line(parser, buf.getvalue().strip())
    log.save()
    assert [(p["name"], p["step"]) for p in read_series(store, "jobs/m/metrics.jsonl")] == [
        ("loss", 0),
        ("loss", 1),
        ("auc", 3),
    ]


def test_checkpoints_keep_the_latest_and_prune(store, tmp_path):
    ck = Checkpoints(store, "jobs/c/checkpoints", keep=2)
    assert ck.latest() is None and ck.restore(str(tmp_path / "r0")) is None
    for step in (1, 2, 3):
        d = tmp_path / f"s{step}"
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "w.txt").write_text(str(step))
        ck.save(step, str(d), {"loss": 1 / step})
    assert ck.latest()["step"] == 3
    assert ck.restore(str(tmp_path / "r"))["metrics"] == {"loss": 1 / 3}
    assert (tmp_path / "r" / "sub" / "w.txt").read_text() == "3"
    kept = [k.rsplit("/", 1)[-1] for k in store.list("jobs/c/checkpoints")]
    assert kept == ["latest.json", "step-00000002", "step-00000003"]


def test_a_tampered_model_file_is_refused(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "model.txt").write_text("tree")
    artifacts.write_manifest(str(model), {"framework": "lightgbm"})
    assert artifacts.verify(str(model))["framework"] == "lightgbm"
    (model / "model.txt").write_text("tree2")
    with pytest.raises(DataError, match="model.txt does not match its hash"):
        artifacts.verify(str(model))


def test_parquet_shards_split_rows_evenly_even_with_one_row_group(tmp_path, store):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raymaker.data.readers import resolve

    pq.write_table(pa.table({"a": list(range(10))}), tmp_path / "one.parquet")
    source = resolve(store, str(tmp_path / "one.parquet"))
    parts = [read_shard(source, Shard(r, 3)).column("a").to_pylist() for r in range(3)]
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    csv = tmp_path / "one.csv"
    csv.write_text("a\n" + "\n".join(map(str, range(4))) + "\n")
    source = resolve(store, str(csv))
    assert [read_shard(source, Shard(r, 2)).num_rows for r in range(2)] == [2, 2]


def test_estimator_builds_the_spec_sagemaker_style():
    est = rm.XGBoost(
        label="churn", hyperparameters={"num_round": 5}, instance_count=2, instance_type="cpu.1",
        role="arn:aws:iam::1:role/x", use_spot_instances=True, max_retry_attempts=1,
    )  # fmt: skip
    spec = est.training_job_spec({"train": rm.TrainingInput("s3://b/t/"), "validation": "v/"})
    assert spec.algorithm == "xgboost" and spec.framework == "xgboost"
    assert spec.inputs == {"train": "s3://b/t/", "validation": "v/"}
    assert spec.instance_count == 2 and spec.max_retry_attempts == 1
    script = rm.PyTorch(entry_point="train.py", source_dir="src", framework_version="2.13")
    assert script.training_job_spec("s3://b/t").algorithm is None
    with pytest.raises(SpecError, match="unknown argument"):
        rm.Estimator(entry_point="x.py", no_such_thing=1)
    with pytest.raises(SpecError, match="not been fit"):
        _ = est.model_data


# -- PyTorch built-ins ----------------------------------------------------------------------
def test_mlp_builtin_learns_and_stores_its_architecture(store, settings):
    df = churn_frame(600).drop(columns="plan")
    train_uri = put_frame(store, "data/mlp/train.csv", df[:500])
    val_uri = put_frame(store, "data/mlp/val.csv", df[500:])
    record = train(settings, store, {
        "algorithm": "mlp", "label": "churn", "checkpoint_interval_s": 0,
        "hyperparameters": {"epochs": 15, "hidden_units": "16", "learning_rate": 0.02},
        "inputs": {"train": train_uri, "validation": val_uri},
    })  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    manifest = store.read_json(f"{store.key(record.result['model_dir'])}/{artifacts.MANIFEST}")
    assert manifest["framework"] == "pytorch" and "model.pt" in manifest["files"]
    assert manifest["architecture"] == {
        "kind": "mlp", "inputs": 2, "hidden": [16], "dropout": 0.0, "outputs": 1,
    }  # fmt: skip
    assert record.result["metrics"]["validation-accuracy"] > 0.75
    assert Checkpoints(store, layout.job_checkpoints(record.name)).latest()["step"] == 15


def test_image_builtin_classifies_sklearn_digits(store, settings):
    from sklearn.datasets import load_digits

    digits = load_digits()
    df = pd.DataFrame(digits.data.astype("float32") / 16, columns=[f"p{i}" for i in range(64)])
    df["digit"] = digits.target
    train_uri = put_frame(store, "data/digits/train.csv", df[:1400])
    val_uri = put_frame(store, "data/digits/val.csv", df[1400:])
    record = train(settings, store, {
        "algorithm": "image", "label": "digit",
        "hyperparameters": {"epochs": 10, "channels": 16, "batch_size": 32, "learning_rate": 0.005},
        "inputs": {"train": train_uri, "validation": val_uri},
    })  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["metrics"]["validation-accuracy"] > 0.85
    manifest = store.read_json(f"{store.key(record.result['model_dir'])}/{artifacts.MANIFEST}")
    assert manifest["architecture"]["shape"] == [1, 8, 8] and manifest["classes"] == list(range(10))


def test_text_builtin_classifies_with_hashed_ngrams(store, settings):
    rng = np.random.default_rng(0)
    good = ["great product works well", "love it fast shipping", "excellent value happy"]
    bad = ["broke after a day", "terrible support refund please", "awful quality not happy"]
    rows = [(t, "pos") for t in good] + [(t, "neg") for t in bad]
    picks = rng.integers(0, len(rows), 400)
    df = pd.DataFrame([rows[i] for i in picks], columns=["review", "sentiment"])
    uri = put_frame(store, "data/text/train.csv", df)
    record = train(settings, store, {
        "algorithm": "text", "label": "sentiment",
        "hyperparameters": {"text_column": "review", "epochs": 8, "buckets": 4096},
        "inputs": {"train": uri, "validation": uri},
    })  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["metrics"]["validation-accuracy"] > 0.95
    bad_col = train(settings, store, {
        "algorithm": "text", "label": "sentiment", "inputs": {"train": uri},
        "hyperparameters": {"text_column": "body"},
    })  # fmt: skip
    assert "text_column: 'body' is not a column; columns: review" in bad_col.failure_reason


def test_image_shape_must_fit_the_pixel_columns(store, settings):
    df = pd.DataFrame(np.zeros((10, 10)), columns=[f"p{i}" for i in range(10)])
    df["y"] = [0, 1] * 5
    uri = put_frame(store, "data/img/train.csv", df)
    record = train(settings, store, {"algorithm": "image", "label": "y", "inputs": {"train": uri}})
    assert "10 pixel columns are not a square image" in record.failure_reason


def test_forecast_builtin_gives_quantiles_for_every_series(store, settings):
    rng = np.random.default_rng(3)
    days = pd.date_range("2026-01-01", periods=120, freq="D")
    frames = []
    for i, store_id in enumerate(["a", "b", "c"]):
        weekly = 10 * np.sin(2 * np.pi * days.dayofweek / 7)
        sales = 50 + 20 * i + weekly + rng.normal(scale=2, size=len(days))
        frames.append(pd.DataFrame({"store": store_id, "day": days, "sales": sales}))
    uri = put_frame(store, "data/ts/sales.csv", pd.concat(frames))
    hps = {"time_column": "day", "id_column": "store", "horizon": 7, "num_boost_round": 60,
           "min_data_in_leaf": 5}  # fmt: skip
    record = train(settings, store, {
        "algorithm": "forecast", "label": "sales", "hyperparameters": hps, "inputs": {"train": uri},
    })  # fmt: skip
    assert record.status == JobStatus.SUCCEEDED, record.traceback
    assert record.result["series"] == 3 and record.result["forecast_rows"] == 21
    assert record.result["metrics"]["validation-mae"] < 6  # the noise is 2, the weekly swing 20
    model_dir = store.key(record.result["model_dir"])
    manifest = store.read_json(f"{model_dir}/{artifacts.MANIFEST}")
    assert manifest["output"] == {"type": "quantiles", "quantiles": [0.1, 0.5, 0.9]}
    assert set(manifest["files"]) >= {"model-q0.1.txt", "model-q0.5.txt", "forecast.parquet"}
    import io

    forecast = pd.read_parquet(io.BytesIO(store.read_bytes(f"{model_dir}/forecast.parquet")))
    assert list(forecast.columns) == ["store", "day", "q0.1", "q0.5", "q0.9"]
    assert (forecast["q0.1"] <= forecast["q0.9"]).all()
    first = forecast[forecast["store"] == "c"]
    assert first["day"].min() == days[-1] + pd.Timedelta(days=1)
    assert 60 < first["q0.5"].mean() < 110  # series c is around 90
    bad = train(settings, store, {
        "algorithm": "forecast", "label": "sales", "inputs": {"train": uri},
        "hyperparameters": {"time_column": "date"},
    })  # fmt: skip
    assert "time_column: 'date' is not a column; columns: store, day" in bad.failure_reason


def test_max_run_stops_a_script_that_runs_too_long(store, settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    spec = parse_spec({"kind": "TrainingJob", "entry_point": "train.py", "source_dir": str(src),
                       "max_run": 2})  # fmt: skip
    import time

    t0 = time.monotonic()
    record = run_spec(spec, settings=settings, store=store)
    assert time.monotonic() - t0 < 20
    assert record.status == JobStatus.STOPPED
    assert "max_run (2 s) exceeded" in record.failure_reason


def test_a_job_that_trains_in_its_driver_reserves_its_cpus(settings):
    from raymaker.jobs.client import driver_resources

    one = parse_spec({"kind": "TrainingJob", "algorithm": "xgboost", "instance_type": "cpu.2"})
    assert driver_resources(one, settings) == {"cpus": 2}
    two = one.model_copy(update={"instance_count": 2})
    assert driver_resources(two, settings) == {}  # the Ray Train workers hold the CPUs
    retries = one.model_copy(update={"max_retry_attempts": 1})
    assert driver_resources(retries, settings) == {}
    processing = parse_spec({"kind": "ProcessingJob", "code": "x.py"})
    assert driver_resources(processing, settings) == {}


def test_xgboost_framework_lines_are_metrics_with_no_definitions_as_in_sagemaker():
    parser = LineParser([], xgboost_lines=True)
    assert parser.parse("[12]#011validation-auc:0.91#011train-auc:0.95") == [
        ("validation:auc", 0.91, 12), ("train:auc", 0.95, 12),
    ]  # fmt: skip
    assert parser.parse("[3]\tvalidation-error@0.7:1.5e-2\ttrain-rmse:-0.5") == [
        ("validation:error@0.7", 0.015, 3), ("train:rmse", -0.5, 3),
    ]  # fmt: skip
    assert parser.parse("[2026-12-02 01:00:00] started") == []  # not an evaluation line
    assert LineParser([]).parse("[12]#011validation-auc:0.91") == []  # other frameworks
