"""Opening the tracking store: the client, the default experiment, and where artifacts go.

The embedded default is MLflow's SQLite store in raymaker's home with each experiment's
artifacts in raymaker's store (``mlflow/artifacts/<experiment>``), so a model logged to MLflow
sits beside the job that made it, on a laptop or in ``s3://``. A tracking server
(``RAYMAKER_MLFLOW_TRACKING_URI=http://...``) keeps its own artifact root.
"""

from __future__ import annotations

import functools
import logging
import threading
import urllib.error
import urllib.request

from raymaker.errors import NotFound, SpecError
from raymaker.storage import layout

DEFAULT_EXPERIMENT = "raymaker"
_LOCK = threading.Lock()


def quiet_mlflow() -> None:
    """MLflow's and alembic's INFO lines (creating tables, experiments) stay out of job logs."""
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def require_mlflow():
    """The ``mlflow`` module. Raises SpecError naming the install when it is missing."""
    try:
        import mlflow
    except ImportError:  # pragma: no cover - a dependency of raymaker
        raise SpecError(
            "MLflow is not installed: pip install mlflow-skinny (raymaker depends on it)"
        ) from None
    return mlflow


@functools.lru_cache(maxsize=8)
def _client(uri: str):
    quiet_mlflow()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def client_for(uri: str):
    """A cached ``MlflowClient`` for ``uri`` (opening a SQLite store creates its tables)."""
    require_mlflow()
    if uri.startswith("sqlite:///"):
        import os

        os.makedirs(os.path.dirname(uri[len("sqlite:///") :]) or ".", exist_ok=True)
    with _LOCK:  # two threads creating one SQLite schema at once would collide
        return _client(uri)


def reachable(uri: str, timeout: float = 2.0) -> bool:
    """Whether a tracking server answers (always True for a database or a folder): checked
    before each send, so a server that is down costs a refused connection, not MLflow's own
    retries (up to minutes)."""
    if not uri.startswith(("http://", "https://")):
        return True
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as reply:
            return reply.status < 500
    except urllib.error.HTTPError as exc:  # 401/403/404: the server is there
        return exc.code < 500
    except (OSError, ValueError):
        return False


def use_s3_endpoint(settings) -> None:
    """MLflow's S3 artifact client reads its endpoint from ``MLFLOW_S3_ENDPOINT_URL``: an
    ``s3://`` store on an S3-compatible server (``RAYMAKER_S3_ENDPOINT_URL``) is found there."""
    import os

    if settings.s3_endpoint_url:
        os.environ.setdefault("MLFLOW_S3_ENDPOINT_URL", settings.s3_endpoint_url)


def quote(text: str) -> str:
    """``text`` inside single quotes of an MLflow search filter."""
    return text.replace("'", "\\'")


def run_named(client, experiment_id: str, name: str):
    """The newest run of that name in the experiment, or None."""
    found = client.search_runs(
        [experiment_id], filter_string=f"attributes.run_name = '{quote(name)}'", max_results=1,
        order_by=["attributes.start_time DESC"],
    )  # fmt: skip
    return found[0] if found else None


def artifact_location(uri: str, store, experiment: str) -> str | None:
    """Where a new experiment's artifacts go: raymaker's store for a store of raymaker's own
    (a database or a folder), the server's own root for a tracking server."""
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    location = store.uri(layout.mlflow_artifacts(_safe(experiment)))
    return location if "://" in location else "file://" + location


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-.") or "exp"


def experiment_id(client, uri: str, store, name: str | None, *, create: bool = True) -> str:
    """The id of experiment ``name`` (default: ``raymaker``), created when missing.
    Raises NotFound when ``create`` is false and there is none."""
    name = name or DEFAULT_EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    if not create:
        raise NotFound(f"no MLflow experiment named {name!r}")
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri, store, name))
    except Exception:  # noqa: BLE001 - another job created it meanwhile
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id
