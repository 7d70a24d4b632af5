"""``sagemaker.experiments.run``: ``Run``, ``load_run``, ``list_runs``, each an MLflow run.

A ``Run`` opened by name reopens the experiment's run of that name (as SageMaker's does), or
creates it. Jobs launched inside ``with Run(...)`` (``fit``, ``transform``, ``run``) get its
``experiment_config``: their own runs nest under it. ``log_confusion_matrix``,
``log_roc_curve`` and ``log_precision_recall`` write SageMaker's JSON artifacts (and the
curve's area as a metric); ``log_artifact`` records a name and a URI as SageMaker does (a tag
``artifact.<output|input>.<name>``); ``log_file`` uploads the file to the run's artifacts.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from typing import Any

from raymaker.errors import NotFound, SpecError
from raymaker.sagemaker.session import default_session

_ACTIVE = threading.local()  # the innermost ``with Run(...)`` of this thread


class SortByType(enum.Enum):
    CREATION_TIME = "CreationTime"
    NAME = "Name"


class SortOrderType(enum.Enum):
    ASCENDING = "Ascending"
    DESCENDING = "Descending"


def active_experiment_config() -> dict | None:
    """The ``experiment_config`` of the innermost ``with Run(...)`` here (jobs launched in it
    take it when they are given none)."""
    stack = getattr(_ACTIVE, "stack", None)
    return stack[-1].experiment_config if stack else None


def experiment_config_for(given: dict | None) -> dict | None:
    """A job's ``experiment_config``: the one given, else the enclosing ``Run``'s."""
    return dict(given) if given else active_experiment_config()


class Run:
    """An MLflow run with SageMaker's ``Run`` methods. Use it as a context manager."""

    def __init__(self, experiment_name: str, run_name: str | None = None,
                 experiment_display_name: str | None = None, run_display_name: str | None = None,
                 tags: list[dict] | None = None, sagemaker_session=None, artifact_bucket=None,
                 artifact_prefix=None, *, session=None, _run_id: str | None = None):  # fmt: skip
        if not experiment_name and not _run_id:
            raise SpecError("Run: experiment_name is required")
        self._sess = session or sagemaker_session or default_session()
        from raymaker.tracking import client as tc

        self._uri = self._sess.settings.tracking_uri()
        tc.use_s3_endpoint(self._sess.settings)
        self._client = tc.client_for(self._uri)
        if _run_id:
            run = self._client.get_run(_run_id)
            self.experiment_name = self._client.get_experiment(run.info.experiment_id).name
        else:
            self.experiment_name = experiment_name
            exp_id = tc.experiment_id(self._client, self._uri, self._sess.store, experiment_name)
            run = tc.run_named(self._client, exp_id, run_name) if run_name else None
            if run is None:
                tag_map = {t["Key"]: t["Value"] for t in tags or []}
                if run_display_name:
                    tag_map["raymaker.display_name"] = run_display_name
                run = self._client.create_run(exp_id, run_name=run_name, tags=tag_map)
        self.run_id = run.info.run_id
        self.run_name = run.info.run_name
        self.experiment_config = {"ExperimentName": self.experiment_name,
                                  "RunName": self.run_name}  # fmt: skip
        self._owned = False
        self._job_run = False

    def __repr__(self) -> str:
        return f"Run(experiment_name={self.experiment_name!r}, run_name={self.run_name!r})"

    # -- context ---------------------------------------------------------------------------
    def __enter__(self) -> Run:
        if not self._job_run:
            self._client.update_run(self.run_id, status="RUNNING")
        _ACTIVE.stack = [*getattr(_ACTIVE, "stack", []), self]
        self._owned = True
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        _ACTIVE.stack = [r for r in getattr(_ACTIVE, "stack", []) if r is not self]
        if self._owned and not self._job_run:
            self._client.set_terminated(self.run_id, "FAILED" if exc_type else "FINISHED")

    def close(self) -> None:
        self._client.set_terminated(self.run_id, "FINISHED")

    # -- logging ---------------------------------------------------------------------------
    def log_parameter(self, name: str, value) -> None:
        self._client.log_param(self.run_id, name, _param(value))

    def log_parameters(self, parameters: dict[str, Any]) -> None:
        from mlflow.entities import Param

        params = [Param(k, _param(v)) for k, v in parameters.items()]
        for i in range(0, len(params), 100):
            self._client.log_batch(self.run_id, params=params[i : i + 100])

    def log_metric(self, name: str, value: float, timestamp=None, step: int | None = None):
        ts = timestamp.timestamp() if hasattr(timestamp, "timestamp") else timestamp
        self._client.log_metric(
            self.run_id, name, float(value),
            timestamp=int((ts if ts is not None else time.time()) * 1000), step=step or 0,
        )  # fmt: skip

    def log_artifact(self, name: str, value: str, media_type: str | None = None,
                     is_output: bool = True) -> None:  # fmt: skip
        """Record ``value`` (a URI) as the run's input or output artifact ``name``."""
        self._client.set_tag(self.run_id, f"artifact.{_io(is_output)}.{name}", value)

    def log_file(self, file_path: str, name: str | None = None, media_type: str | None = None,
                 is_output: bool = True) -> None:  # fmt: skip
        """Upload a local file to the run's artifacts (``<output|input>/``)."""
        if not os.path.isfile(file_path):
            raise NotFound(f"log_file: no file at {file_path}")
        self._client.log_artifact(self.run_id, file_path, _io(is_output))
        self.log_artifact(name or os.path.basename(file_path),
                          f"{_io(is_output)}/{os.path.basename(file_path)}", media_type,
                          is_output)  # fmt: skip

    def log_confusion_matrix(self, y_true, y_pred, title: str | None = None,
                             is_output: bool = True) -> None:  # fmt: skip
        from sklearn.metrics import confusion_matrix

        labels = sorted(set(_list(y_true)) | set(_list(y_pred)), key=str)
        matrix = confusion_matrix(_list(y_true), _list(y_pred), labels=labels)
        self._json(title or "confusion-matrix", "ConfusionMatrix", is_output, {
            "target": [str(v) for v in _list(y_true)],
            "prediction": [str(v) for v in _list(y_pred)],
            "labels": [str(v) for v in labels],
            "matrix": matrix.tolist(),
        })  # fmt: skip

    def log_roc_curve(self, y_true, y_score, title: str | None = None,
                      is_output: bool = True) -> None:  # fmt: skip
        from sklearn.metrics import auc, roc_curve

        fpr, tpr, thresholds = roc_curve(_list(y_true), _list(y_score))
        area = float(auc(fpr, tpr))
        self._json(title or "roc-curve", "ROCCurve", is_output, {
            "FalsePositiveRate": fpr.tolist(), "TruePositiveRate": tpr.tolist(),
            "Thresholds": [float(t) for t in thresholds], "AreaUnderCurve": area,
        })  # fmt: skip
        self.log_metric(f"{title or 'roc-curve'}.auc", area)

    def log_precision_recall(self, y_true, predicted_probabilities, positive_label=None,
                             title: str | None = None, is_output: bool = True,
                             no_skill=None) -> None:  # fmt: skip
        from sklearn.metrics import average_precision_score, precision_recall_curve

        kwargs = {"pos_label": positive_label} if positive_label is not None else {}
        y, p = _list(y_true), _list(predicted_probabilities)
        precision, recall, _ = precision_recall_curve(y, p, **kwargs)
        ap = float(average_precision_score(y, p, **kwargs))
        data = {"precision": precision.tolist(), "recall": recall.tolist(),
                "averagePrecisionScore": ap}  # fmt: skip
        if no_skill is not None:
            data["noSkill"] = no_skill
        self._json(title or "precision-recall", "PrecisionRecallCurve", is_output, data)
        self.log_metric(f"{title or 'precision-recall'}.average_precision", ap)

    def _json(self, title: str, kind: str, is_output: bool, data: dict) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in title)
        body = {"type": kind, "version": 0, "title": title, "data": data}
        self._client.log_dict(self.run_id, body, f"{_io(is_output)}/{safe}.json")

    # -- reading back -------------------------------------------------------------------------
    def _mlflow_run(self):
        return self._client.get_run(self.run_id)

    @property
    def parameters(self) -> dict:
        return dict(self._mlflow_run().data.params)

    @property
    def metrics(self) -> dict:
        return dict(self._mlflow_run().data.metrics)

    def metric_history(self, name: str) -> list[dict]:
        return [{"value": m.value, "step": m.step, "timestamp": m.timestamp / 1000}
                for m in self._client.get_metric_history(self.run_id, name)]  # fmt: skip


def _io(is_output: bool) -> str:
    return "output" if is_output else "input"


def _param(value) -> str:
    return (value if isinstance(value, str) else str(value))[:6000]


def _list(values) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def load_run(run_name: str | None = None, experiment_name: str | None = None,
             sagemaker_session=None, artifact_bucket=None, artifact_prefix=None, *,
             session=None) -> Run:  # fmt: skip
    """The run to log into: inside a job's script (no names) the job's own run; otherwise the
    run ``run_name`` of ``experiment_name``. Raises SpecError / NotFound."""
    sess = session or sagemaker_session
    if run_name is None and experiment_name is None:
        # MLflow's own fluent API takes MLFLOW_RUN_ID out of the environment once it starts
        run_id = os.environ.get("RAYMAKER_MLFLOW_RUN_ID") or os.environ.get("MLFLOW_RUN_ID")
        if not run_id:
            raise SpecError(
                "load_run() with no names works inside a job's script (its MLflow run); "
                "elsewhere give run_name and experiment_name"
            )
        run = Run("", session=sess, _run_id=run_id)
        run._job_run = True  # the job ends its own run
        return run
    if not (run_name and experiment_name):
        raise SpecError("load_run: give both run_name and experiment_name, or neither")
    run = Run(experiment_name, session=sess, _run_id=_existing(sess, experiment_name, run_name))
    return run


def _existing(sess, experiment_name: str, run_name: str) -> str:
    from raymaker.tracking import client as tc
    from raymaker.tracking import queries

    client = tc.client_for((sess or default_session()).settings.tracking_uri())
    experiment = queries.experiment_of(client, experiment_name)  # NotFound names the others
    found = tc.run_named(client, experiment.experiment_id, run_name)
    if found is not None:
        return found.info.run_id
    raise NotFound(f"no run named {run_name!r} in experiment {experiment_name!r}")


def list_runs(experiment_name: str, created_before=None, created_after=None,
              sagemaker_session=None, max_results: int | None = None, next_token=None,
              sort_by: SortByType = SortByType.CREATION_TIME,
              sort_order: SortOrderType = SortOrderType.DESCENDING, *,
              session=None) -> list[Run]:  # fmt: skip
    """The experiment's runs as ``Run`` objects, newest first by default."""
    from raymaker.tracking import queries

    sess = session or sagemaker_session or default_session()
    direction = "ASC" if sort_order == SortOrderType.ASCENDING else "DESC"
    column = "attributes.run_name" if sort_by == SortByType.NAME else "attributes.start_time"
    found = queries.search(sess.settings.tracking_uri(), experiment_name,
                           max_results=max_results or 1000,
                           order_by=[f"{column} {direction}"])  # fmt: skip
    out = []
    for run in found:
        started = (run.info.start_time or 0) / 1000
        if created_before is not None and started >= _seconds(created_before):
            continue
        if created_after is not None and started <= _seconds(created_after):
            continue
        out.append(Run(experiment_name, session=sess, _run_id=run.info.run_id))
    return out


def _seconds(value) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)
