"""Models made elsewhere, served as SageMaker's framework containers serve them: default
model_fn / input_fn / predict_fn / output_fn per framework, and the pin of what was deployed."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from raymaker.errors import DataError, SpecError
from raymaker.inference import codecs
from raymaker.inference.handler import Handler, Request
from raymaker.inference.reference import ModelRef, load, resolve
from raymaker.sagemaker.serializers import LibSVMSerializer
from raymaker.storage.store import open_store

RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 3)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)


@pytest.fixture(scope="module")
def booster():
    import xgboost as xgb

    return xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, Y), 5)


def csv_body(rows) -> bytes:
    return "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows).encode()


def test_an_xgboost_booster_file_serves_with_no_hooks(booster, tmp_path):
    booster.save_model(str(tmp_path / "xgboost-model.ubj"))
    os.rename(tmp_path / "xgboost-model.ubj", tmp_path / "xgboost-model")
    handler = Handler.load(str(tmp_path), framework="xgboost")
    want = booster.inplace_predict(X[:4])

    csv, libsvm, as_json = handler.invoke([
        Request(csv_body(X[:4]), "text/csv"),  # no Accept: the XGBoost container answers CSV
        Request(LibSVMSerializer().serialize(X[:4]), "text/libsvm", accept="text/csv"),
        Request(csv_body(X[:4]), "text/csv", accept="application/json"),
    ])  # fmt: skip
    assert csv.status == 200 and csv.content_type == "text/csv"
    np.testing.assert_allclose([float(v) for v in csv.body.split()], want, rtol=1e-6)
    assert libsvm.status == 200, libsvm.body
    np.testing.assert_allclose([float(v) for v in libsvm.body.split()], want, rtol=1e-6)
    np.testing.assert_allclose(json.loads(as_json.body), want, rtol=1e-6)

    (bad,) = handler.invoke([Request(b"1,2,3", "application/x-npy")])
    assert bad.status == 400 or bad.status == 415
    (unsupported,) = handler.invoke([Request(b"{}", "application/x-recordio-protobuf")])
    assert unsupported.status == 415 and "text/libsvm" in unsupported.body.decode()


def test_an_xgboost_pickle_is_never_opened_and_the_error_says_how_to_save_it(booster, tmp_path):
    with open(tmp_path / "xgboost-model", "wb") as f:
        pickle.dump({"not": "a booster"}, f)
    with pytest.raises(SpecError, match=r"xgboost-model is a pickle.*save_model"):
        Handler.load(str(tmp_path), framework="xgboost")


def test_a_torchscript_model_serves_with_no_hooks(tmp_path):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2)).eval()
    torch.jit.save(torch.jit.script(net), str(tmp_path / "model.pth"))
    handler = Handler.load(str(tmp_path), framework="pytorch")
    want = net(torch.from_numpy(X[:3])).detach().numpy()

    npy, as_json = handler.invoke([
        Request(codecs.encode_npy(X[:3].astype(np.float64)), "application/x-npy",
                accept="application/x-npy"),  # NumPy's default dtype meets float32 weights
        Request(json.dumps(X[:3].tolist()).encode(), "application/json"),  # default: JSON
    ])  # fmt: skip
    np.testing.assert_allclose(codecs.decode_npy(npy.body), want, rtol=1e-5)
    assert as_json.content_type == "application/json"
    np.testing.assert_allclose(json.loads(as_json.body), want, rtol=1e-5)


def test_a_pytorch_state_dict_is_refused_with_what_to_do(tmp_path):
    import torch

    torch.save(torch.nn.Linear(3, 2).state_dict(), str(tmp_path / "model.pth"))
    with pytest.raises(SpecError, match="not a TorchScript model.*model_fn"):
        Handler.load(str(tmp_path), framework="pytorch")


def test_sklearn_needs_a_model_fn_as_in_sagemaker_and_gets_numpy_defaults(tmp_path):
    import joblib
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, X @ np.array([1.0, 2.0, 3.0]))
    (tmp_path / "model").mkdir()
    joblib.dump(model, tmp_path / "model" / "model.joblib")
    with pytest.raises(SpecError, match="needs an entry_point with model_fn"):
        Handler.load(str(tmp_path / "model"), framework="sklearn")
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "import joblib, os\n"
        "def model_fn(model_dir):\n"
        "    return joblib.load(os.path.join(model_dir, 'model.joblib'))\n"
    )
    handler = Handler.load(str(tmp_path / "model"), str(code), "inference.py", framework="sklearn")
    (out,) = handler.invoke(
        [Request(codecs.encode_npy(X[:2]), "application/x-npy", accept="application/x-npy")]
    )
    np.testing.assert_allclose(codecs.decode_npy(out.body), model.predict(X[:2]), rtol=1e-5)


def tarball(folder, path):
    with tarfile.open(path, "w:gz") as tar:
        for name in os.listdir(folder):
            tar.add(os.path.join(folder, name), arcname=name)


def test_a_model_tar_gz_from_elsewhere_is_pinned_by_its_bytes(booster, tmp_path):
    store = open_store(str(tmp_path / "store"))
    (tmp_path / "m").mkdir()
    booster.save_model(str(tmp_path / "m" / "model.ubj"))
    tarball(tmp_path / "m", tmp_path / "model.tar.gz")
    store.put_file(str(tmp_path / "model.tar.gz"), "byom/model.tar.gz")

    with pytest.raises(SpecError, match=r"not a raymaker model.*XGBoostModel"):
        resolve(store, "byom/model.tar.gz")
    with pytest.raises(SpecError, match="scikit-learn|sklearn container has no default"):
        resolve(store, "byom/model.tar.gz", framework="sklearn")
    ref = resolve(store, "byom/model.tar.gz", framework="xgboost", store_env=_env(store))
    assert ref.content_sha256 and ref.framework == "xgboost"
    handler = load(ModelRef.from_dict(ref.to_dict()), str(tmp_path / "work"))
    (out,) = handler.invoke([Request(csv_body(X[:2]), "text/csv")])
    np.testing.assert_allclose(
        [float(v) for v in out.body.split()], booster.inplace_predict(X[:2]), rtol=1e-6
    )

    store.write_bytes("byom/model.tar.gz", b"something else")  # replaced after the deploy
    with pytest.raises(DataError, match="changed after it was deployed"):
        load(ref, str(tmp_path / "work2"))


def test_a_model_folder_from_elsewhere_is_pinned_by_its_files(booster, tmp_path):
    store = open_store(str(tmp_path / "store"))
    booster.save_model(str(tmp_path / "model.json"))
    store.put_file(str(tmp_path / "model.json"), "byom/folder/model.json")
    ref = resolve(store, "byom/folder", framework="xgboost", store_env=_env(store))
    load(ref, str(tmp_path / "w1"))
    store.write_bytes("byom/folder/extra.txt", b"added later")
    with pytest.raises(DataError, match="changed after it was deployed"):
        load(ref, str(tmp_path / "w2"))


def test_libsvm_serializer_writes_zero_based_rows_without_labels():
    body = LibSVMSerializer().serialize(np.array([[0.5, 0.0, 2.0], [0.0, 1.0, 0.0]]))
    assert body.decode().splitlines() == ["0:0.5 2:2", "1:1"]
    assert LibSVMSerializer().serialize("1:2 3:4") == b"1:2 3:4"
    assert LibSVMSerializer().serialize(io.BytesIO(b"0:1")) == b"0:1"


def _env(store) -> dict:
    return {"RAYMAKER_STORE": store.uri()}


def test_a_savedmodel_serves_tensorflow_servings_rest_shapes(tmp_path):
    import tensorflow as tf

    class Scale(tf.Module):
        def __init__(self):
            self.w = tf.Variable([[1.0], [2.0], [3.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.matmul(x, self.w)}

    module = Scale()
    tf.saved_model.save(
        module, str(tmp_path / "model" / "2"), signatures={"serving_default": module.serve}
    )
    handler = Handler.load(str(tmp_path / "model"), framework="tensorflow")
    rows = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    instances, bare, columnar, csv = handler.invoke([
        Request(json.dumps({"instances": rows}).encode(), "application/json"),
        Request(json.dumps(rows).encode(), "application/json"),  # the container wraps a list
        Request(json.dumps({"inputs": {"x": rows}}).encode(), "application/json"),
        Request(b"1,0,0\n0,1,1\n", "text/csv"),
    ])  # fmt: skip
    for out in (instances, bare, csv):
        assert out.status == 200 and json.loads(out.body) == {"predictions": [[1.0], [5.0]]}
    assert json.loads(columnar.body) == {"outputs": [[1.0], [5.0]]}

    (bad,) = handler.invoke([Request(b'{"rows": []}', "application/json")])
    assert bad.status == 400 and "instances" in json.loads(bad.body)["message"]
    (wrong,) = handler.invoke([Request(b'{"instances": [[1, 2]]}', "application/json")])
    assert wrong.status == 400 and "signature" in json.loads(wrong.body)["message"]
    (empty,) = [tmp_path / "empty"]
    empty.mkdir()
    with pytest.raises(SpecError, match="no SavedModel"):
        Handler.load(str(empty), framework="tensorflow")


def test_a_users_own_predict_fn_still_gets_the_containers_dmatrix(booster, tmp_path):
    (tmp_path / "model").mkdir()
    booster.save_model(str(tmp_path / "model" / "xgboost-model.json"))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(
        "import xgboost as xgb\n"
        "def predict_fn(data, model):\n"
        "    assert isinstance(data, xgb.DMatrix), type(data)\n"
        "    return model.predict(data) * 0 + data.num_col()\n"
    )
    handler = Handler.load(str(tmp_path / "model"), str(tmp_path / "code"), "inference.py",
                           framework="xgboost")  # fmt: skip
    assert handler.fused is None  # only the framework's own pair is fused
    (out,) = handler.invoke([Request(csv_body(X[:2]), "text/csv")])
    assert out.status == 200 and [float(v) for v in out.body.split()] == [3.0, 3.0]
    assert Handler.load(str(tmp_path / "model"), framework="xgboost").fused is not None
