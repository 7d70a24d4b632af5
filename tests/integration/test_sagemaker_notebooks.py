"""SageMaker notebooks, as their users write them, through ``raymaker.sagemaker`` imports:
bucket-style paths built from ``default_bucket()``, SageMaker's instance-type names, the
framework predictors' NumPy defaults, and an inference script reading ``str`` CSV bodies."""

from __future__ import annotations

import numpy as np

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
