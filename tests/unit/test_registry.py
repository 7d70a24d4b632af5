"""The model registry on a local folder and on the S3 server (no Ray): numbering under
concurrency, approvals as history, references, integrity, compare, lineage, the CLI."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from test_inference import model_dir  # noqa: F401 - a fixture

from raymaker.errors import DataError, NotFound, SpecError
from raymaker.registry.registry import ModelRegistry, parse_reference, resolve_model
from raymaker.storage import artifacts


@pytest.fixture
def registry(store, model_dir):  # noqa: F811 - the fixture imported above
    """A registry on the ``store`` fixture (file and s3) with the model at ``models/m``."""
    store.put_dir(model_dir[0], "models/m")
    return ModelRegistry(store=store)


def test_register_keeps_what_training_recorded(registry):
    v = registry.register("churn", "models/m", description="first", customer_metadata={"team": 7})
    assert (v.group, v.version, v.status) == ("churn", 1, "PendingManualApproval")
    assert v.ref == v.model_package_arn == "registry://churn/1"
    assert v.framework == "xgboost" and set(v.input_schema) == {"age", "plan", "spend"}
    assert v.customer_metadata == {"team": "7"} and v.description == "first"
    manifest = registry.store.read_bytes("models/m/raymaker-model.json")
    import hashlib

    assert v.artifact_sha256 == hashlib.sha256(manifest).hexdigest()
    assert v.model_dir == registry.store.uri("models/m")
    assert [e["status"] for e in v.history] == ["PendingManualApproval"]


def test_concurrent_registrations_get_one_to_eight(registry):
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda _: registry.register("busy", "models/m").version, range(8)))
    assert sorted(got) == list(range(1, 9))
    assert [v.version for v in registry.versions("busy")] == list(range(1, 9))


def test_approvals_are_an_append_only_history_and_references_follow(registry):
    for _ in range(3):
        registry.register("g", "models/m")
    with pytest.raises(NotFound, match="no approved version"):
        registry.resolve("registry://g/approved")
    registry.approve("g", 1, "offline AUC ok", by="ana")
    registry.approve("g", 2, "better", by="ana")
    registry.reject("g", 2, "drifted in shadow", by="bo")
    v2 = registry.get("g", 2)
    assert v2.status == "Rejected"
    assert [(e["status"], e["by"], e["comment"]) for e in v2.history] == [
        ("PendingManualApproval", v2.created_by, "registered"),
        ("Approved", "ana", "better"),
        ("Rejected", "bo", "drifted in shadow"),
    ]
    assert all(e["at"] >= v2.created_at for e in v2.history)
    assert registry.resolve("registry://g/approved").version == 1
    assert registry.resolve("registry://g/latest").version == 3
    assert registry.resolve("registry://g/2").version == 2
    assert [v.version for v in registry.versions("g", status="Approved")] == [1]
    assert registry.groups()[0] == {"group": "g", "versions": 3, "latest": 3, "approved": 1,
                                    "description": None}  # fmt: skip


def test_a_changed_artifact_is_refused(registry, tmp_path):
    v = registry.register("t", "models/m", approval_status="Approved")
    uri, sha, _ = resolve_model(registry.store, "registry://t/approved")
    assert (uri, sha) == (v.model_dir, v.artifact_sha256)
    artifacts.download(registry.store, uri, str(tmp_path / "ok"), expected_sha256=sha)
    # tamper: a different model file, with the manifest's file hashes recomputed to match
    local = tmp_path / "tampered"
    artifacts.download(registry.store, uri, str(local))
    (local / "model.ubj").write_bytes((local / "model.ubj").read_bytes() + b" ")
    manifest = json.loads((local / "raymaker-model.json").read_text())
    os.unlink(local / "raymaker-model.json")
    artifacts.write_manifest(str(local), {k: v for k, v in manifest.items() if k != "files"})
    registry.store.put_dir(str(local), "models/m")
    with pytest.raises(DataError, match="changed after it was registered"):
        resolve_model(registry.store, "registry://t/approved")
    with pytest.raises(DataError, match="does not match its registered version"):
        artifacts.download(registry.store, uri, str(tmp_path / "bad"), expected_sha256=sha)


def test_bad_input_names_the_problem(registry):
    with pytest.raises(SpecError, match="approval_status 'Maybe' is invalid; allowed"):
        registry.register("g", "models/m", approval_status="Maybe")
    registry.store.write_bytes("models/plain/model.bin", b"x")
    with pytest.raises(SpecError, match="has no raymaker-model.json"):
        registry.register("g", "models/plain")
    with pytest.raises(NotFound, match="no model at"):
        registry.register("g", "models/nothing")
    with pytest.raises(SpecError, match="not a registry reference"):
        registry.register("g", "registry://g/1")
    for ref in ("registry://g", "registry://g/first", "registry://g/1/2"):
        with pytest.raises(SpecError, match="registry"):
            parse_reference(ref)
    with pytest.raises(NotFound, match="group 'nope' does not exist"):
        registry.resolve("registry://nope/latest")
    registry.register("g", "models/m")
    with pytest.raises(NotFound, match="no version 9"):
        registry.approve("g", 9)


def test_compare_metrics_and_lineage(registry):
    registry.register("c", "models/m", metrics={"validation-auc": 0.81},
                      lineage={"job": "train-1", "data": {"train": {"sha256": "ab"}}})  # fmt: skip
    registry.register("c", "models/m", metrics={"validation-auc": 0.84})
    registry.attach_metrics("c", 1, {"test-auc": 0.8}, source="evaluation-job")
    rows = {r["metric"]: r for r in registry.compare("c")}
    assert rows["validation-auc"]["v1"] == 0.81 and rows["validation-auc"]["v2"] == 0.84
    assert rows["test-auc"] == {"metric": "test-auc", "v1": 0.8, "v2": None}
    assert rows["status"]["v1"] == "PendingManualApproval"
    lineage = registry.lineage("c", 1)
    assert lineage["training_job"] == "train-1" and lineage["data"]["train"]["sha256"] == "ab"
    assert lineage["artifact_sha256"] == registry.get("c", 1).artifact_sha256


def test_models_cli(registry, monkeypatch):
    from raymaker.cli.main import cli

    monkeypatch.setenv("RAYMAKER_STORE", registry.store.uri())
    run = CliRunner().invoke
    out = run(cli, ["models", "register", "cli", "models/m", "--metadata", "owner=ana"])
    assert out.exit_code == 0, out.output
    assert "registry://cli/1" in out.output
    assert run(cli, ["models", "approve", "cli", "1", "--comment", "ok"]).output.strip() == (
        "registry://cli/1: Approved"
    )
    listed = json.loads(run(cli, ["models", "list", "cli", "-o", "json"]).output)
    assert [(v["version"], v["status"]) for v in listed] == [(1, "Approved")]
    described = json.loads(run(cli, ["models", "describe", "cli", "approved", "-o", "json"]).output)
    assert described["customer_metadata"] == {"owner": "ana"}
    assert run(cli, ["models", "compare", "cli"]).output.split()[:2] == ["METRIC", "V1"]
    lineage = json.loads(run(cli, ["models", "lineage", "cli", "1", "-o", "json"]).output)
    assert lineage["model"] == "registry://cli/1"
    from raymaker.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["models", "reject", "cli", "4"])
    assert exit_info.value.code == 3  # NotFound


def test_handler_code_cannot_escape_its_hash(registry, tmp_path):
    from raymaker.inference.handler import _load_hooks

    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(d):\n    return 1\n")
    evil = tmp_path / "evil.py"
    evil.write_text("def model_fn(d):\n    return 'evil'\n")
    for entry_point in (str(evil), "../evil.py", "sub/../../evil.py"):
        with pytest.raises(SpecError, match="must be a relative path inside source_dir"):
            registry.register("h", "models/m", entry_point=entry_point, source_dir=str(code))
    (code / "door.py").symlink_to(evil)
    with pytest.raises(SpecError, match="leaves .* through a symbolic link|symbolic link"):
        registry.register("h", "models/m", entry_point="door.py", source_dir=str(code))
    (code / "door.py").unlink()
    # without a source_dir the entry point is one file, copied alone and hashed
    v = registry.register("h", "models/m", entry_point=str(evil))
    assert v.inference["entry_point"] == "evil.py"
    assert registry.store.list(registry.store.key(v.inference["source_dir"])) == [
        registry.store.key(v.inference["source_dir"]) + "/evil.py"
    ]
    # the model process refuses a path out of its folder, whatever a record says
    with pytest.raises(SpecError, match="outside its code folder"):
        _load_hooks(str(code), "../evil.py")
    with pytest.raises(SpecError, match="outside its code folder"):
        _load_hooks(str(code), str(evil))
