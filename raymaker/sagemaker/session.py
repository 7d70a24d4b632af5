"""``sagemaker.session``: the Session — settings, the store, the job client and (when needed)
an in-process Ray.

Shaped like ``sagemaker.Session``: ``upload_data``, ``download_data``, ``default_bucket``.
Creating a Session is instant; Ray is reached only when something needs it.
"""

from __future__ import annotations

import os
from typing import Any

from raymaker.errors import InvalidKey
from raymaker.sagemaker import surface
from raymaker.sagemaker.session_api import SessionApi
from raymaker.settings import Settings
from raymaker.storage import Store, join, layout, store_for_settings
from raymaker.storage.uri import split_scheme


class Session(SessionApi):
    """Where raymaker keeps things and runs things.

    ``store`` (a folder or URI) and ``ray_address`` override ``RAYMAKER_STORE``/``RAY_ADDRESS``;
    ``default_bucket`` names the bucket ``default_bucket()`` returns (``s3://<it>/<key>`` is
    ``<key>`` in the store). SageMaker's boto3 clients and config are accepted and ignored
    (``surface``); ``settings`` is raymaker's ``Settings``.
    """

    def __init__(
        self,
        boto_session=None,
        sagemaker_client=None,
        sagemaker_runtime_client=None,
        sagemaker_featurestore_runtime_client=None,
        default_bucket: str | None = None,
        settings: Settings | None = None,
        sagemaker_metrics_client=None,
        sagemaker_config=None,
        default_bucket_prefix: str | None = None,
        *,
        store: str | None = None,
        ray_address: str | None = None,
    ):
        surface.ignored("Session", {
            "boto_session": boto_session, "sagemaker_client": sagemaker_client,
            "sagemaker_runtime_client": sagemaker_runtime_client,
            "sagemaker_featurestore_runtime_client": sagemaker_featurestore_runtime_client,
            "sagemaker_metrics_client": sagemaker_metrics_client,
            "sagemaker_config": sagemaker_config, "default_bucket_prefix": default_bucket_prefix,
        })  # fmt: skip
        base = settings or Settings.from_env()
        changes: dict[str, Any] = {}
        if store is not None:
            changes["store"] = str(store)
        if ray_address is not None:
            changes["ray_address"] = ray_address
        if default_bucket is not None:
            changes["default_bucket"] = default_bucket
        self.settings = base.replace(**changes) if changes else base
        self._store: Store | None = None
        self._jobs = None
        self._endpoints = None

    def __repr__(self) -> str:
        return f"Session(store={self.settings.store!r}, ray_address={self.settings.ray_address!r})"

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = store_for_settings(self.settings)
        return self._store

    @property
    def jobs(self):
        """The JobsClient of this session."""
        if self._jobs is None:
            from raymaker.jobs.client import JobsClient

            self._jobs = JobsClient(self.settings, self.store)
        return self._jobs

    @property
    def endpoints(self):
        """The endpoints of this session (deploy, update, describe, list, delete)."""
        if self._endpoints is None:
            from raymaker.sagemaker.endpoints import Endpoints

            self._endpoints = Endpoints(self)
        return self._endpoints

    @property
    def experiments(self):
        """The MLflow experiments and runs of this session's tracking store."""
        from raymaker.sagemaker.experiments.catalog import Experiments

        return Experiments(self)

    @property
    def monitors(self):
        """The monitoring schedules in this session's store (list, describe, run, ...)."""
        from raymaker.sagemaker.monitors import Monitors

        return Monitors(self)

    @property
    def pipelines(self):
        """The pipelines in this session's store (list, describe, start, executions, ...)."""
        from raymaker.sagemaker.workflow.catalog import Pipelines

        return Pipelines(self)

    @property
    def cluster(self):
        """The embedded local Ray head of these settings (``up``, ``down``, ``info``)."""
        from raymaker.cluster import LocalCluster

        return LocalCluster(self.settings)

    @property
    def tokens(self):
        """The API tokens of this session's store (``access.Tokens``: create, list, revoke)."""
        from raymaker.access import Tokens

        return Tokens(self.store, admin_token=self.settings.serve_token)

    @property
    def registry(self):
        """The model registry in this session's store (groups, versions, approvals)."""
        from raymaker.sagemaker.model_registry import ModelRegistry

        return ModelRegistry(self)

    @property
    def sagemaker_runtime_client(self):
        """boto3's ``sagemaker-runtime`` client shape: ``invoke_endpoint(EndpointName=...)``."""
        from raymaker.sagemaker.runtime import RuntimeClient

        return RuntimeClient(self)

    def default_bucket(self) -> str:
        """A bucket name, as SageMaker's: ``f"s3://{bucket}/{key}"`` is ``key`` in the store
        whatever its backend, where ``upload_data(..., key_prefix=key)`` puts files
        (``RAYMAKER_DEFAULT_BUCKET``, else ``raymaker``)."""
        return self.store.root.bucket

    def _data_key(self, bucket: str | None, key_prefix: str) -> str:
        if bucket and bucket.rstrip("/") not in (
            self.store.root.bucket,
            self.store.root.path.split("/")[0],
            self.store.uri(),
        ):
            raise InvalidKey(
                f"bucket {bucket!r} is not this session's store ({self.store.uri()}); "
                "raymaker keeps all data in one store"
            )
        key = join(key_prefix) if key_prefix else layout.DATA
        if key.split("/")[0] in layout.TOP_LEVEL and key.split("/")[0] != layout.DATA:
            return join(layout.DATA, key)  # raymaker's own areas (jobs/, models/...) stay its own
        return key  # the key as given, as in SageMaker's bucket

    def upload_data(
        self, path: str | os.PathLike, bucket: str | None = None, key_prefix: str = "data",
        extra_args: dict | None = None,
    ) -> str:  # fmt: skip
        """Upload a file or folder to ``<key_prefix>`` in the store (the default bucket's
        key: raymaker's own areas such as ``jobs/`` go under ``data/``); returns its URI.

        A file lands at ``.../<key_prefix>/<file name>``, a folder's contents under
        ``.../<key_prefix>``, as with SageMaker. Raises NotFound, InvalidKey.
        """
        return self.store.upload(path, self._data_key(bucket, key_prefix))

    def download_data(
        self, path: str | os.PathLike, bucket: str | None = None, key_prefix: str = "",
        extra_args: dict | None = None,
    ) -> list[str]:  # fmt: skip
        """Download an object or prefix to a local folder; returns the local file paths.

        Both ``download_data(uri, local_dir)`` and SageMaker's
        ``download_data(local_dir, bucket, key_prefix)`` (the key as ``upload_data`` took it)
        work. Raises NotFound, InvalidKey.
        """
        path = os.fspath(path)
        if split_scheme(path) not in ("", "file") or (bucket and os.path.sep in str(bucket)):
            source, target = path, os.fspath(bucket or ".")
        else:  # SageMaker's form: key_prefix in the (default) bucket
            self._data_key(bucket, "")  # another bucket is refused
            source, target = f"s3://{self.default_bucket()}/{key_prefix}", path
        return self.download(source, target)

    def download(self, uri: str, local_dir: str | os.PathLike) -> list[str]:
        """Copy the object or prefix at ``uri`` (a key, a store URI, or a bucket path) into
        ``local_dir``; returns the local file paths. Raises NotFound, InvalidKey."""
        target = os.fspath(local_dir)
        key = self.store.key(str(uri))
        os.makedirs(target, exist_ok=True)
        got = self.store.get(key, target)
        if os.path.isfile(got):
            return [got]
        return sorted(os.path.join(root, name) for root, _, files in os.walk(got) for name in files)

    def _source(self, uri, options):
        from raymaker.data.readers import resolve

        return resolve(self.store, str(uri), **options)

    def read(self, uri: str, **options):
        """The data at ``uri`` (file, prefix or glob) as a streaming Ray Dataset.

        ``options``: format, header, columns, schema, delimiter, on_bad_lines.
        Connects to Ray. Raises DataError, SpecError.
        """
        from raymaker.data.readers import read_dataset

        source = self._source(uri, options)
        self.connect()
        return read_dataset(source)

    def read_pandas(self, uri: str, **options):
        """The data at ``uri`` as one pandas DataFrame, read in this process (no Ray)."""
        from raymaker.data.readers import read_frame

        return read_frame(self._source(uri, options))

    def profile(self, uri: str, *, target: str | None = None, name: str | None = None,
                local: bool = False, **options) -> dict:  # fmt: skip
        """Profile the data at ``uri``; saves ``profiles/<name>/profile.{json,html}``.

        Returns ``{"report", "json", "html", "name"}``. ``local`` profiles with pandas here.
        """
        from raymaker.data.profile import profile_source

        return profile_source(
            self.store, self.settings, uri, target=target, name=name, use_ray=not local, **options
        )

    def metrics(self, job_name: str) -> list[dict]:
        """A training job's metric points (``name``, ``value``, ``step``, ``time``).

        Raises NotFound for an unknown job.
        """
        from raymaker.jobs.records import read_record
        from raymaker.train.metrics import read_series

        read_record(self.store, job_name)
        return read_series(self.store, layout.job_metrics(job_name))

    def metrics_summary(self, job_name: str, points: list[dict] | None = None) -> list[dict]:
        """Per metric: its last, best and count of points (``jobs metrics``' table)."""
        from raymaker.train.metrics import summarize

        return summarize(self.metrics(job_name) if points is None else points)

    def metrics_html(self, job_name: str, points: list[dict] | None = None) -> str:
        """The job's metrics as one HTML page of Plotly charts (it loads ``plotly.min.js``
        from its own folder)."""
        from raymaker.train.plots import render_metrics_html

        points = self.metrics(job_name) if points is None else points
        return render_metrics_html(points, title=f"Metrics of {job_name}")

    def tuning_leaderboard(self, name: str) -> dict:
        """A tuning job's trials, best first, read live from their records.

        ``{"name", "status", "objective", "best", "trials": [...], "result"}``. Raises NotFound,
        SpecError when ``name`` is not a tuning job.
        """
        from raymaker.errors import SpecError
        from raymaker.tuning import trials

        record = self.jobs.refresh(name)
        if record.kind != "TuningJob":
            raise SpecError(f"job {name!r} is a {record.kind}, not a TuningJob")
        objective = record.spec["objective"]
        objective.setdefault("type", "Maximize")
        rows = trials.list_trials(
            self.store, name, objective["metric_name"], list(record.spec["hyperparameter_ranges"])
        )
        best = trials.best_of(rows, objective["type"])
        return {
            "name": name,
            "status": record.status.value,
            "objective": objective,
            "best": best.to_dict() if best else None,
            "trials": [r.to_dict() for r in trials.ranked(rows, objective["type"])],
            "result": record.result,
            "failure_reason": record.failure_reason,
        }

    def tuning_html(self, name: str) -> str:
        """A tuning job's page: objective by trial with the best so far, hyperparameters vs
        objective, and the trials (it loads ``plotly.min.js`` from its own folder)."""
        from raymaker.train.plots import render_tuning_html
        from raymaker.tuning.trials import TrialRow

        board = self.tuning_leaderboard(name)
        rows = sorted((TrialRow(**t) for t in board["trials"]), key=lambda r: r.number)
        return render_tuning_html(
            rows, metric=board["objective"]["metric_name"],
            objective_type=board["objective"]["type"], title=f"Tuning job {name}",
        )  # fmt: skip

    def reconcile(self, wait_s: float = 0.0) -> dict:
        """Make the cluster match the store, as after a head restart: unfinished jobs Ray no
        longer knows are FAILED (resumable), InService endpoints are started again. Returns
        what changed; running it twice changes nothing. ``wait_s``: how long to wait for a
        head that is still starting. Raises ClusterError."""
        import time

        from raymaker.errors import ClusterError
        from raymaker.jobs.reconcile import reconcile

        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.connect()
                self.jobs.api.version()
                break
            except ClusterError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(2.0)
        return reconcile(self.settings, self.store)

    def connect(self) -> None:
        """Connect this process to Ray: RAY_ADDRESS, else the local head, else an embedded Ray.

        Raises ClusterError.
        """
        from raymaker.cluster import connect

        connect(self.settings)


def default_session() -> Session:
    """A Session from the environment (what an SDK object uses when given none)."""
    return Session()


class UsesSession:
    """An SDK object's session: the one it was given, else the environment's (made once)."""

    session = None

    def _session(self) -> Session:
        if self.session is None:
            self.session = default_session()
        return self.session

    @property
    def sagemaker_session(self) -> Session:
        """SageMaker's name of this object's session."""
        return self._session()

    def _spec(self, body: dict, source: str = "spec"):
        """The job spec of ``body`` (None values left out); under a PipelineSession, the
        pipeline step's arguments instead (``StepArguments``). Raises SpecError."""
        from raymaker.sagemaker.workflow.pipeline_context import build_spec

        return build_spec(self.session, {k: v for k, v in body.items() if v is not None}, source)


EXECUTION_ROLE = "arn:aws:iam::000000000000:role/raymaker"


def get_execution_role(sagemaker_session=None, use_default: bool = False) -> str:
    """SageMaker's ``get_execution_role()``: raymaker has no IAM, so a fixed placeholder ARN that
    every ``role=`` argument accepts and ignores."""
    return EXECUTION_ROLE


surface.install(Session, "Session")
