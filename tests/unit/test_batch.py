"""Batch transform without Ray: the job runs its items in the driver (``execution: driver``).

The model is test_inference's XGBoost artifact with its recipe; outputs are compared with the
endpoint's handler answering the same records, byte for byte.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_inference import COLUMNS, expected, frame, model_dir  # noqa: F401 - a fixture

from raymaker.batch import chunks
from raymaker.batch import plan as planning
from raymaker.errors import SpecError
from raymaker.inference.handler import Handler, Request
from raymaker.jobs.records import JobStatus
from raymaker.jobs.runner import run_spec
from raymaker.specs import parse_spec
from raymaker.specs.jsonpath import compile_path
from raymaker.storage import store_for_settings


@pytest.fixture
def env(model_dir, local_settings):  # noqa: F811 - the fixture imported above
    """``(store, settings)`` with the model at ``models/m``."""
    store = store_for_settings(local_settings)
    store.put_dir(model_dir[0], "models/m")
    return store, local_settings


def transform(env, name, data_uri, *, status=JobStatus.SUCCEEDED, **fields):
    store, settings = env
    inputs = {"data_uri": data_uri, **fields.pop("input", {})}
    spec = parse_spec({"kind": "TransformJob", "model_data": "models/m", "input": inputs,
                       "execution": "driver", **fields})  # fmt: skip
    record = run_spec(spec, name=name, store=store, settings=settings)
    assert record.status == status, (record.failure_reason, record.traceback)
    return record


def endpoint_answer(model_dir, body: bytes, accept="text/csv") -> bytes:  # noqa: F811
    response = Handler.load(model_dir[0]).invoke([Request(body, "text/csv", accept)])[0]
    assert response.status == 200, response.body
    return response.body


# -- outputs ------------------------------------------------------------------------------------
def test_csv_out_lines_are_the_endpoints_answers_with_and_without_a_header(env, model_dir):  # noqa: F811
    store, _ = env
    rows = frame(40, seed=5)[COLUMNS]
    body = rows.to_csv(header=False, index=False).encode()
    store.write_bytes("data/in/plain.csv", body)
    store.write_bytes(
        "data/in/deep/named.csv", rows[["spend", "plan", "age"]].to_csv(index=False).encode()
    )
    record = transform(env, "t-csv", "data/in/", output={"path": "results/csv"})
    want = endpoint_answer(model_dir, body)
    assert store.read_bytes("results/csv/plain.csv.out") == want
    assert store.read_bytes("results/csv/deep/named.csv.out") == want
    np.testing.assert_allclose(np.array(want.split(), float), expected(model_dir, rows), rtol=1e-6)
    result = record.result
    assert (result["rows_in"], result["rows_out"], result["bad_rows"]) == (80, 80, 0)
    assert result["output_files"] == 2 and store.exists("results/csv/_SUCCESS")
    assert store.list("jobs/t-csv/_tmp") == []


def test_jsonlines_out_and_json_accept_give_one_object_a_line(env, model_dir):  # noqa: F811
    store, _ = env
    rows = frame(6, seed=2)[COLUMNS]
    store.write_bytes("data/j/a.csv", rows.to_csv(header=False, index=False).encode())
    transform(env, "t-jsonl", "data/j/a.csv", output={"accept": "application/jsonlines"})
    lines = store.read_text("jobs/t-jsonl/output/a.csv.out").splitlines()
    want = json.loads(endpoint_answer(model_dir, rows.to_csv(header=False, index=False).encode(),
                                      "application/json"))["predictions"]  # fmt: skip
    assert [json.loads(line) for line in lines] == want


def test_join_source_and_filters_on_csv(env, model_dir):  # noqa: F811
    store, _ = env
    rows = frame(10, seed=4)[COLUMNS]
    with_id = rows.assign(id=[f"c{i}" for i in range(10)])[["id", *COLUMNS]]
    store.write_bytes("data/ids/x.csv", with_id.to_csv(header=False, index=False).encode())
    scores = endpoint_answer(model_dir, rows.to_csv(header=False, index=False).encode()).split()
    transform(env, "t-join", "data/ids/x.csv", input_filter="$[1:]", join_source="Input")
    joined = store.read_text("jobs/t-join/output/x.csv.out").splitlines()
    raw = with_id.to_csv(header=False, index=False).splitlines()
    assert joined == [f"{line},{s.decode()}" for line, s in zip(raw, scores, strict=True)]
    transform(env, "t-pick", "data/ids/x.csv", input_filter="$[1:]", join_source="Input",
              output_filter="$[0,-1]")  # fmt: skip
    picked = store.read_text("jobs/t-pick/output/x.csv.out").splitlines()
    assert picked == [f"c{i},{s.decode()}" for i, s in enumerate(scores)]


def test_jsonlines_in_with_a_filter_joins_as_sagemaker_output(env, model_dir):  # noqa: F811
    store, _ = env
    rows = frame(5, seed=6)[COLUMNS]
    records = [{"id": i, "features": r} for i, r in enumerate(rows.to_dict(orient="records"))]
    store.write_bytes("data/js/r.jsonl", "".join(json.dumps(r) + "\n" for r in records).encode())
    transform(env, "t-js", "data/js/r.jsonl", input={"content_type": "application/jsonlines"},
              input_filter="$.features", join_source="Input",
              output_filter="$['id','SageMakerOutput']")  # fmt: skip
    out = [
        json.loads(line) for line in store.read_text("jobs/t-js/output/r.jsonl.out").splitlines()
    ]
    want = expected(model_dir, rows)
    assert [o["id"] for o in out] == list(range(5))
    np.testing.assert_allclose([o["SageMakerOutput"]["score"] for o in out], want, rtol=1e-6)


def test_parquet_in_parquet_out_with_join_and_gzip_csv_in(env, model_dir, tmp_path):  # noqa: F811
    store, _ = env
    rows = frame(30, seed=8)[COLUMNS].assign(key=range(30))
    local = tmp_path / "p.parquet"
    rows.to_parquet(local, row_group_size=10)
    store.put_file(str(local), "data/pq/p.parquet")
    record = transform(env, "t-pq", "data/pq/", input={"content_type": "application/x-parquet"},
                       join_source="Input", output_filter="$['key','score']")  # fmt: skip
    assert record.result["accept"] == "application/x-parquet"
    parts = store.list("jobs/t-pq/output", recursive=True)
    assert [p.rsplit("/", 1)[-1] for p in parts] == ["_SUCCESS", "p-00000.parquet"]
    table = pq.read_table(store.arrow_path(parts[1]), filesystem=store.arrow_filesystem())
    assert table.column_names == ["key", "score"]
    assert table.column("key").to_pylist() == list(range(30))
    np.testing.assert_allclose(
        table.column("score").to_numpy(), expected(model_dir, rows), rtol=1e-6
    )

    store.write_bytes("data/gz/a.csv.gz", gzip.compress(rows[COLUMNS].to_csv(index=False).encode()))
    transform(env, "t-gz", "data/gz/", input={"compression_type": "Gzip"})
    got = np.array(store.read_text("jobs/t-gz/output/a.csv.gz.out").split(), float)
    np.testing.assert_allclose(got, expected(model_dir, rows), rtol=1e-6)


def test_big_files_split_into_items_and_blocks_give_the_same_output(env, model_dir, monkeypatch):  # noqa: F811
    store, _ = env
    monkeypatch.setattr(planning, "ITEM_BYTES", 1500)
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 400)
    rows = frame(300, seed=11)[COLUMNS]
    body = rows.to_csv(header=False, index=False).encode()
    store.write_bytes("data/big/a.csv", body)
    record = transform(env, "t-big", "data/big/a.csv")
    assert record.result["items"] > 5
    assert store.read_bytes("jobs/t-big/output/a.csv.out") == endpoint_answer(model_dir, body)


# -- bad records --------------------------------------------------------------------------------
def _with_bad_lines(rows: pd.DataFrame, bad: dict[int, str]) -> bytes:
    lines = rows.to_csv(header=False, index=False).splitlines()
    for line_no, text in bad.items():
        lines[line_no - 1] = text
    return ("\n".join(lines) + "\n").encode()


def test_a_bad_row_fails_the_job_naming_file_and_line(env, monkeypatch):
    store, _ = env
    monkeypatch.setattr(planning, "ITEM_BYTES", 1500)  # the bad line is in a later item
    rows = frame(200, seed=12)[COLUMNS]
    store.write_bytes("data/bad/a.csv", _with_bad_lines(rows, {137: "41,pro,not-a-number"}))
    store.write_bytes("results/keep/old.txt", b"earlier output")
    record = transform(env, "t-bad", "data/bad/a.csv", status=JobStatus.FAILED,
                       output={"path": "results/keep"})  # fmt: skip
    assert "a.csv: bad record at line 137" in record.failure_reason
    assert "on_bad_rows: skip" in record.failure_reason
    assert store.list("results/keep", recursive=True) == ["results/keep/old.txt"]
    assert store.list("jobs/t-bad/_tmp") == []


def test_skipped_bad_rows_go_to_the_errors_file_and_keep_their_place(env, model_dir, monkeypatch):  # noqa: F811
    store, _ = env
    monkeypatch.setattr(planning, "ITEM_BYTES", 1500)
    rows = frame(120, seed=13)[COLUMNS]
    bad = {3: "1,2", 77: "41,pro,not-a-number"}
    store.write_bytes("data/skip/a.csv", _with_bad_lines(rows, bad))
    record = transform(env, "t-skip", "data/skip/a.csv", on_bad_rows="skip")
    result = record.result
    assert (result["rows_in"], result["rows_out"], result["bad_rows"]) == (120, 118, 2)
    errors = [
        json.loads(line)
        for line in store.read_text("jobs/t-skip/output/_errors.jsonl").splitlines()
    ]
    assert [(e["file"], e["line"], e["record"]) for e in errors] == [
        ("a.csv", 3, "1,2"), ("a.csv", 77, "41,pro,not-a-number")]  # fmt: skip
    out = store.read_text("jobs/t-skip/output/a.csv.out").split("\n")[:-1]
    assert len(out) == 120 and out[2] == "" and out[76] == ""
    good = rows.drop(index=[2, 76])
    got = np.array([v for i, v in enumerate(out) if i not in (2, 76)], float)
    np.testing.assert_allclose(got, expected(model_dir, good), rtol=1e-6)


# -- custom handlers ----------------------------------------------------------------------------
HANDLER = """
import json, os

def model_fn(model_dir):
    return {"calls": 0}

def input_fn(body, content_type):  # text/csv: a str, as SageMaker's toolkit gives it
    return [line.split(",") for line in body.splitlines()]

def predict_fn(rows, model):
    if any(r[0] == "boom" for r in rows):
        raise ValueError("boom row")
    return [len(r) * 10 + int(float(r[0])) for r in rows]

def output_fn(prediction, accept):
    tag = os.environ.get("TAG", "")
    return "".join(f"{tag}{p}\\n" for p in prediction)
"""


def test_custom_handler_multi_single_and_whole_file_records(env, tmp_path):
    store, _ = env
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(HANDLER)
    body = b"".join(f"{i},{i + 1},{i + 2}\n".encode() for i in range(20))
    store.write_bytes("data/c/a.csv", body)
    want = "".join(f"x{30 + i}\n" for i in range(20))
    for strategy in ("MultiRecord", "SingleRecord"):
        transform(env, f"t-{strategy.lower()}", "data/c/a.csv", entry_point="inference.py",
                  source_dir=str(code), strategy=strategy, environment={"TAG": "x"},
                  join_source="Input")  # fmt: skip
        joined = store.read_text(f"jobs/t-{strategy.lower()}/output/a.csv.out")
        assert joined == "".join(f"{i},{i + 1},{i + 2},x{30 + i}\n" for i in range(20))
    transform(env, "t-whole", "data/c/a.csv", entry_point="inference.py", source_dir=str(code),
              input={"split_type": "None"}, environment={"TAG": "x"})  # fmt: skip
    assert store.read_text("jobs/t-whole/output/a.csv.out") == want

    store.write_bytes("data/c2/a.csv", body.replace(b"7,8,9\n", b"boom,8,9\n"))
    record = transform(env, "t-boom", "data/c2/a.csv", entry_point="inference.py",
                       source_dir=str(code), on_bad_rows="skip")  # fmt: skip
    assert record.result["bad_rows"] == 1
    assert "boom row" in record.result["bad_row_samples"][0]
    assert record.result["bad_row_samples"][0].startswith("a.csv:8:")


# -- spec errors --------------------------------------------------------------------------------
def test_wrong_specs_name_the_field(env):
    store, settings = env
    store.write_bytes("data/w/a.csv", b"1,2,3,4\n")
    record = transform(env, "t-width", "data/w/a.csv", status=JobStatus.FAILED)
    assert "records have 4 values, the model takes 3" in record.failure_reason
    assert "input_filter" in record.failure_reason
    record = transform(env, "t-accept", "data/w/a.csv", status=JobStatus.FAILED,
                       output={"accept": "image/png"})  # fmt: skip
    assert "output.accept 'image/png'" in record.failure_reason
    record = transform(env, "t-ct", "data/w/a.csv", status=JobStatus.FAILED,
                       input={"content_type": "application/x-npy"})  # fmt: skip
    assert "split_type None" in record.failure_reason
    with pytest.raises(SpecError, match="input_filter"):
        parse_spec({"kind": "TransformJob", "model_data": "m", "input": {"data_uri": "d"},
                    "input_filter": "$[1:"})  # fmt: skip
    for model, message in (("registry://churn/approved", "model group 'churn' does not exist"),
                           ("models/none", "no model")):  # fmt: skip
        spec = parse_spec({"kind": "TransformJob", "model_data": model,
                           "input": {"data_uri": "data/w/a.csv"}})  # fmt: skip
        record = run_spec(spec, name=f"t-{message.split()[1]}", store=store, settings=settings)
        assert record.status == JobStatus.FAILED and message in record.failure_reason


def test_jsonpath_subset():
    assert compile_path("$[1:]").columns(["a", "b", "c"]) == [1, 2]
    assert compile_path("$[0,-1]").columns(["a", "b", "c"]) == [0, 2]
    assert compile_path("$[0,2:]").columns(list("abcd")) == [0, 2, 3]
    assert compile_path("$['c','a']").columns(["a", "b", "c"]) == [2, 0]
    assert compile_path("$").columns(["a"]) == [0]
    assert compile_path("$.a.b").apply({"a": {"b": [1, 2]}}) == [1, 2]
    assert compile_path("$['x','y']").apply({"x": 1, "y": 2, "z": 3}) == {"x": 1, "y": 2}
    assert compile_path("$[1]").apply([5, 6]) == 6
    assert compile_path("$[*]").apply([5, 6]) == [5, 6]
    for bad, message in (("features", "starts with \\$"), ("$[a]", "neither an index"),
                         ("$[1:]. x", "field name"), ("$[0", "never closed")):  # fmt: skip
        with pytest.raises(SpecError, match=message):
            compile_path(bad)
    with pytest.raises(SpecError, match="no column 'q'"):
        compile_path("$['q']").columns(["a"])
    with pytest.raises(SpecError, match="out of range"):
        compile_path("$[5]").columns(["a"])


def test_a_registered_handler_comes_with_its_version(env, tmp_path):
    from raymaker.registry.registry import ModelRegistry

    store, settings = env
    code = tmp_path / "hooks"
    code.mkdir()
    (code / "inference.py").write_text(HANDLER)
    v = ModelRegistry(store=store).register("hooks", "models/m", entry_point="inference.py",
                                            source_dir=str(code), approval_status="Approved")  # fmt: skip
    assert v.inference["entry_point"] == "inference.py"
    assert v.inference["source_dir"].startswith(store.uri("registry/hooks/code/"))
    assert len(v.inference["code_sha256"]) == 64
    store.write_bytes("data/reg/a.csv", b"1,2\n3,4\n")
    spec = parse_spec({"kind": "TransformJob", "model_data": "registry://hooks/approved",
                       "input": {"data_uri": "data/reg/a.csv"}, "execution": "driver"})  # fmt: skip
    record = run_spec(spec, name="t-reg-hooks", store=store, settings=settings)
    assert record.status == JobStatus.SUCCEEDED, record.failure_reason
    assert store.read_text("jobs/t-reg-hooks/output/a.csv.out") == "21\n23\n"
    # the registered code is pinned: changed after registration, it is refused
    code_key = store.key(v.inference["source_dir"])
    store.write_text(f"{code_key}/inference.py", HANDLER + "\n# changed\n")
    record = run_spec(spec, name="t-reg-hooks-changed", store=store, settings=settings)
    assert record.status == JobStatus.FAILED
    assert "does not match the hash its registry version recorded" in record.failure_reason
