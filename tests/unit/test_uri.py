import pytest

from raymaker.errors import InvalidKey
from raymaker.storage.uri import clean_key, join, parse_root, relative_key


@pytest.mark.parametrize(
    "key",
    ["../x", "a/../../x", "a/..", "/etc/passwd", "s3://other/x", "a\\b", "x\x00", "C:/x"],
)
def test_keys_cannot_escape_the_root(key):
    with pytest.raises(InvalidKey):
        clean_key(key)


@pytest.mark.parametrize(
    ("key", "clean"), [("a/b", "a/b"), ("a//b/", "a/b"), ("./a/./b", "a/b"), ("", "")]
)
def test_keys_are_normalized(key, clean):
    assert clean_key(key) == clean


def test_parse_root_local_and_s3(tmp_path):
    assert parse_root(str(tmp_path)).scheme == "file"
    assert parse_root(f"file://{tmp_path}").path == str(tmp_path)
    root = parse_root("s3://bucket/prefix/")
    assert (root.scheme, root.path, root.uri) == ("s3", "bucket/prefix", "s3://bucket/prefix")
    with pytest.raises(InvalidKey):
        parse_root("s3://")
    with pytest.raises(InvalidKey):
        parse_root("  ")


def test_relative_key_accepts_only_uris_inside_the_root(tmp_path):
    s3 = parse_root("s3://bucket/prefix")
    assert relative_key(s3, "s3://bucket/prefix/data/x.csv") == "data/x.csv"
    assert relative_key(s3, "data/x.csv") == "data/x.csv"
    for outside in [
        "s3://other/prefix/x",
        "s3://bucket/prefix-evil/x",
        "s3://bucket/prefix/../secret",
        "gs://bucket/prefix/x",
        "/etc/passwd",
    ]:
        with pytest.raises(InvalidKey):
            relative_key(s3, outside)
    local = parse_root(str(tmp_path / "store"))
    assert relative_key(local, str(tmp_path / "store" / "jobs" / "a")) == "jobs/a"
    with pytest.raises(InvalidKey):
        relative_key(local, str(tmp_path / "elsewhere"))
    with pytest.raises(InvalidKey):
        relative_key(local, f"file://{tmp_path}/store/../x")


def test_join_validates():
    assert join("jobs", "a", "record.json") == "jobs/a/record.json"
    with pytest.raises(InvalidKey):
        join("jobs", "..", "..")
