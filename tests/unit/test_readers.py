"""Readers without Ray (read_frame), over a local folder and the S3 server."""

import gzip
import io

import pandas as pd
import pytest

from raymaker.data.readers import format_of, read_frame, resolve
from raymaker.errors import DataError, SpecError


@pytest.fixture
def data(store):
    store.write_text("data/csv/part-1.csv", "x,y,city\n1,0.5,Oslo\n2,,Rome\n")
    store.write_bytes("data/csv/part-2.csv.gz", gzip.compress(b"x,y,city\n3,1.5,Oslo\n"))
    store.write_text("data/csv/_SUCCESS", "")
    store.write_text("data/plain/label-first.csv", "1,0.1,0.2\n0,0.3,0.4\n")
    frame = pd.DataFrame({"x": [1, 2], "y": [0.5, None], "city": ["Oslo", "Rome"]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    store.write_bytes("data/pq/a.parquet", buf.getvalue())
    store.write_text("data/jl/a.jsonl", '{"x": 1, "city": "Oslo"}\n{"x": 2, "city": "Rome"}\n')
    return store


def test_csv_prefix_with_gzip_parts(data):
    frame = read_frame(resolve(data, "data/csv"))
    assert list(frame.columns) == ["x", "y", "city"]
    assert frame["x"].tolist() == [1, 2, 3]
    assert frame["y"].isna().tolist() == [False, True, False]


def test_a_glob_and_a_full_uri(data):
    frame = read_frame(resolve(data, data.uri("data/csv/*.csv")))
    assert frame["x"].tolist() == [1, 2]


def test_headerless_label_first_csv_with_names_or_generated(data):
    frame = read_frame(resolve(data, "data/plain", header=False))
    assert list(frame.columns) == ["f0", "f1", "f2"] and frame["f0"].tolist() == [1, 0]
    named = read_frame(resolve(data, "data/plain", header=False, columns=["label", "a", "b"]))
    assert named["label"].tolist() == [1, 0]


def test_schema_overrides_inference(data):
    frame = read_frame(resolve(data, "data/csv/part-1.csv", schema={"x": "float", "city": "str"}))
    assert frame["x"].dtype == "float64"
    with pytest.raises(SpecError, match="schema.x: type 'decimal' is unknown; allowed:"):
        resolve(data, "data/csv", schema={"x": "decimal"})


def test_parquet_and_json_lines(data):
    assert read_frame(resolve(data, "data/pq"))["city"].tolist() == ["Oslo", "Rome"]
    assert read_frame(resolve(data, "data/jl"))["x"].tolist() == [1, 2]


def test_malformed_rows_fail_with_file_and_line_or_are_skipped_and_counted(data):
    data.write_text("data/bad/a.csv", "x,y\n1,2\n3\n4,5\n6,7,8\n")
    with pytest.raises(DataError, match=r"a.csv: line 3: Expected 2 columns, got 1: 3"):
        read_frame(resolve(data, "data/bad"))
    source = resolve(data, "data/bad", on_bad_lines="skip")
    frame = read_frame(source)
    assert frame["x"].tolist() == [1, 4]
    assert source.bad_rows == 2 and list(source.skipped.values()) == [[3, 5]]


def test_empty_and_missing_inputs_are_clear_errors(data):
    data.write_text("data/empty/a.csv", "")
    with pytest.raises(DataError, match="is empty"):
        resolve(data, "data/empty")
    with pytest.raises(DataError, match="no data files"):
        resolve(data, "data/none")
    data.write_text("data/header-only/a.csv", "x,y\n")
    with pytest.raises(DataError, match="has no rows"):
        read_frame(resolve(data, "data/header-only"))


def test_format_detection(data):
    assert [format_of(p) for p in ["a.CSV", "b.csv.gz", "c.parquet", "d.jsonl", "e.txt"]] == [
        "csv",
        "csv",
        "parquet",
        "jsonl",
        None,
    ]
    data.write_text("data/odd/a.txt", "x\n1\n")
    with pytest.raises(SpecError, match="give format"):
        resolve(data, "data/odd")
    assert read_frame(resolve(data, "data/odd", format="csv"))["x"].tolist() == [1]


def test_local_files_outside_the_store(tmp_path, local_settings):
    from raymaker.storage import store_for_settings

    (tmp_path / "mine.csv").write_text("a\n1\n")
    store = store_for_settings(local_settings)
    assert read_frame(resolve(store, str(tmp_path / "mine.csv")))["a"].tolist() == [1]
