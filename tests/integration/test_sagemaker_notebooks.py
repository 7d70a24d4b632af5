"""SageMaker notebooks, as their users write them, through ``raymaker.sagemaker`` imports:
bucket-style paths built from ``default_bucket()``, SageMaker's instance-type names, the
framework predictors' NumPy defaults, and an inference script reading ``str`` CSV bodies."""

from __future__ import annotations

import tarfile
import tempfile

import numpy as np
import pytest

from raymaker.errors import SpecError

TRAIN = """
import argparse, os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    args, _ = parser.parse_known_args()
    df = pd.read_csv(os.path.join(args.train, "train.csv"), header=None)
    model = LogisticRegression(C=args.C).fit(df.iloc[:, 1:].values, df.iloc[:, 0].values)
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
"""

CSV_HANDLER = """
from io import StringIO

import pandas as pd


def input_fn(input_data, content_type):  # SageMaker's toolkit hands text/csv over as str
    return pd.read_csv(StringIO(input_data), header=None).values
"""


def test_a_script_mode_sklearn_notebook_runs_as_written(local_session, tmp_path):
    import raymaker.sagemaker as sagemaker
    from raymaker.sagemaker.serializers import CSVSerializer
    from raymaker.sagemaker.sklearn import SKLearn, SKLearnModel

    sess = local_session
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    (tmp_path / "train.csv").write_text(
        "".join(f"{label},{a},{b},{c}\n" for label, (a, b, c) in zip(y, X, strict=True))
    )
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(TRAIN)

    from sklearn.linear_model import LogisticRegression

    want = LogisticRegression(C=0.5).fit(X, y).predict(X)  # what the script's model answers
    bucket, prefix = sess.default_bucket(), "sagemaker/DEMO-sklearn"
    sess.upload_data(str(tmp_path / "train.csv"), bucket=bucket, key_prefix=f"{prefix}/train")
    est = SKLearn(
        entry_point="train.py", source_dir=str(src), framework_version="1.2-1",
        py_version="py3", role=sagemaker.get_execution_role(), instance_count=1,
        instance_type="local", hyperparameters={"C": 0.5}, sagemaker_session=sess,
        output_path=f"s3://{bucket}/{prefix}/output",
    )  # fmt: skip
    est.fit({"train": f"s3://{bucket}/{prefix}/train"}, logs=False)
    assert est.latest_training_job.job_name == est.describe().name
    assert est.model_data.startswith(sess.store.uri(f"{prefix}/output/"))

    predictor = est.deploy(initial_instance_count=1, instance_type="local")
    try:
        got = predictor.predict(X[:5])  # NumPy in, NumPy out: SKLearnPredictor's defaults
        assert isinstance(got, np.ndarray) and got.tolist() == want[:5].tolist()
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()

    # batch transform of the same model, with the script's own model_fn
    (tmp_path / "batch").mkdir()
    np.savetxt(tmp_path / "batch" / "rows.csv", X[:40], delimiter=",", fmt="%.8g")
    sess.upload_data(str(tmp_path / "batch"), bucket=bucket, key_prefix=f"{prefix}/batch-in")
    transformer = est.transformer(instance_count=1, instance_type="ml.m5.large",
                                  output_path=f"s3://{bucket}/{prefix}/batch-out")  # fmt: skip
    transformer.transform(f"s3://{bucket}/{prefix}/batch-in", content_type="text/csv",
                          split_type="Line", logs=False)  # fmt: skip
    transformer.wait()
    out = sess.read_s3_file(bucket, f"{prefix}/batch-out/rows.csv.out").split()
    assert [int(float(v)) for v in out] == want[:40].tolist()

    code = tmp_path / "serve"
    code.mkdir()
    (code / "inference.py").write_text(TRAIN + CSV_HANDLER)
    model = SKLearnModel(model_data=est.model_data, entry_point="inference.py",
                         source_dir=str(code), role="any", sagemaker_session=sess)  # fmt: skip
    predictor = model.deploy(1, "local", serializer=CSVSerializer(),
                             endpoint_name="nb-sklearn-csv")  # fmt: skip
    try:
        rows = "\n".join(",".join(str(v) for v in row) for row in X[:3])
        assert predictor.predict(rows).tolist() == want[:3].tolist()
    finally:
        predictor.delete_endpoint()


def _tarball(folder, path) -> str:
    import os
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name in sorted(os.listdir(folder)):
            tar.add(os.path.join(folder, name), arcname=name)
    return str(path)


SKLEARN_BYOM = """
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


def test_bring_your_own_model_tar_gz_for_each_framework(local_session, tmp_path):
    """A model.tar.gz made by hand (no raymaker manifest) deploys as SageMaker's framework
    container serves it: XGBoost and TorchScript with no hooks, scikit-learn with its
    model_fn; each framework's predictor answers with its defaults; a batch transform too."""
    import joblib
    import torch
    import xgboost as xgb
    from sklearn.linear_model import LinearRegression

    from raymaker.sagemaker.pytorch import PyTorchModel, PyTorchPredictor
    from raymaker.sagemaker.sklearn import SKLearnModel
    from raymaker.sagemaker.xgboost import XGBoostModel, XGBoostPredictor

    sess = local_session
    bucket, prefix = sess.default_bucket(), "byom"
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 2] > 0).astype(np.float32)

    # XGBoost: a booster saved as "xgboost-model", as SageMaker's own XGBoost writes it
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 10)
    (tmp_path / "xgb").mkdir()
    booster.save_model(str(tmp_path / "xgb" / "xgboost-model.json"))
    (tmp_path / "xgb" / "xgboost-model.json").rename(tmp_path / "xgb" / "xgboost-model")
    tar = _tarball(tmp_path / "xgb", tmp_path / "xgb.tar.gz")
    model_data = sess.upload_data(tar, bucket=bucket, key_prefix=f"{prefix}/xgb")
    assert model_data == sess.store.uri(f"{prefix}/xgb/xgb.tar.gz")
    model = XGBoostModel(model_data=model_data, framework_version="1.7-1", role="any",
                         sagemaker_session=sess)  # fmt: skip
    predictor = model.deploy(1, "ml.m5.xlarge", endpoint_name="byom-xgb")
    try:
        assert isinstance(predictor, XGBoostPredictor)
        rows = predictor.predict(X[:3])  # LIBSVM in, CSV out
        got = [float(v) for row in rows for v in row]
        np.testing.assert_allclose(got, booster.inplace_predict(X[:3]), rtol=1e-6)
    finally:
        predictor.delete_endpoint()

    (tmp_path / "score").mkdir()
    np.savetxt(tmp_path / "score" / "part-0.csv", X[:50], delimiter=",", fmt="%.7g")
    data = sess.upload_data(str(tmp_path / "score"), bucket=bucket, key_prefix=f"{prefix}/in")
    transformer = model.transformer(1, "ml.m5.xlarge",
                                    output_path=f"s3://{bucket}/{prefix}/out")  # fmt: skip
    transformer.transform(data, content_type="text/csv", split_type="Line", logs=False)
    assert transformer.latest_transform_job.job_name == transformer.describe().name
    out = sess.store.read_text(f"{prefix}/out/part-0.csv.out").split()
    want = booster.inplace_predict(np.loadtxt(tmp_path / "score" / "part-0.csv", delimiter=","))
    np.testing.assert_allclose([float(v) for v in out], want, rtol=1e-5)

    # PyTorch: a TorchScript model.pth
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    (tmp_path / "pt").mkdir()
    torch.jit.save(torch.jit.script(net.eval()), str(tmp_path / "pt" / "model.pth"))
    tar = _tarball(tmp_path / "pt", tmp_path / "pt.tar.gz")
    model_data = sess.upload_data(tar, bucket=bucket, key_prefix=f"{prefix}/pt")
    bad = tmp_path / "state-dict"
    bad.mkdir()
    torch.save(net.state_dict(), str(bad / "model.pth"))  # not TorchScript: no default model_fn
    bad_data = sess.upload_data(_tarball(bad, tmp_path / "bad.tar.gz"), bucket=bucket,
                                key_prefix=f"{prefix}/bad")  # fmt: skip
    with pytest.raises(SpecError, match="a replica did not start: model.pth is not a TorchScript"):
        PyTorchModel(model_data=bad_data, sagemaker_session=sess).deploy(
            1, "ml.c5.xlarge", endpoint_name="byom-bad"
        )  # the replica's own error, not Serve's
    predictor = PyTorchModel(model_data=model_data, framework_version="2.1", py_version="py310",
                             role="any", sagemaker_session=sess).deploy(
        initial_instance_count=1, instance_type="ml.c5.xlarge", endpoint_name="byom-pt"
    )  # fmt: skip
    try:
        assert isinstance(predictor, PyTorchPredictor)
        got = predictor.predict(X[:3])  # NumPy in, NumPy out
        np.testing.assert_allclose(got, net(torch.from_numpy(X[:3])).detach().numpy(), rtol=1e-5)
    finally:
        predictor.delete_endpoint()

    # scikit-learn: SageMaker's container needs the user's model_fn, and so does raymaker
    reg = LinearRegression().fit(X, X @ np.arange(4.0))
    (tmp_path / "sk").mkdir()
    joblib.dump(reg, tmp_path / "sk" / "model.joblib")
    tar = _tarball(tmp_path / "sk", tmp_path / "sk.tar.gz")
    model_data = sess.upload_data(tar, bucket=bucket, key_prefix=f"{prefix}/sk")
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(SKLEARN_BYOM)
    predictor = SKLearnModel(model_data=model_data, entry_point="inference.py",
                             source_dir=str(code), framework_version="1.2-1", role="any",
                             sagemaker_session=sess).deploy(1, "ml.m5.large")  # fmt: skip
    try:
        np.testing.assert_allclose(predictor.predict(X[:3]), reg.predict(X[:3]), rtol=1e-5)
    finally:
        predictor.delete_endpoint()


XGB_SCRIPT = """
import argparse, os

import pandas as pd
import xgboost as xgb

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--eta", type=float, default=0.3)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--num_round", type=int, default=10)
    parser.add_argument("--model_dir", default=os.environ["SM_MODEL_DIR"])
    args, _ = parser.parse_known_args()
    train = pd.read_csv(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), header=None)
    val = pd.read_csv(os.path.join(os.environ["SM_CHANNEL_VALIDATION"], "val.csv"), header=None)
    dtrain = xgb.DMatrix(train.iloc[:, 1:], label=train.iloc[:, 0])
    dval = xgb.DMatrix(val.iloc[:, 1:], label=val.iloc[:, 0])
    booster = xgb.train(
        {"eta": args.eta, "max_depth": args.max_depth, "objective": "binary:logistic",
         "eval_metric": "logloss"},
        dtrain, args.num_round, evals=[(dtrain, "train"), (dval, "validation")],
    )
    booster.save_model(os.path.join(args.model_dir, "xgboost-model.json"))
"""


def test_an_xgboost_script_tuned_and_deployed_with_no_hooks(local_session, tmp_path):
    """SageMaker's XGBoost-as-a-framework tuning notebook: the estimator fixes ``eta`` that the
    tuner also tunes, the metric comes from XGBoost's own evaluation lines (no
    metric_definitions), and the best model deploys with no inference hooks."""
    import xgboost as xgb

    from raymaker.sagemaker.serializers import CSVSerializer
    from raymaker.sagemaker.tuner import ContinuousParameter, HyperparameterTuner
    from raymaker.sagemaker.xgboost import XGBoost, XGBoostPredictor

    sess = local_session
    bucket, prefix = sess.default_bucket(), "DEMO-xgb-framework"
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    for name, rows in (("train", slice(0, 300)), ("val", slice(300, 400))):
        folder = tmp_path / name
        folder.mkdir()
        lines = [f"{label},{a},{b},{c}" for label, (a, b, c) in zip(y[rows], X[rows], strict=True)]
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
        key = "train" if name == "train" else "validation"
        sess.upload_data(str(folder / f"{name}.csv"), bucket=bucket, key_prefix=f"{prefix}/{key}")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(XGB_SCRIPT)

    est = XGBoost(
        entry_point="train.py", source_dir=str(src), framework_version="1.7-1",
        hyperparameters={"eta": 0.2, "max_depth": 3, "num_round": 8}, role="any",
        instance_count=1, instance_type="ml.m5.2xlarge", sagemaker_session=sess,
        output_path=f"s3://{bucket}/{prefix}/output",
    )  # fmt: skip
    tuner = HyperparameterTuner(
        est, "validation:logloss", {"eta": ContinuousParameter(0.05, 0.5)},
        objective_type="Minimize", max_jobs=2, max_parallel_jobs=2,
    )  # fmt: skip
    channels = {k: f"s3://{bucket}/{prefix}/{k}" for k in ("train", "validation")}
    tuner.fit(channels, logs=False)
    board = sess.tuning_leaderboard(tuner.latest_tuning_job.job_name)
    assert len(board["trials"]) == 2 and all(t["objective"] for t in board["trials"])
    assert len({t["hyperparameters"]["eta"] for t in board["trials"]}) == 2

    predictor = tuner.deploy(initial_instance_count=1, instance_type="ml.m5.xlarge")
    try:
        assert isinstance(predictor, XGBoostPredictor)
        best = tuner.best_estimator()
        assert isinstance(best, XGBoost) and best.model_data.endswith("model.tar.gz")
        with tempfile.TemporaryDirectory() as tmp:
            sess.download_data(tmp, bucket=bucket, key_prefix=sess.store.key(best.model_data))
            with tarfile.open(f"{tmp}/model.tar.gz") as tar:
                tar.extractall(tmp, filter="data")
            booster = xgb.Booster(model_file=f"{tmp}/xgboost-model.json")
        want = booster.inplace_predict(X[:4])
        got = [float(v) for row in predictor.predict(X[:4]) for v in row]  # LIBSVM in
        np.testing.assert_allclose(got, want, rtol=1e-5)
        predictor.serializer = CSVSerializer()  # what most notebooks switch to
        got = [float(v) for row in predictor.predict(X[:4]) for v in row]
        np.testing.assert_allclose(got, want, rtol=1e-5)
    finally:
        tuner.delete_endpoint()


PYTORCH_TRAIN = """
import argparse, os
from io import StringIO

import numpy as np
import pandas as pd
import torch


def net():
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def model_fn(model_dir):
    model = net()
    with open(os.path.join(model_dir, "model.pth"), "rb") as f:
        model.load_state_dict(torch.load(f))
    return model.eval()


def input_fn(request_body, request_content_type):
    assert request_content_type == "text/csv"
    frame = pd.read_csv(StringIO(request_body), header=None)  # a str, as SageMaker gives it
    return torch.tensor(frame.values, dtype=torch.float32)


def predict_fn(input_data, model):
    with torch.no_grad():
        return model(input_data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()
    data = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",", dtype=np.float32)
    x, y = torch.from_numpy(data[:, 1:]), torch.from_numpy(data[:, :1])
    torch.manual_seed(0)
    model = net()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"epoch={epoch} loss={loss.item():.5f}")
    with open(os.path.join(args.model_dir, "model.pth"), "wb") as f:
        torch.save(model.state_dict(), f)
"""


def test_a_pytorch_script_mode_notebook_with_stringio_handlers(local_session, tmp_path):
    """SageMaker's PyTorch script-mode notebook: the script is also the inference handler
    (model_fn, input_fn reading a str CSV with StringIO, predict_fn), its loss lines become
    metrics by metric_definitions, and a CSV-serializing PyTorchPredictor answers."""
    import torch

    from raymaker.sagemaker.pytorch import PyTorch, PyTorchPredictor
    from raymaker.sagemaker.serializers import CSVSerializer

    sess = local_session
    bucket, prefix = sess.default_bucket(), "DEMO-pytorch"
    rng = np.random.default_rng(3)
    X = rng.normal(size=(256, 3)).astype(np.float32)
    y = X @ np.array([0.5, -1.0, 2.0], dtype=np.float32)
    (tmp_path / "data").mkdir()
    np.savetxt(tmp_path / "data" / "train.csv", np.column_stack([y, X]), delimiter=",")
    inputs = sess.upload_data(str(tmp_path / "data"), bucket=bucket, key_prefix=f"{prefix}/train")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(PYTORCH_TRAIN)
    est = PyTorch(
        entry_point="train.py", source_dir=str(tmp_path / "src"), role="any",
        framework_version="2.1", py_version="py310", instance_count=1,
        instance_type="ml.c5.xlarge", hyperparameters={"epochs": 40, "lr": 0.05},
        metric_definitions=[{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
        sagemaker_session=sess,
    )  # fmt: skip
    est.fit({"train": inputs}, logs=False)
    frame = est.training_job_analytics.dataframe()
    assert set(frame["metric_name"]) == {"train:loss"} and len(frame) == 40

    predictor = est.deploy(1, "ml.m5.xlarge", serializer=CSVSerializer())
    try:
        assert isinstance(predictor, PyTorchPredictor)
        got = predictor.predict(X[:4])  # CSV in (a str to input_fn), NumPy out
        model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        folder = sess.store.key(est.model_dir)
        with sess.store.open(f"{folder}/model.pth") as f:
            model.load_state_dict(torch.load(f))
        want = model.eval()(torch.from_numpy(X[:4])).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5)
    finally:
        predictor.delete_endpoint()
