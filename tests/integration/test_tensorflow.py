"""TensorFlow as SageMaker runs it: the seed's own example with only its import lines
changed (a small Keras ``train.py`` written here), then two workers under
``MultiWorkerMirroredStrategy`` with TF_CONFIG, each served with TensorFlow Serving's shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

TRAIN = """
import argparse, json, os

import numpy as np
import tensorflow as tf

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--model_dir", type=str)
    parser.add_argument("--sm-model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    args, _ = parser.parse_known_args()
    data = np.load(os.path.join(args.train, "train.npz"))
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if tf_config:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    print("workers", len(tf_config.get("cluster", {}).get("worker", [])) or 1,
          "replicas", strategy.num_replicas_in_sync, flush=True)
    with strategy.scope():
        model = tf.keras.Sequential([
            tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"),
            tf.keras.layers.Dense(1),
        ])
        model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(data["x"], data["y"], epochs=args.epochs, batch_size=32, verbose=2)
    print(f"loss={history.history['loss'][-1]:.5f}", flush=True)
    # every worker saves (collectives need them all); only worker 0's SM_MODEL_DIR is kept.
    # tf.keras is Keras 2 here, as in SageMaker's TensorFlow containers: a SavedModel folder.
    model.save(os.path.join(args.sm_model_dir, "000000001"))
"""


@pytest.fixture
def tf_data(local_session, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32))[:, None]
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "train.npz", x=x, y=y)
    (tmp_path / "train.py").write_text(TRAIN)
    bucket = local_session.default_bucket()
    local_session.upload_data(str(tmp_path / "data"), bucket=bucket, key_prefix="tf/train")
    return x, f"s3://{bucket}/tf/train"


def test_the_seeds_tensorflow_example_runs_with_only_its_imports_changed(
    local_session, tf_data, tmp_path, monkeypatch
):
    import raymaker.sagemaker as sagemaker
    from raymaker.sagemaker.tensorflow import TensorFlow, TensorFlowPredictor

    x, s3_data_path = tf_data
    monkeypatch.chdir(tmp_path)  # where the notebook keeps train.py
    role = sagemaker.get_execution_role()
    monkeypatch.setenv("RAYMAKER_STORE", local_session.settings.store)  # the default session's
    estimator = TensorFlow(entry_point='train.py', role=role, instance_count=1,
                           instance_type='ml.p3.2xlarge', framework_version='2.4.1',
                           py_version='py37')  # fmt: skip
    estimator.fit({"train": s3_data_path})
    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.xlarge")
    try:
        assert isinstance(predictor, TensorFlowPredictor)
        data = x[:3]
        result = predictor.predict(data)
        assert np.asarray(result["predictions"]).shape == (3, 1)
        # the exported SavedModel answers what Keras answers
        import tensorflow as tf

        store = local_session.store
        model_dir = tmp_path / "m"
        store.get_dir(store.key(estimator.model_data)[: -len(".tar.gz")], str(model_dir))
        loaded = tf.saved_model.load(str(model_dir / "000000001"))
        want = list(loaded.signatures["serving_default"](tf.constant(data)).values())[0].numpy()
        np.testing.assert_allclose(result["predictions"], want, rtol=1e-4, atol=1e-5)
        answer = predictor.predict({"instances": data.tolist()})  # the explicit REST shape
        np.testing.assert_allclose(answer["predictions"], want, rtol=1e-4, atol=1e-5)
    finally:
        predictor.delete_endpoint()
    record = estimator.describe()
    assert "model_dir" not in record.spec.get("hyperparameters", {})  # added per worker
    assert json.loads(local_session.store.read_text(
        local_session.store.key(record.result["model_dir"]) + "/raymaker-model.json"
    ))["framework"] == "tensorflow"  # fmt: skip


def test_two_tensorflow_workers_train_with_tf_config(local_session, tf_data, tmp_path):
    from raymaker.sagemaker.tensorflow import TensorFlow, TensorFlowModel

    x, s3_data_path = tf_data
    estimator = TensorFlow(
        entry_point="train.py", source_dir=str(tmp_path), instance_count=2,
        instance_type="cpu.1", framework_version="2.21", hyperparameters={"epochs": 2},
        distribution={"multi_worker_mirrored_strategy": {"enabled": True}},
        sagemaker_session=local_session,
    )  # fmt: skip
    estimator.fit({"train": s3_data_path}, logs=False, job_name="tf-2w")
    record = estimator.describe()
    assert record.result["workers"] == 2 and record.result["execution"] == "ray_train"
    logs = local_session.jobs.get("tf-2w").logs()
    assert "workers 2 replicas 2" in logs

    model = TensorFlowModel(model_data=estimator.model_data, role="any", framework_version="2.21",
                            sagemaker_session=local_session)  # fmt: skip
    predictor = model.deploy(initial_instance_count=1, instance_type="cpu.1")
    try:
        answer = predictor.predict(x[:4])
        assert np.asarray(answer["predictions"]).shape == (4, 1)
    finally:
        predictor.delete_endpoint()
    transformer = model.transformer(1, "cpu.1")
    np.savetxt(tmp_path / "score.csv", x[:20], delimiter=",", fmt="%.6g")
    transformer.transform(str(tmp_path / "score.csv"), content_type="text/csv",
                          split_type="Line", logs=False, job_name="tf-batch")  # fmt: skip
    assert transformer.describe().status.value == "SUCCEEDED"


def test_a_savedmodel_made_elsewhere_deploys_with_tensorflow_serving_shapes(
    local_session, tmp_path
):
    """Bring your own model: a SavedModel exported by hand, tarred as TensorFlow Serving lays
    it out (``<name>/<version>/``), deployed with TensorFlowModel and no raymaker manifest."""
    import tarfile

    import tensorflow as tf

    from raymaker.sagemaker.tensorflow import TensorFlowModel, TensorFlowPredictor

    class Affine(tf.Module):
        def __init__(self):
            self.w = tf.Variable([[2.0], [-1.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def serve(self, x):
            return {"scores": tf.matmul(x, self.w) + 0.5}

    module = Affine()
    export = tmp_path / "export"
    tf.saved_model.save(module, str(export / "affine" / "1"),
                        signatures={"serving_default": module.serve})  # fmt: skip
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(export / "affine", arcname="affine")
    sess = local_session
    model_data = sess.upload_data(str(tmp_path / "model.tar.gz"), bucket=sess.default_bucket(),
                                  key_prefix="byom/tf")  # fmt: skip
    predictor = TensorFlowModel(model_data=model_data, role="any", framework_version="2.21",
                                sagemaker_session=sess).deploy(1, "ml.c5.large")  # fmt: skip
    try:
        assert isinstance(predictor, TensorFlowPredictor)
        assert predictor.predict([[1.0, 0.0], [0.0, 1.0]]) == {"predictions": [[2.5], [-0.5]]}
        columnar = predictor.predict({"inputs": [[1.0, 1.0]]})
        assert columnar == {"outputs": [[1.5]]}
    finally:
        predictor.delete_endpoint()
