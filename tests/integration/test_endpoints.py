"""Endpoints on a real Ray head: real HTTP against the gateway and Serve replicas.

Models are trained once per module (XGBoost with the churn recipe, twice with different
rounds, and LightGBM on numeric columns). Every endpoint is deleted by its test: replicas
take 0.25 CPU each so several fit on the 2-CPU head.
"""

from __future__ import annotations

import concurrent.futures
import http.client as http_client
import io
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

import raymaker as rm
from raymaker.quickstart import CHURN_RECIPE, make_churn_data
from raymaker.storage import artifacts

SMALL = "cpu.0.25"
ROWS = [
    {"tenure": 3, "contract": "month-to-month", "monthly_charges": 95.0, "total_charges": 280.0,
     "support_calls": 4},
    {"tenure": 60, "contract": "two-year", "monthly_charges": 40.0, "total_charges": None,
     "support_calls": 0},
    {"tenure": 24, "contract": "one-year", "monthly_charges": 70.0, "total_charges": 1650.0,
     "support_calls": 1},
]  # fmt: skip
COLUMNS = ["tenure", "contract", "monthly_charges", "total_charges", "support_calls"]


@pytest.fixture(scope="module")
def trained(ray_head, tmp_path_factory):
    """A session on a module-wide store and the URIs of the models trained in it."""
    import yaml

    root = tmp_path_factory.mktemp("endpoints")
    session = rm.Session(store=str(root / "store"))
    data = root / "churn.csv"
    make_churn_data(2000).to_csv(data, index=False)
    uri = session.upload_data(str(data), key_prefix="churn")
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"steps": CHURN_RECIPE}))
    models = {}
    for name, rounds in (("a", 10), ("b", 40)):
        est = rm.XGBoost(label="churn", hyperparameters={"num_round": rounds}, recipe=str(recipe),
                         session=session)  # fmt: skip
        est.fit({"train": uri}, job_name=f"ep-train-{name}", logs=False)
        models[name] = est.model_data
    rng = np.random.default_rng(3)
    X = rng.normal(size=(800, 4))
    numeric = pd.DataFrame(X, columns=["x0", "x1", "x2", "x3"]).assign(y=X[:, 0] * 2 - X[:, 1])
    path = root / "numeric.csv"
    numeric.to_csv(path, index=False)
    est = rm.LightGBM(label="y", hyperparameters={"num_boost_round": 20}, session=session)
    est.fit({"train": session.upload_data(str(path), key_prefix="numeric")},
            job_name="ep-train-lgb", logs=False)  # fmt: skip
    models["lgb"] = est.model_data
    models["estimator"] = est
    return session, models


def offline(session, uri: str, rows: list[dict]) -> np.ndarray:
    """Predictions computed without raymaker's handler: the booster and the fitted recipe."""
    import xgboost as xgb

    from raymaker.data.recipe import FittedRecipe

    local = f"/tmp/raymaker-offline-{abs(hash(uri))}"
    shutil.rmtree(local, ignore_errors=True)
    manifest = artifacts.download(session.store, uri, local)
    with open(os.path.join(local, "recipe.json")) as f:
        recipe = FittedRecipe.from_json(f.read())
    frame = recipe.transform_frame(pd.DataFrame(rows, columns=COLUMNS), inference=True)
    X = frame[manifest["features"]].to_numpy(dtype=np.float32, na_value=np.nan)
    return xgb.Booster(model_file=os.path.join(local, "model.ubj")).inplace_predict(X)


def http(url: str, body: bytes, headers: dict | None = None, method: str = "POST"):
    """``(status, headers, body)``; error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=body if method == "POST" else None,
                                 headers=headers or {}, method=method)  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def csv_rows(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows, columns=COLUMNS).to_csv(header=False, index=False).encode()


def test_content_types_recipe_and_errors(trained):
    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-types", instance_type=SMALL
    )
    try:
        url = session.endpoints.url("ep-types")
        expected = offline(session, models["a"], ROWS)

        status, headers, body = http(url, csv_rows(ROWS), {"Content-Type": "text/csv"})
        assert status == 200 and headers["content-type"].startswith("text/csv")
        assert headers["x-amzn-invoked-production-variant"] == "AllTraffic"
        np.testing.assert_allclose([float(x) for x in body.split()], expected, rtol=1e-6)

        with_header = pd.DataFrame(ROWS, columns=COLUMNS).to_csv(index=False).encode()
        _, _, body = http(url, with_header, {"Content-Type": "text/csv"})
        np.testing.assert_allclose([float(x) for x in body.split()], expected, rtol=1e-6)

        for payload in ({"instances": ROWS},
                        {"instances": [[r[c] for c in COLUMNS] for r in ROWS]}, ROWS):  # fmt: skip
            status, headers, body = http(url, json.dumps(payload).encode(),
                                         {"Content-Type": "application/json"})  # fmt: skip
            assert status == 200, body
            predictions = json.loads(body)["predictions"]
            np.testing.assert_allclose([p["score"] for p in predictions], expected, rtol=1e-6)
            assert all(p["predicted_label"] in (0, 1) for p in predictions)

        lines = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
        status, headers, body = http(url, lines, {"Content-Type": "application/jsonlines"})
        assert status == 200 and headers["content-type"] == "application/jsonlines"
        scores = [json.loads(line)["score"] for line in body.decode().splitlines()]
        np.testing.assert_allclose(scores, expected, rtol=1e-6)

        status, headers, body = http(url, csv_rows(ROWS), {"Content-Type": "text/csv",
                                                           "Accept": "application/json"})  # fmt: skip
        assert status == 200 and "predictions" in json.loads(body)
        status, _, body = http(url, csv_rows(ROWS), {"Content-Type": "text/csv",
                                                     "Accept": "application/x-npy"})  # fmt: skip
        np.testing.assert_allclose(np.load(io.BytesIO(body)), expected, rtol=1e-6)

        # the Predictor with SageMaker's serializers
        assert predictor.predict(pd.DataFrame(ROWS, columns=COLUMNS))["predictions"][0]["score"] \
            == pytest.approx(float(expected[0]), rel=1e-6)  # fmt: skip

        # bad requests: 4xx with a message; the replica keeps serving
        status, _, body = http(url, b"{not json", {"Content-Type": "application/json"})
        assert status == 400 and "not valid JSON" in json.loads(body)["message"]
        status, _, body = http(url, b"1,2\n", {"Content-Type": "text/csv"})
        assert status == 400 and "the model takes 5" in json.loads(body)["message"]
        status, _, body = http(url, b"1", {"Content-Type": "image/png"})
        assert status == 415
        status, _, body = http(url, csv_rows(ROWS), {"Content-Type": "text/csv",
                                                     "Accept": "text/html"})  # fmt: skip
        assert status == 406
        status, _, body = http(url, b"x" * (7 << 20), {"Content-Type": "text/csv"})
        assert status == 413
        status, _, _ = http(url.replace("ep-types", "nope"), b"1", {"Content-Type": "text/csv"})
        assert status == 404
        base = url.split("/endpoints/")[0]
        assert http(base + "/ping", b"", method="GET")[0] == 200
        status, _, body = http(url, csv_rows(ROWS[:1]), {"Content-Type": "text/csv"})
        assert status == 200
        figures = session.endpoints.describe("ep-types")["metrics"]["variants"]["AllTraffic"]
        assert figures["requests"] >= 14 and figures["errors_4xx"] >= 4
        assert _prometheus_has('endpoint="ep-types"', "ray_raymaker_endpoint_requests")
    finally:
        predictor.delete_endpoint()
    with pytest.raises(rm.NotFound):
        session.endpoints.state("ep-types")


def _prometheus_has(tag: str, metric: str, timeout: float = 30.0) -> bool:
    """Whether Ray's metrics port shows ``metric`` with ``tag`` (Ray exports every few s)."""
    import ray

    port = ray.nodes()[0]["MetricsExportPort"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        )
        if any(line.startswith(metric) and tag in line for line in text.splitlines()):
            return True
        time.sleep(1)
    return False


def test_numpy_and_lightgbm_through_estimator_deploy(trained):
    session, models = trained
    est = models["estimator"]
    predictor = est.deploy(endpoint_name="ep-npy", instance_type=SMALL,
                           serializer=rm.NumpySerializer(), deserializer=rm.NumpyDeserializer())  # fmt: skip
    try:
        X = np.array([[0.5, -1.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]], dtype=np.float32)
        got = predictor.predict(X)
        import lightgbm as lgb

        local = "/tmp/raymaker-offline-lgb"
        shutil.rmtree(local, ignore_errors=True)
        artifacts.download(session.store, models["lgb"], local)
        want = lgb.Booster(model_file=os.path.join(local, "model.txt")).predict(X)
        np.testing.assert_allclose(got, want, rtol=1e-5)
    finally:
        predictor.delete_endpoint()


INFERENCE = """
import json, os, time
import xgboost as xgb

def model_fn(model_dir):
    return xgb.Booster(model_file=os.path.join(model_dir, "model.ubj"))

def input_fn(body, content_type, context):
    data = json.loads(body)
    if data.get("explode"):
        raise RuntimeError("boom: the model cannot take this")
    time.sleep(float(data.get("sleep", 0)))
    return data

def predict_fn(data, model):
    return {"n": len(data.get("rows", [])), "trees": model.num_boosted_rounds()}

def output_fn(prediction, accept, context):
    prediction["attributes"] = context.custom_attributes
    prediction["variant"] = context.variant
    prediction["greeting"] = os.environ.get("GREETING")
    return json.dumps(prediction), "application/json"
"""


@pytest.fixture
def handler_code(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(INFERENCE)
    return str(code)


def test_custom_hooks_get_headers_and_a_model_error_keeps_serving(trained, handler_code):
    session, models = trained
    model = rm.Model(model_data=models["a"], entry_point="inference.py", source_dir=handler_code,
                     env={"GREETING": "hello"}, session=session)  # fmt: skip
    predictor = model.deploy(endpoint_name="ep-hooks", instance_type=SMALL,
                             serializer=rm.JSONSerializer())  # fmt: skip
    try:
        answer = predictor.predict({"rows": [1, 2, 3]}, custom_attributes="tenant=blue")
        assert answer == {"n": 3, "trees": 10, "attributes": "tenant=blue", "variant": "AllTraffic",
                          "greeting": "hello"}  # fmt: skip
        url = session.endpoints.url("ep-hooks")
        status, _, body = http(url, b'{"explode": true}', {"Content-Type": "application/json"})
        assert status == 500 and "boom: the model cannot take this" in json.loads(body)["message"]
        assert predictor.predict({"rows": []})["n"] == 0  # the replica is still serving
    finally:
        predictor.delete_endpoint()


def _running(session, name: str) -> int:
    replicas = session.endpoints.describe(name).get("replicas", {})
    return sum(r.get("running", 0) for r in replicas.values())


def test_serverless_scales_from_zero_and_back_and_sheds_load(trained, handler_code):
    """Without a spare (``serve_spare`` off): requests at zero wait for Serve's replica."""
    session, models = trained
    session = rm.Session(settings=session.settings.replace(serve_spare=False))
    model = rm.Model(model_data=models["a"], entry_point="inference.py", source_dir=handler_code,
                     session=session)  # fmt: skip
    config = rm.ServerlessInferenceConfig(max_concurrency=2, memory_size_in_mb=512,
                                          idle_timeout_s=2)  # fmt: skip
    predictor = model.deploy(endpoint_name="ep-zero", serverless_inference_config=config,
                             serializer=rm.JSONSerializer())  # fmt: skip
    try:
        assert _running(session, "ep-zero") == 0  # serverless starts at zero
        t0 = time.perf_counter()
        assert predictor.predict({"rows": [1]})["n"] == 1  # waits for the cold start
        cold = time.perf_counter() - t0
        assert _running(session, "ep-zero") == 1
        assert _live(session, "ep-zero")["AllTraffic"]["spare_requests"] == 0
        deadline = time.monotonic() + 60
        while _running(session, "ep-zero") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _running(session, "ep-zero") == 0, "did not scale back to zero"
        assert predictor.predict({"rows": [1, 2]})["n"] == 2  # from zero again

        url = session.endpoints.url("ep-zero")
        body = json.dumps({"rows": [1], "sleep": 1.0}).encode()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(
                lambda _: http(url, body, {"Content-Type": "application/json"}), range(8)
            ))  # fmt: skip
        statuses = sorted(r[0] for r in results)
        assert statuses.count(200) >= 2 and statuses.count(429) >= 4, statuses
        throttled = next(r for r in results if r[0] == 429)
        assert throttled[1]["retry-after"] == "1" and b"limit 2" in throttled[2]
        print(f"cold start {cold:.2f} s")
    finally:
        predictor.delete_endpoint()


def _until(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def _live(session, name: str) -> dict:
    """The gateway's figures of each variant of ``name``."""
    return session.endpoints.describe(name).get("metrics", {}).get("variants", {})


def _handed_over(session, name: str) -> bool:
    live = _live(session, name)
    return bool(live) and all(
        v["registered_replicas"] >= 1 and not v["spare_standing_in"] for v in live.values()
    )


def _spares(state: str) -> int:
    from ray.util.state import list_actors

    return len(list_actors(filters=[("class_name", "=", "Spare"), ("state", "=", state)]))


def test_a_spare_answers_from_zero_then_hands_over_to_the_replica(trained):
    session, models = trained
    config = rm.ServerlessInferenceConfig(max_concurrency=4, memory_size_in_mb=512,
                                          idle_timeout_s=30)  # fmt: skip
    body, want = csv_rows(ROWS), offline(session, models["a"], ROWS)
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-spare", serverless_inference_config=config
    )
    try:  # a spare is started as soon as a variant can scale to zero
        _until(lambda: _spares("ALIVE") == 1, "the spare is warm")
        dead = _spares("DEAD")
        url = session.endpoints.url("ep-spare")
        status, headers, cold = http(url, body, {"Content-Type": "text/csv"})
        assert status == 200 and headers["x-amzn-invoked-production-variant"] == "AllTraffic"
        np.testing.assert_allclose(np.array(cold.split(), float), want, rtol=1e-6)
        assert _live(session, "ep-spare")["AllTraffic"]["spare_requests"] == 1
        _until(lambda: _handed_over(session, "ep-spare"), "the replica took over")
        assert http(url, body, {"Content-Type": "text/csv"})[2] == cold  # now the replica's
        assert _live(session, "ep-spare")["AllTraffic"]["spare_requests"] == 1
        # the used spare is killed (it ran this variant's code: never reused); a fresh one waits
        _until(lambda: _spares("DEAD") == dead + 1 and _spares("ALIVE") == 1,
               "the used spare is replaced")  # fmt: skip
    finally:
        predictor.delete_endpoint()
    _until(lambda: _spares("ALIVE") == 0, "no spare is kept without a variant needing one")


def test_ab_split_shadow_and_capture(trained):
    session, models = trained
    variants = [
        rm.ProductionVariant(models["a"], "A", initial_weight=0.7, instance_type=SMALL),
        rm.ProductionVariant(models["b"], "B", initial_weight=0.3, instance_type=SMALL),
        rm.ProductionVariant(models["b"], "Shadow", instance_type=SMALL, shadow=True),
    ]
    model = rm.Model(model_data=models["a"], session=session)
    predictor = model.deploy(
        endpoint_name="ep-ab", variants=variants,
        data_capture_config=rm.DataCaptureConfig(sampling_percentage=100),
    )  # fmt: skip
    try:
        url = session.endpoints.url("ep-ab")
        body = csv_rows(ROWS[:1])
        seen = {"A": 0, "B": 0}
        for _ in range(200):
            status, headers, _ = http(url, body, {"Content-Type": "text/csv"})
            assert status == 200
            seen[headers["x-amzn-invoked-production-variant"]] += 1
        assert 35 <= seen["B"] <= 85, seen  # 60 expected; binomial sd ~6.5
        status, headers, answer = http(url, body, {"Content-Type": "text/csv",
                                                   "X-Amzn-SageMaker-Target-Variant": "B"})  # fmt: skip
        assert headers["x-amzn-invoked-production-variant"] == "B"
        assert float(answer) == pytest.approx(float(offline(session, models["b"], ROWS[:1])[0]))
        status, _, answer = http(url, body, {"Content-Type": "text/csv",
                                             "X-Amzn-SageMaker-Target-Variant": "Shadow"})  # fmt: skip
        assert status == 400 and b"variants: A, B" in answer

        store = session.store
        deadline = time.monotonic() + 15
        counts = {}
        while time.monotonic() < deadline:
            counts = {v: _captured(store, "ep-ab", v) for v in ("A", "B", "Shadow")}
            if sum(counts.values()) >= 200 + 201 and counts["Shadow"] >= 200:
                break
            time.sleep(0.5)
        assert counts["A"] + counts["B"] == 201 and counts["Shadow"] >= 200, counts
        key = store.list("capture/ep-ab/A", recursive=True)[0]
        assert key.count("/") == 7  # capture/ep-ab/A/yyyy/mm/dd/hh/file.jsonl
        record = json.loads(store.read_text(key).splitlines()[0])
        data = record["captureData"]
        assert data["endpointInput"]["data"] == body.decode()
        assert (
            data["endpointInput"]["encoding"] == "CSV"
            and data["endpointOutput"]["mode"] == "OUTPUT"
        )
        assert record["eventMetadata"]["inferenceTime"].endswith("Z")
    finally:
        predictor.delete_endpoint()
    assert store.list("capture/ep-ab")  # captured data outlives the endpoint


def _captured(store, endpoint: str, variant: str) -> int:
    return sum(
        len(store.read_text(k).splitlines())
        for k in store.list(f"capture/{endpoint}/{variant}", recursive=True)
    )


def test_rolling_update_under_load_fails_no_request(trained):
    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-roll", instance_type=SMALL
    )
    url = session.endpoints.url("ep-roll")
    body = csv_rows(ROWS[:1])
    old = float(offline(session, models["a"], ROWS[:1])[0])
    new = float(offline(session, models["b"], ROWS[:1])[0])
    answers, failures, stop = [], [], threading.Event()

    def client():
        while not stop.is_set():
            status, _, answer = http(url, body, {"Content-Type": "text/csv"})
            if status == 200:
                answers.append(float(answer))
            else:
                failures.append((status, answer))

    threads = [threading.Thread(target=client) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        predictor.update_endpoint(model=models["b"])
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    try:
        assert not failures, failures[:3]
        assert answers[0] == pytest.approx(old) and answers[-1] == pytest.approx(new)
        assert len(answers) > 50
        state = session.endpoints.state("ep-roll")
        assert state["generation"] == 2 and state["variants"][0]["app"].endswith("-g2")
    finally:
        predictor.delete_endpoint()


def test_multi_model_endpoint_loads_by_target(trained):
    session, models = trained
    store = session.store
    for name in ("a", "b"):
        folder = store.key(models[name])[: -len(".tar.gz")]
        for key in store.list(folder, recursive=True):
            store.write_bytes(f"mme/{name}/{key[len(folder) + 1 :]}", store.read_bytes(key))
    model = rm.Model(model_data=store.uri("mme"), multi_model=True, session=session)
    predictor = model.deploy(endpoint_name="ep-mme", instance_type=SMALL,
                             deserializer=rm.CSVDeserializer())  # fmt: skip
    try:
        for name in ("a", "b"):
            got = predictor.predict(csv_rows(ROWS[:1]), target_model=name)
            assert float(got[0][0]) == pytest.approx(
                float(offline(session, models[name], ROWS[:1])[0])
            )
        url = session.endpoints.url("ep-mme")
        status, _, body = http(url, csv_rows(ROWS[:1]), {"Content-Type": "text/csv",
                                                         "X-Amzn-SageMaker-Target-Model": "zzz"})  # fmt: skip
        assert status == 404 and b"zzz" in body
        status, _, body = http(url, csv_rows(ROWS[:1]), {"Content-Type": "text/csv",
                                                         "X-Amzn-SageMaker-Target-Model": "../a"})  # fmt: skip
        assert status == 400
    finally:
        predictor.delete_endpoint()


def test_boto3_sagemaker_runtime_invoke_endpoint(trained):
    import boto3
    from botocore.exceptions import ClientError

    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-boto", instance_type=SMALL
    )
    try:
        base = session.endpoints.state("ep-boto")["url"]
        runtime = boto3.client("sagemaker-runtime", endpoint_url=base, region_name="us-east-1")
        reply = runtime.invoke_endpoint(EndpointName="ep-boto", ContentType="text/csv",
                                        Accept="text/csv", Body=csv_rows(ROWS))  # fmt: skip
        scores = [float(x) for x in reply["Body"].read().split()]
        np.testing.assert_allclose(scores, offline(session, models["a"], ROWS), rtol=1e-6)
        assert reply["InvokedProductionVariant"] == "AllTraffic"
        assert reply["ContentType"].startswith("text/csv")
        with pytest.raises(ClientError) as err:
            runtime.invoke_endpoint(EndpointName="ep-boto", ContentType="text/csv", Body=b"1,2")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        ours = session.sagemaker_runtime_client.invoke_endpoint(  # the same without boto3
            EndpointName="ep-boto", ContentType="text/csv", Accept="text/csv", Body=csv_rows(ROWS)
        )  # fmt: skip
        assert [float(x) for x in ours["Body"].read().split()] == scores
        assert ours["InvokedProductionVariant"] == "AllTraffic"
        with pytest.raises(rm.SpecError, match="HTTP 400"):
            session.sagemaker_runtime_client.invoke_endpoint(EndpointName="ep-boto", Body="1,2")
        predictor.delete_model()  # SageMaker notebooks' cleanup: no Model resource here
    finally:
        predictor.delete_endpoint()


def test_beyond_loopback_needs_a_token(trained):
    import socket

    session, models = trained
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    open_settings = session.settings.replace(serve_host="0.0.0.0", serve_port=port)
    model_uri = models["a"]
    with pytest.raises(rm.SpecError, match="RAYMAKER_SERVE_TOKEN"):
        rm.Model(model_data=model_uri, session=rm.Session(settings=open_settings)).deploy(
            endpoint_name="ep-open", instance_type=SMALL
        )
    guarded = rm.Session(settings=open_settings.replace(serve_token="s3cret-token"))
    predictor = rm.Model(model_data=model_uri, session=guarded).deploy(
        endpoint_name="ep-token", instance_type=SMALL
    )
    try:
        url = guarded.endpoints.url("ep-token")
        assert url.startswith(f"http://127.0.0.1:{port}/")
        body = csv_rows(ROWS[:1])
        assert http(url, body, {"Content-Type": "text/csv"})[0] == 401
        wrong = {"Content-Type": "text/csv", "Authorization": "Bearer nope"}
        assert http(url, body, wrong)[0] == 401
        right = {"Content-Type": "text/csv", "Authorization": "Bearer s3cret-token"}
        assert http(url, body, right)[0] == 200
        assert predictor.predict(body)["predictions"][0]["predicted_label"] in (0, 1)
        # boto3 signs (SigV4) with the token as its secret key; any other key is refused
        import boto3
        from botocore.exceptions import ClientError

        base = url.split("/endpoints/")[0]
        runtime = boto3.client("sagemaker-runtime", endpoint_url=base, region_name="eu-west-1",
                               aws_access_key_id="raymaker", aws_secret_access_key="s3cret-token")  # fmt: skip
        reply = runtime.invoke_endpoint(EndpointName="ep-token", ContentType="text/csv", Body=body)
        assert reply["Body"].read() == http(url, body, right)[2]
        forged = boto3.client("sagemaker-runtime", endpoint_url=base, region_name="eu-west-1",
                              aws_access_key_id="raymaker", aws_secret_access_key="guess")  # fmt: skip
        with pytest.raises(ClientError) as err:
            forged.invoke_endpoint(EndpointName="ep-token", ContentType="text/csv", Body=body)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    finally:
        predictor.delete_endpoint()


def test_cli_deploy_invoke_update_describe_delete(trained, tmp_path):
    import subprocess
    import sys

    import yaml

    session, models = trained
    env = {**os.environ, "RAYMAKER_STORE": session.settings.store}
    spec = tmp_path / "endpoint.yaml"
    spec.write_text(yaml.safe_dump({
        "kind": "Endpoint", "name": "ep-cli",
        "variants": [{"model_data": models["a"], "instance_type": SMALL}],
        "data_capture": {"sampling_percentage": 50},
    }))  # fmt: skip
    rows = tmp_path / "rows.csv"
    rows.write_bytes(csv_rows(ROWS))

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "raymaker", *args], env=env,
                              capture_output=True, text=True, timeout=180)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    try:
        state = json.loads(cli("deploy", str(spec), "-o", "json"))
        assert state["status"] == "InService" and state["generation"] == 1
        answer = cli("invoke", "ep-cli", "--data", str(rows))
        np.testing.assert_allclose([float(x) for x in answer.split()],
                                   offline(session, models["a"], ROWS), rtol=1e-6)  # fmt: skip
        listed = json.loads(cli("endpoints", "list", "-o", "json"))
        assert [r["name"] for r in listed] == ["ep-cli"] and listed[0]["status"] == "InService"
        cli("endpoints", "update", "ep-cli", "--model-data", models["b"])
        answer = cli("invoke", "ep-cli", "--data", str(rows), "--accept", "application/json")
        scores = [p["score"] for p in json.loads(answer)["predictions"]]
        np.testing.assert_allclose(scores, offline(session, models["b"], ROWS), rtol=1e-6)
        described = json.loads(cli("endpoints", "describe", "ep-cli", "-o", "json"))
        assert described["generation"] == 2
        assert described["replicas"]["AllTraffic"]["running"] == 1
        assert described["metrics"]["variants"]["AllTraffic"]["requests"] >= 1
        table = cli("endpoints", "describe", "ep-cli")
        assert "AllTraffic" in table and "InService" in table
        cli("run", str(spec))  # the spec again: an update back to model a, through `run`
        assert session.endpoints.state("ep-cli")["generation"] == 3
    finally:
        subprocess.run([sys.executable, "-m", "raymaker", "endpoints", "delete", "ep-cli"],
                       env=env, capture_output=True, timeout=120)  # fmt: skip
    bad = subprocess.run([sys.executable, "-m", "raymaker", "invoke", "ep-cli", "--data", str(rows)],
                         env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 3 and "does not exist" in bad.stderr


def test_a_gateway_that_ray_restarts_routes_again(trained):
    import ray

    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-restart", instance_type=SMALL
    )
    try:
        url = session.endpoints.url("ep-restart")
        body = csv_rows(ROWS[:1])
        assert http(url, body, {"Content-Type": "text/csv"})[0] == 200
        gateway = ray.get_actor(session.endpoints.gateway_name, namespace="raymaker")
        ray.kill(gateway, no_restart=False)
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            try:
                status = http(url, body, {"Content-Type": "text/csv"})[0]
            except (OSError, http_client.HTTPException):
                status = None  # not listening yet, or the killed gateway cut its answer short
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200  # routes from the GCS, server started by a replica's heartbeat
    finally:
        predictor.delete_endpoint()


def test_a_failed_update_leaves_the_endpoint_serving(trained, tmp_path):
    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-badupdate", instance_type=SMALL
    )
    try:
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "inference.py").write_text(
            "def model_fn(model_dir):\n    raise OSError('no GPU here')\n"
        )
        # the replica's own error, not Serve's "failed to update the deployments"
        with pytest.raises(rm.ClusterError, match="a replica did not start: OSError: no GPU here"):
            predictor.update_endpoint(model=rm.Model(model_data=models["b"], entry_point="inference.py",
                                                     source_dir=str(broken)))  # fmt: skip
        state = session.endpoints.state("ep-badupdate")
        assert state["status"] == "InService" and state["generation"] == 1
        assert state["failure_reason"].startswith("update failed")
        assert "OSError: no GPU here" in state["failure_reason"]
        url = session.endpoints.url("ep-badupdate")
        status, _, answer = http(url, csv_rows(ROWS[:1]), {"Content-Type": "text/csv"})
        assert status == 200
        assert float(answer) == pytest.approx(float(offline(session, models["a"], ROWS[:1])[0]))
    finally:
        predictor.delete_endpoint()


def _lose_the_cluster_state(session, name: str) -> None:
    """What a head restart loses of an endpoint: its Serve applications and its route."""
    import ray
    from ray import serve

    gateway = ray.get_actor(session.endpoints.gateway_name, namespace="raymaker")
    ray.get(gateway.retire.remote(ray.get(gateway.remove_endpoint.remote(name))))
    for v in session.endpoints.state(name)["variants"]:
        serve.delete(v["app"])


def test_desired_state_is_restored_by_reconcile_and_by_an_update(trained):
    from raymaker.jobs.records import JobRecord, JobStatus, read_record, write_record

    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-reconcile", instance_type=SMALL
    )
    try:
        url = session.endpoints.url("ep-reconcile")
        body, ct = csv_rows(ROWS[:1]), {"Content-Type": "text/csv"}
        assert http(url, body, ct)[0] == 200
        _lose_the_cluster_state(session, "ep-reconcile")
        assert http(url, body, ct)[0] == 404
        # an update to the same model starts what Serve lacks (the app name is reused)
        session.endpoints.roll("ep-reconcile", model_data=models["a"])
        assert http(url, body, ct)[0] == 200
        _lose_the_cluster_state(session, "ep-reconcile")
        # a job the cluster lost while it ran
        write_record(session.store, JobRecord(name="lost-job", kind="ProcessingJob",
                                              status=JobStatus.RUNNING, submission_id="raysubmit_gone"))  # fmt: skip
        result = session.reconcile()
        assert (
            result["Endpoint"]["restored"] == ["ep-reconcile"] and not result["Endpoint"]["failed"]
        )
        assert "lost-job" in result["jobs_failed"]
        assert http(url, body, ct)[0] == 200
        lost = read_record(session.store, "lost-job")
        assert lost.status == JobStatus.FAILED and "cluster stopped" in lost.failure_reason
        again = session.reconcile()  # nothing left to do
        assert again["Endpoint"]["restored"] == [] and again["jobs_failed"] == []
    finally:
        predictor.delete_endpoint()


def _replica_actors(app: str) -> set[str]:
    from ray.util.state import list_actors

    actors = list_actors(filters=[("class_name", "=", f"ServeReplica:{app}:replica")])
    return {a.actor_id for a in actors if a.state == "ALIVE"}


def test_fuzzing_a_live_endpoint_gets_4xx_and_good_requests_keep_answering(trained):
    """Every hostile category of issue 18 plus random bytes, on loopback, bounded: no 5xx, no
    Ray internals in any body, no replica restart, and good requests answered throughout."""
    from hostile import catalogue, random_bodies, ray_words

    session, models = trained
    predictor = rm.Model(model_data=models["a"], session=session).deploy(
        endpoint_name="ep-fuzz", instance_type=SMALL
    )
    try:
        url = session.endpoints.url("ep-fuzz")
        app = session.endpoints.state("ep-fuzz")["variants"][0]["app"]
        before = _replica_actors(app)
        good = csv_rows(ROWS[:2])
        hostile = catalogue(COLUMNS) + random_bodies(120, seed=18)
        stop, good_statuses = threading.Event(), []

        def keep_asking():
            while not stop.is_set():
                good_statuses.append(http(url, good, {"Content-Type": "text/csv"}))
                time.sleep(0.02)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        started = time.monotonic()
        try:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(lambda h: (h[0], *http(url, h[1], h[2])), hostile))
        finally:
            stop.set()
            asker.join()
        assert time.monotonic() - started < 120
        server_errors = [
            (name, status, body[:200]) for name, status, _, body in answers if status >= 500
        ]
        assert not server_errors, server_errors
        leaks = [(name, ray_words(body)) for name, _, _, body in answers if ray_words(body)]
        assert not leaks, leaks
        unexplained = [(name, status, body[:80]) for name, status, _, body in answers
                       if status != 200 and b'"message"' not in body]  # fmt: skip
        assert not unexplained, unexplained  # random bytes may parse; every refusal says why
        assert good_statuses and {s for s, _, _ in good_statuses} == {200}
        want = good_statuses[0][2]
        assert all(b == want for _, _, b in good_statuses)
        assert _replica_actors(app) == before  # no replica died or restarted
    finally:
        predictor.delete_endpoint()
