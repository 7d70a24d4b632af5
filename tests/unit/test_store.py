"""The store, on a local folder and on a real S3 API server (same tests, both backends)."""

import os
import threading

import pytest

from raymaker.errors import Conflict, InvalidKey, NotFound
from raymaker.storage import layout


def test_write_read_and_overwrite(store):
    uri = store.write_json("jobs/a/record.json", {"status": "PENDING"})
    assert uri == store.uri("jobs/a/record.json")
    assert store.read_json("jobs/a/record.json") == {"status": "PENDING"}
    store.write_json("jobs/a/record.json", {"status": "RUNNING"})
    assert store.read_json("jobs/a/record.json") == {"status": "RUNNING"}
    assert store.exists("jobs/a/record.json")
    assert not store.exists("jobs/b/record.json")


def test_missing_object_is_not_found(store):
    with pytest.raises(NotFound, match="no object"):
        store.read_bytes("nothing/here")


def test_create_is_exclusive(store):
    store.create_json("registry/g/1.json", {"v": 1})
    with pytest.raises(Conflict):
        store.create_json("registry/g/1.json", {"v": 2})
    assert store.read_json("registry/g/1.json") == {"v": 1}


def test_concurrent_creates_have_exactly_one_winner(store):
    wins, errors = [], []

    def attempt(i):
        try:
            store.create_bytes("race/key", str(i).encode())
            wins.append(i)
        except Conflict:
            errors.append(i)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(errors) == 7
    assert store.read_bytes("race/key") == str(wins[0]).encode()


def test_stamps_tell_which_records_changed(store):
    for key in ["jobs/a/record.json", "jobs/b/record.json", "jobs/c/logs.txt", "jobs/d.json"]:
        store.write_text(key, "{}")
    first = store.stamps("jobs", "record.json")
    assert set(first) == {"a", "b"}  # c has no record, d.json is not a folder
    store.write_text("jobs/a/record.json", '{"status": "FAILED"}')
    second = store.stamps("jobs", "record.json")
    assert second["a"] != first["a"] and second["b"] == first["b"]
    assert store.stamps("nothing", "record.json") == {}


def test_list_children_and_files(store):
    for key in ["jobs/a/record.json", "jobs/a/logs.txt", "jobs/b/record.json", "data/x.csv"]:
        store.write_text(key, "x")
    assert store.list("jobs") == ["jobs/a", "jobs/b"]
    assert store.list("jobs/a/record.json") == ["jobs/a/record.json"]
    assert store.list("jobs", recursive=True) == [
        "jobs/a/logs.txt",
        "jobs/a/record.json",
        "jobs/b/record.json",
    ]
    assert store.list("missing") == []


def test_size_of_an_object_and_a_prefix(store):
    store.write_bytes("models/m/model.ubj", b"x" * 1000)
    store.write_bytes("models/m/sub/recipe.json", b"y" * 24)
    assert store.size("models/m/model.ubj") == 1000
    assert store.size("models/m") == 1024
    assert store.size("models/none") == 0


def test_delete_and_move(store):
    store.write_text("jobs/a/_tmp/out/part-0", "1")
    store.write_text("jobs/a/_tmp/out/part-1", "2")
    store.move("jobs/a/_tmp/out", "jobs/a/output/out")
    assert store.list("jobs/a/output/out", recursive=True) == [
        "jobs/a/output/out/part-0",
        "jobs/a/output/out/part-1",
    ]
    assert not store.exists("jobs/a/_tmp/out/part-0")
    store.delete("jobs/a/output/out/part-0")
    store.delete("jobs/a/never-existed")
    store.delete("jobs/a", recursive=True)
    assert store.list("jobs", recursive=True) == []
    with pytest.raises(NotFound):
        store.move("jobs/none", "jobs/other")


def test_upload_file_and_folder_then_get_back(store, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.csv").write_text("a,b\n1,2\n")
    (src / "sub" / "b.csv").write_text("a,b\n3,4\n")
    file_uri = store.upload(src / "a.csv", "data/one")
    assert file_uri == store.uri("data/one/a.csv")
    dir_uri = store.upload(src, "data/many")
    assert dir_uri == store.uri("data/many")
    assert store.list("data/many", recursive=True) == ["data/many/a.csv", "data/many/sub/b.csv"]
    out = tmp_path / "out"
    store.get("data/many", str(out))
    assert (out / "sub" / "b.csv").read_text() == "a,b\n3,4\n"
    (tmp_path / "single").mkdir()
    got = store.get(store.key(file_uri), str(tmp_path / "single"))
    assert open(got).read() == "a,b\n1,2\n"
    with pytest.raises(NotFound):
        store.get("data/none", str(tmp_path / "none"))
    with pytest.raises(NotFound):
        store.upload(tmp_path / "missing", "data/x")


@pytest.mark.parametrize("key", ["../escape", "/abs", "jobs/../../x"])
def test_no_key_escapes_the_root(store, key):
    for op in (
        lambda: store.write_text(key, "x"),
        lambda: store.read_bytes(key),
        lambda: store.key(key),
    ):
        with pytest.raises(InvalidKey):
            op()


def test_uris_of_other_roots_are_refused(store):
    other = "s3://another-bucket/x" if store.root.scheme == "s3" else "/tmp/elsewhere/x"
    with pytest.raises(InvalidKey):
        store.key(other)
    assert store.key(store.uri("data/x.csv")) == "data/x.csv"


def test_local_writes_are_atomic_and_leave_no_temp_files(tmp_path):
    from raymaker.storage import open_store

    store = open_store(str(tmp_path / "s"))
    store.write_bytes("a/b", b"1" * 100_000)
    store.create_bytes("a/c", b"2")
    assert sorted(os.listdir(tmp_path / "s" / "a")) == ["b", "c"]


def test_layout_keys():
    assert layout.job_record("n") == "jobs/n/record.json"
    assert layout.job_output("n", "summary") == "jobs/n/output/summary"
    with pytest.raises(InvalidKey):
        layout.job_record("../n")


def test_a_folder_with_a_symbolic_link_is_refused_naming_it(store, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("do not copy")
    for kind in ("file", "dir"):
        src = tmp_path / f"src-{kind}"
        src.mkdir()
        (src / "ok.py").write_text("x = 1\n")
        link = src / "link"
        link.symlink_to(outside if kind == "file" else tmp_path, target_is_directory=kind == "dir")
        with pytest.raises(InvalidKey, match=f"{link} is a symbolic link"):
            store.upload(src, f"code/{kind}")
        assert store.list(f"code/{kind}", recursive=True) == []  # nothing half-copied


def test_a_link_inside_a_local_store_cannot_lead_out_of_it(tmp_path):
    from raymaker.storage import open_store

    store = open_store(str(tmp_path / "store"))
    store.write_text("data/a.txt", "in")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_text("out")
    os.symlink(outside, tmp_path / "store" / "data" / "door")
    for op in (
        lambda: store.read_bytes("data/door/b.txt"),
        lambda: store.write_text("data/door/c.txt", "x"),
        lambda: store.get("data/door", str(tmp_path / "copy")),
    ):
        with pytest.raises(InvalidKey, match="through a symbolic link"):
            op()
    assert sorted(os.listdir(outside)) == ["b.txt"]
    assert store.read_text("data/a.txt") == "in"


def test_an_s3_key_with_dot_dot_creates_nothing_outside_the_target(s3_root, tmp_path):
    import boto3

    from raymaker.storage import open_store

    store = open_store(s3_root, options={"client_kwargs": {"endpoint_url": os.environ["RAYMAKER_S3_ENDPOINT_URL"]}})  # fmt: skip
    bucket, _, prefix = s3_root[len("s3://") :].partition("/")
    client = boto3.client("s3", endpoint_url=os.environ["RAYMAKER_S3_ENDPOINT_URL"])
    client.put_object(Bucket=bucket, Key=f"{prefix}/data/x/a.csv", Body=b"1")
    client.put_object(Bucket=bucket, Key=f"{prefix}/data/x/../../../escaped/b.csv", Body=b"2")
    target = tmp_path / "deep" / "target"
    with pytest.raises(InvalidKey, match="would land outside"):
        store.get("data/x", str(target))
    assert not (tmp_path / "escaped").exists() and not target.exists()
