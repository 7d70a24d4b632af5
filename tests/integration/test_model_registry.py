"""The registry with real jobs: register from a training job, deploy and batch-score by
``registry://group/approved``, a tampered artifact refused, lineage from an endpoint."""

from __future__ import annotations

import json
import urllib.request

import pytest

import raymaker as rm
from raymaker.errors import DataError, JobFailed
from raymaker.jobs.records import JobStatus
from raymaker.quickstart import CHURN_RECIPE, make_churn_data

ROW = b"3,month-to-month,95.0,280.0,4\n"


@pytest.fixture(scope="module")
def trained(ray_head, tmp_path_factory):
    import yaml

    root = tmp_path_factory.mktemp("registry")
    session = rm.Session(store=str(root / "store"))
    path = root / "churn.csv"
    make_churn_data(1200).to_csv(path, index=False)
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"steps": CHURN_RECIPE}))
    data = session.upload_data(str(path), key_prefix="churn")
    estimators = []
    for rounds in (5, 30):
        est = rm.XGBoost(label="churn", hyperparameters={"num_round": rounds}, recipe=str(recipe),
                         session=session)  # fmt: skip
        est.fit({"train": data, "validation": data}, job_name=f"reg-train-{rounds}", logs=False)
        estimators.append(est)
    return session, estimators, root


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return reply.status, reply.read()


def test_register_approve_deploy_and_transform_by_reference(trained, tmp_path):
    session, (first, second), _ = trained
    v1 = first.register(model_package_group_name="churn", approval_status="Approved",
                        description="5 rounds")  # fmt: skip
    v2 = second.register(model_package_group_name="churn")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.lineage["job"] == "reg-train-5" and "train" in v1.lineage["data"]
    assert v1.metrics == first.describe().result["metrics"]
    registry = session.registry
    rows = {r["metric"]: r for r in registry.compare("churn")}
    assert rows["validation-logloss"]["v2"] < rows["validation-logloss"]["v1"]

    predictor = rm.Model(model_data="registry://churn/approved", session=session).deploy(
        1, "cpu.0.25", endpoint_name="reg-ep"
    )
    try:
        url = session.endpoints.url("reg-ep")
        before = post(url, ROW)[1]
        state = session.endpoints.state("reg-ep")
        assert state["variants"][0]["registry"] == "registry://churn/1"
        lineage = session.endpoints.lineage("reg-ep")[0]
        assert lineage["training_job"] == "reg-train-5" and lineage["model"] == "registry://churn/1"

        registry.approve("churn", 2, "lower validation logloss")
        session.endpoints.roll("reg-ep", model_data="registry://churn/approved")
        assert session.endpoints.state("reg-ep")["variants"][0]["registry"] == "registry://churn/2"
        after = post(url, ROW)[1]
        assert after != before  # the 30-round model answers now
    finally:
        predictor.delete_endpoint()

    data = tmp_path / "rows.csv"
    data.write_bytes(ROW * 5)
    transformer = rm.Transformer(model_data="registry://churn/approved", session=session)
    transformer.transform(str(data), content_type="text/csv", split_type="Line", logs=False)
    result = transformer.describe().result
    assert result["model"]["registry"] == "registry://churn/2"
    out = session.store.read_bytes(session.store.key(result["outputs"][0]))
    assert out == after * 5


def test_a_tampered_registered_artifact_is_refused(trained, tmp_path):
    session, (first, _), _ = trained
    v = first.register(model_package_group_name="tamper", approval_status="Approved")
    store = session.store
    manifest_key = store.key(v.model_dir) + "/raymaker-model.json"
    manifest = json.loads(store.read_bytes(manifest_key))
    manifest["metrics"] = {"validation-logloss": 0.0}  # a "better" model, by hand
    store.write_bytes(manifest_key, json.dumps(manifest).encode())
    with pytest.raises(DataError, match="changed after it was registered"):
        rm.Model(model_data="registry://tamper/approved", session=session).deploy(
            1, "cpu.0.25", endpoint_name="tamper-ep"
        )
    data = tmp_path / "rows.csv"
    data.write_bytes(ROW)
    transformer = rm.Transformer(model_data="registry://tamper/1", session=session)
    with pytest.raises(JobFailed, match="changed after it was registered"):
        transformer.transform(str(data), content_type="text/csv", split_type="Line", logs=False)
    assert transformer.describe().status == JobStatus.FAILED
