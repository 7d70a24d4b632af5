"""A job's model in its MLflow run: the artifact's files, and for raymaker's built-ins an
MLflow model (``MLmodel`` with the ``python_function`` flavor) that
``mlflow.pyfunc.load_model("runs:/<run>/model")`` loads and predicts with, the fitted recipe
included, exactly as the model's endpoint does.

The flavor names a loader module (``raymaker.inference.mlflow_pyfunc``) and the model's own
folder as its data: nothing is pickled, so loading it unpickles nothing.
"""

from __future__ import annotations

from raymaker.storage import artifacts

LOADER = "raymaker.inference.mlflow_pyfunc"
ARTIFACT_PATH = "model"


def model_entry(store, model_data: str | None) -> dict | None:
    """What the ledger keeps of a job's model: its URI and whether a built-in serves it."""
    if not model_data:
        return None
    manifest = artifacts.read_manifest(store, model_data) or {}
    builtin = bool(manifest.get("algorithm")) and "entry_point" not in manifest
    if manifest.get("output", {}).get("type") == "quantiles":  # a forecast: not a row model
        builtin = False
    return {"uri": model_data, "builtin": builtin}


def log_model_files(client, run_id: str, model: dict, store, local_dir: str) -> None:
    """Log ``model`` (``model_entry``'s) under the run's ``model`` artifact path."""
    files = local_dir + "-files"
    artifacts.download(store, model["uri"], files)
    if not model.get("builtin"):
        client.log_artifacts(run_id, files, ARTIFACT_PATH)
        return
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(
        local_dir, loader_module=LOADER, data_path=files, pip_requirements=_requirements()
    )
    client.log_artifacts(run_id, local_dir, ARTIFACT_PATH)


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("raymaker", "xgboost", "lightgbm", "torch", "scikit-learn"):
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return out
