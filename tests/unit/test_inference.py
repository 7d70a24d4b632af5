"""The shared inference handler without Ray: codecs, built-in models with their recipe,
SageMaker hooks with a context, and errors that answer instead of raising."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest

from raymaker.data.recipe import Recipe
from raymaker.errors import SpecError
from raymaker.inference import codecs
from raymaker.inference.handler import Handler, Request
from raymaker.storage import artifacts

COLUMNS = ["age", "plan", "spend"]


def frame(n=300, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "pro"], n)
    age = rng.integers(18, 80, n).astype(float)
    spend = rng.normal(50, 10, n)
    y = ((plan == "pro") ^ (spend > 50)).astype(int)
    return pd.DataFrame({"age": age, "plan": plan, "spend": spend, "y": y})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A raymaker XGBoost artifact (recipe included), written as training writes one."""
    import xgboost as xgb

    folder = tmp_path_factory.mktemp("model")
    df = frame()
    fitted = Recipe.parse({"steps": [{"op": "onehot", "columns": ["plan"]}]}).fit(df)
    out = fitted.transform_frame(df)
    features = [c for c in out.columns if c != "y"]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(out[features].to_numpy(np.float32), label=df["y"]), 10)  # fmt: skip
    booster.save_model(str(folder / "model.ubj"))
    (folder / "recipe.json").write_text(fitted.to_json())
    artifacts.write_manifest(str(folder), {
        "framework": "xgboost", "task": "binary", "label": "y", "classes": [0, 1],
        "features": features, "input_schema": {"age": "double", "plan": "string", "spend": "double"},
        "output": {"type": "probability", "positive_class": 1, "classes": [0, 1]},
        "recipe": "recipe.json",
    })  # fmt: skip
    return str(folder), booster, fitted, features


def expected(model_dir, rows: pd.DataFrame) -> np.ndarray:
    _, booster, fitted, features = model_dir
    X = fitted.transform_frame(rows, inference=True)[features].to_numpy(np.float32)
    return booster.inplace_predict(X)


def test_builtin_batches_requests_of_every_type_and_matches_offline(model_dir):
    handler = Handler.load(model_dir[0])
    rows = frame(5, seed=9)[COLUMNS]
    want = expected(model_dir, rows)
    csv = rows.to_csv(header=False, index=False).encode()
    records = json.dumps({"instances": rows.to_dict(orient="records")}).encode()
    lines = "".join(json.dumps(r) + "\n" for r in rows.values.tolist()).encode()
    out = handler.invoke([
        Request(csv, "text/csv"),
        Request(records, "application/json"),
        Request(lines, "application/jsonlines", accept="text/csv"),
        Request(rows.to_csv(index=False).encode(), "text/csv; charset=utf-8", accept="application/x-npy"),
        Request(b"{broken", "application/json"),
    ])  # fmt: skip
    assert [r.status for r in out] == [200, 200, 200, 200, 400]
    np.testing.assert_allclose([float(x) for x in out[0].body.split()], want, rtol=1e-6)
    scores = [p["score"] for p in json.loads(out[1].body)["predictions"]]
    np.testing.assert_allclose(scores, want, rtol=1e-6)
    np.testing.assert_allclose([float(x) for x in out[2].body.split()], want, rtol=1e-6)
    np.testing.assert_allclose(np.load(io.BytesIO(out[3].body)), want, rtol=1e-6)
    assert "not valid JSON" in json.loads(out[4].body)["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"1,2\n", "text/csv", 400, "the model takes 3 (age, plan, spend)"),
        (b'{"instances": [{"age": 1}]}', "application/json", 400, "lack the columns plan, spend"),
        (b"x", "image/png", 415, "use one of text/csv"),
        (b"", "text/csv", 400, "no rows"),
        (b"\x93NUMPY garbage", "application/x-npy", 400, "application/x-npy"),
        (b"[" * 2000 + b"]" * 2000, "application/json", 400, "nested too deeply"),
        (b"[" * 2000 + b"]" * 2000 + b"\n", "application/jsonlines", 400, "nested too deeply"),
        (b'[[[[1]], "pro", 3]]', "application/json", 400, "column 'age', row 0: a list"),
        (b"age,plan,spend\n", "text/csv", 400, "a header and no rows"),
        (b'[{"age": {"a": 1}, "plan": "pro", "spend": 1}]', "application/json", 400,
         "column 'age', row 0: a dict"),
        (b'[{"age": 3, "plan": "pro", "spend": [1]}]', "application/json", 400,
         "column 'spend', row 0: a list"),
        (b'[{"age": "old", "plan": "pro", "spend": 1}]', "application/json", 400,
         "column 'age' is double; row 0 sends 'old'"),
        (b'[{"age": true, "plan": "pro", "spend": 1}]', "application/json", 400,
         "column 'age' is double; row 0 sends a boolean"),
        (b"31,pro,abc\n", "text/csv", 400, "column 'spend' is double; row 0 sends 'abc'"),
    ],
)  # fmt: skip
def test_bad_bodies_answer_4xx_naming_the_problem(model_dir, body, content_type, status, message):
    (out,) = Handler.load(model_dir[0]).invoke([Request(body, content_type)])
    assert out.status == status and message in json.loads(out.body)["message"]


@pytest.mark.parametrize("limit", [1000, 20_000])
def test_the_json_depth_bound_is_ours_not_the_recursion_limit(limit):
    # torch and TensorFlow raise the recursion limit; the same body must get the same answer
    import sys

    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        for depth in (101, 3000):
            with pytest.raises(SpecError, match="nested too deeply"):
                codecs.load_json(b"[" * depth + b"]" * depth)
            with pytest.raises(SpecError, match="line 2: the JSON is nested too deeply"):
                codecs.load_json_lines(b"[1]\n" + b"[" * depth + b"]" * depth)
    finally:
        sys.setrecursionlimit(saved)
    deep = json.dumps({"instances": [[[[[1.0] * 3] * 2] * 2] * 2] * 50, "k": "[[[[" * 40})
    assert codecs.load_json(deep)["k"].startswith("[[[[")


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_poison_bodies_answer_400_and_spare_the_good_requests_beside_them(model_dir):
    handler = Handler.load(model_dir[0])
    good = b"31,pro,52.5\n"
    poison = [
        Request(npy(np.float64(3.0)), "application/x-npy"),  # 0-dimensional
        Request(npy(np.array([[1 + 2j, 2, 3]])), "application/x-npy"),  # complex
        Request(npy(np.zeros((1, 3, 2))), "application/x-npy"),  # 3 dimensions
        Request(b"[" * 100_000, "application/json"),
        Request(os.urandom(4096), "application/x-npy"),
        Request(os.urandom(4096), "application/json"),
    ]
    out = handler.invoke([Request(good, "text/csv"), *poison, Request(good, "text/csv")])
    assert [r.status for r in out] == [200] + [400] * len(poison) + [200]
    assert out[0].body == out[-1].body


def test_a_million_column_csv_is_refused_by_its_first_line_in_milliseconds(model_dir):
    import time

    handler = Handler.load(model_dir[0])
    body = b",".join([b"1"] * 1_000_001) + b"\n"
    started = time.perf_counter()
    (out,) = handler.invoke([Request(body, "text/csv")])
    took = time.perf_counter() - started
    assert out.status == 400 and "1000001 values" in json.loads(out.body)["message"]
    assert took < 0.05, took


def test_npy_object_arrays_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SpecError, match="not a plain .npy"):
        codecs.decode_npy(buf.getvalue())


def test_accept_negotiation():
    assert codecs.negotiate(None, "text/csv") == "text/csv"
    assert codecs.negotiate("application/json", "text/csv") == "application/json"
    assert (
        codecs.negotiate("text/html;q=0.9, application/x-npy;q=0.5", "text/csv")
        == "application/x-npy"
    )
    assert codecs.negotiate("*/*", "application/jsonlines") == "application/jsonlines"
    with pytest.raises(codecs.NotAcceptable):
        codecs.negotiate("text/html", "text/csv")


HOOKS = """
import json, os
import xgboost as xgb

def model_fn(model_dir, context=None):
    return xgb.Booster(model_file=os.path.join(model_dir, "model.ubj"))

def input_fn(body, content_type, context):
    if b"fail" in body:
        raise ValueError("cannot parse that")
    return {"body": body.decode(), "tenant": context.headers.get("x-tenant")}

def predict_fn(data, model):
    return {**data, "rounds": model.num_boosted_rounds()}

def output_fn(prediction, accept):
    return json.dumps(prediction)
"""


def test_hooks_get_the_context_and_errors_answer_500(model_dir, tmp_path):
    (tmp_path / "inference.py").write_text(HOOKS)
    handler = Handler.load(model_dir[0], str(tmp_path), "inference.py", endpoint="e", variant="v")
    ok, bad = handler.invoke([
        Request(b"hi", "text/plain", headers={"x-tenant": "blue"}),
        Request(b"fail", "text/plain"),
    ])  # fmt: skip
    assert ok.status == 200
    assert json.loads(ok.body) == {"body": "hi", "tenant": "blue", "rounds": 10}
    assert bad.status == 500 and "ValueError: cannot parse that" in json.loads(bad.body)["message"]


def test_transform_fn_and_missing_hooks(model_dir, tmp_path):
    (tmp_path / "t.py").write_text(
        "def transform_fn(model, body, content_type, accept):\n"
        "    return body.upper(), 'text/plain'\n"
    )
    (out,) = Handler.load(model_dir[0], str(tmp_path), "t.py").invoke([Request(b"abc", "text/csv")])
    assert (out.status, out.body, out.content_type) == (200, b"ABC", "text/plain")


def test_hooks_get_csv_and_json_as_str_and_other_types_as_bytes(model_dir, tmp_path):
    (tmp_path / "t.py").write_text(
        "def transform_fn(model, body, content_type, accept):\n"
        "    return type(body).__name__, 'text/plain'\n"
    )
    handler = Handler.load(model_dir[0], str(tmp_path), "t.py")
    kinds = [r.body for r in handler.invoke([
        Request(b"1,2", "text/csv"), Request(b"[1]", "application/json"),
        Request(b"x", "application/x-npy"), Request(b"{}", "application/jsonlines"),
    ])]  # fmt: skip
    assert kinds == [b"str", b"str", b"bytes", b"bytes"]  # SageMaker's inference toolkit's
    (bad,) = handler.invoke([Request(b"\xff\xfe", "text/csv")])
    assert bad.status == 422 and "not UTF-8" in json.loads(bad.body)["message"]
    (tmp_path / "none.py").write_text("x = 1\n")
    with pytest.raises(SpecError, match="defines none of model_fn"):
        Handler.load(model_dir[0], str(tmp_path), "none.py")
    with pytest.raises(SpecError, match="is not in the code folder"):
        Handler.load(model_dir[0], str(tmp_path), "missing.py")


def test_a_tampered_artifact_is_refused(model_dir, tmp_path):
    import shutil

    from raymaker.errors import DataError

    copy = tmp_path / "m"
    shutil.copytree(model_dir[0], copy)
    with open(os.path.join(copy, "model.ubj"), "ab") as f:
        f.write(b"x")
    with pytest.raises(DataError, match="does not match its hash"):
        Handler.load(str(copy))


def test_models_without_a_builtin_handler_say_so(tmp_path):
    artifacts.write_manifest(str(tmp_path), {"framework": "custom"})
    with pytest.raises(SpecError, match="give an entry_point"):
        Handler.load(str(tmp_path))


def test_torch_mlp_and_text_builtins_match_their_networks(tmp_path):
    import torch

    from raymaker.inference.networks import build_network, text_ids

    torch.manual_seed(0)
    mlp = {"kind": "mlp", "inputs": 3, "hidden": [8], "outputs": 3, "dropout": 0.0}
    net = build_network(mlp).eval()
    folder = tmp_path / "mlp"
    folder.mkdir()
    torch.save(net.state_dict(), folder / "model.pt")
    artifacts.write_manifest(str(folder), {
        "framework": "torch", "task": "multiclass", "features": ["a", "b", "c"],
        "input_schema": {"a": "double", "b": "double", "c": "double"}, "architecture": mlp,
        "output": {"type": "probabilities", "classes": ["x", "y", "z"]}, "recipe": None,
    })  # fmt: skip
    X = np.array([[0.1, 0.2, 0.3], [-1.0, 0.5, 2.0]], dtype=np.float32)
    (out,) = Handler.load(str(folder)).invoke(
        [Request(json.dumps(X.tolist()).encode(), "application/json")]
    )
    got = json.loads(out.body)["predictions"]
    want = torch.softmax(net(torch.from_numpy(X)), dim=1).detach().numpy()
    np.testing.assert_allclose([p["scores"] for p in got], want, rtol=1e-5)
    assert [p["predicted_label"] for p in got] == [["x", "y", "z"][i] for i in want.argmax(1)]

    text = {"kind": "embedding_bag", "buckets": 1024, "dim": 8, "outputs": 1, "ngrams": 2}
    tnet = build_network(text).eval()
    folder = tmp_path / "text"
    folder.mkdir()
    torch.save(tnet.state_dict(), folder / "model.pt")
    artifacts.write_manifest(str(folder), {
        "framework": "torch", "task": "binary", "features": ["review"],
        "input_schema": {"review": "string"}, "architecture": text, "recipe": None,
        "output": {"type": "probability", "positive_class": "pos", "classes": ["neg", "pos"]},
    })  # fmt: skip
    body = json.dumps({"instances": [{"review": "great fun"}, {"review": "dull"}]}).encode()
    (out,) = Handler.load(str(folder)).invoke([Request(body, "application/json")])
    ids, offsets = text_ids(["great fun", "dull"], 2, 1024)
    want = (
        torch.sigmoid(tnet((torch.tensor(ids), torch.tensor(offsets))).squeeze(1)).detach().numpy()
    )
    np.testing.assert_allclose(
        [p["score"] for p in json.loads(out.body)["predictions"]], want, rtol=1e-5
    )


def test_script_mode_sklearn_model(tmp_path):
    import joblib
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    joblib.dump(clf, tmp_path / "model.joblib")
    artifacts.write_manifest(str(tmp_path), {"framework": "sklearn", "entry_point": "train.py"})
    (out,) = Handler.load(str(tmp_path)).invoke([Request(b"1.5,0\n-2,1\n", "text/csv")])
    assert out.status == 200 and [float(v) for v in out.body.split()] == [1.0, 0.0]


def test_csv_scores_are_reprs_on_both_paths():
    """An endpoint's few rows (plain repr) and a batch's block (Arrow) write the same text."""
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.random(2000), 10 ** rng.uniform(-12, 20, 2000),
                             np.round(rng.normal(size=300) * 1000),
                             [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-4, 1e9]])  # fmt: skip
    for arr in (values, values.astype(np.float32)):
        want = [repr(float(v)) for v in arr.tolist()]
        assert codecs.csv_texts(arr) == want
        assert codecs.csv_texts(arr[:3]) == want[:3]
        assert codecs.encode_predictions(None, arr, codecs.CSV).decode().splitlines() == want
