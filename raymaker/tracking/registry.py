"""raymaker's model registry mirrored into MLflow's, and ``registry://`` resolved from it.

A version registered in raymaker's registry (with ``RAYMAKER_MLFLOW_REGISTRY=1``) becomes a
version of the MLflow registered model of the group's name: its source is the model its
training job logged in its run (``runs:/<run>/model``, an MLflow model for built-ins) when
there is one, else the artifact's folder in the store. Tags carry raymaker's reference,
artifact and status; ``Approved`` is MLflow's alias ``approved`` (moved to the newest approved
version, removed when that version is rejected).

The other way, ``registry://<name>/<n|approved|latest>`` for a name raymaker's registry does
not hold resolves in MLflow's registry, to a version whose model raymaker made (the version,
or its run, names the artifact in the store): raymaker serves its own artifacts.
"""

from __future__ import annotations

from raymaker.errors import NotFound
from raymaker.tracking.client import client_for, quote

ALIAS = "approved"


def mirror(uri: str, version, status: str | None = None) -> dict:
    """Create or update the MLflow version of ``version`` (a raymaker ``ModelVersion``) with
    its status; returns ``{"name", "version"}``."""
    client = client_for(uri)
    name = version.group
    try:
        client.get_registered_model(name)
    except Exception:  # noqa: BLE001 - not there yet
        client.create_registered_model(
            name, tags={"raymaker.registry": "mirrored"},
            description=f"mirrors raymaker's registry://{name}",
        )  # fmt: skip
    found = client.search_model_versions(
        f"name = '{quote(name)}' and tag.`raymaker.version` = '{version.version}'"
    )
    if found:
        mv = found[0]
    else:
        source, run_id = _source(client, version)
        mv = client.create_model_version(
            name, source, run_id=run_id, description=version.description,
            tags={"raymaker.ref": version.ref, "raymaker.version": str(version.version),
                  "raymaker.model_data": version.model_data,
                  "raymaker.model_dir": version.model_dir,
                  "raymaker.artifact_sha256": version.artifact_sha256},
        )  # fmt: skip
    status = status or version.status
    client.set_model_version_tag(name, mv.version, "raymaker.approval_status", status)
    aliases = client.get_registered_model(name).aliases or {}
    if status == "Approved":
        client.set_registered_model_alias(name, ALIAS, mv.version)
    elif str(aliases.get(ALIAS)) == str(mv.version):
        client.delete_registered_model_alias(name, ALIAS)
    return {"name": name, "version": int(mv.version)}


def _source(client, version) -> tuple[str, str | None]:
    """The version's MLflow source: its training job's logged model, else the store folder."""
    job = (version.lineage or {}).get("job")
    if job:
        ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]
        runs = client.search_runs(
            ids, filter_string=f"tags.`raymaker.job` = '{quote(job)}'", max_results=1,
            order_by=["attributes.start_time DESC"],
        )  # fmt: skip
        if runs:
            run = runs[0]
            return f"{run.info.artifact_uri.rstrip('/')}/model", run.info.run_id
    location = version.model_dir
    return (location if "://" in location else "file://" + location), None


def resolve(uri: str, name: str, selector: str) -> dict:
    """``{"model_data", "artifact_sha256" (or None), "version", "status"}`` of MLflow's
    ``name`` at ``selector`` (a number, approved, latest). Raises NotFound."""
    import os

    if uri.startswith("sqlite:///") and not os.path.exists(uri[len("sqlite:///") :]):
        raise NotFound(f"neither raymaker's registry nor MLflow's has registry://{name}/"
                       f"{selector} (no MLflow store at {uri})")  # fmt: skip
    client = client_for(uri)
    try:
        if selector.isdigit():
            mv = client.get_model_version(name, selector)
        elif selector == ALIAS:
            mv = client.get_model_version_by_alias(name, ALIAS)
        else:
            versions = client.search_model_versions(f"name = '{quote(name)}'")
            if not versions:
                raise NotFound(f"MLflow's registry has no model named {name!r}")
            mv = max(versions, key=lambda v: int(v.version))
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow's RESOURCE_DOES_NOT_EXIST and the like
        raise NotFound(
            f"neither raymaker's registry nor MLflow's has registry://{name}/{selector} "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    tags = dict(mv.tags or {})
    model_data = tags.get("raymaker.model_dir") or tags.get("raymaker.model_data")
    if not model_data and mv.run_id:
        model_data = client.get_run(mv.run_id).data.tags.get("raymaker.model_data")
    if not model_data:
        raise NotFound(
            f"MLflow model {name!r} version {mv.version} was not made by raymaker (neither it "
            "nor its run names a raymaker artifact); raymaker serves its own artifacts"
        )
    status = tags.get("raymaker.approval_status") or (
        "Approved" if selector == ALIAS else "PendingManualApproval"
    )
    return {"model_data": model_data, "artifact_sha256": tags.get("raymaker.artifact_sha256"),
            "version": int(mv.version), "status": status}  # fmt: skip
