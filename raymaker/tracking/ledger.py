"""What one job's MLflow run still owes the tracking store, and sending it.

A ledger is a JSON-able dict: the run to create (experiment, name, tags, parent), then the
parameters, metric points, dataset inputs, end tags, model and end status not sent yet.
``flush`` sends what it can in that order and takes each part off once it is acknowledged,
so the same ledger serves a live job (called every few seconds), the job's end, and a replay
from the store after a tracking server that was down comes back (``mlflow/spool/<job>.json``):
nothing is sent twice and nothing is lost.
"""

from __future__ import annotations

import os
import tempfile
import time

from raymaker.storage import layout
from raymaker.tracking import client as tc

BATCH_METRICS = 1000  # MLflow's log_batch limits
BATCH_PARAMS = 100
PARAM_CHARS = 6000
STATUS = {"SUCCEEDED": "FINISHED", "FAILED": "FAILED", "STOPPED": "KILLED"}


def run_info_key(job: str) -> str:
    """Where a job's run id is written as soon as the run exists (its trials read it)."""
    return f"{layout.job_dir(job)}/mlflow-run.json"


def run_info(ledger: dict) -> dict:
    """What a job's record (and ``mlflow-run.json``) keeps of its run."""
    return {k: ledger[k] for k in ("run_id", "experiment_id", "experiment", "tracking_uri")}


def new_ledger(
    *, job: str, uri: str, experiment: str | None, run_name: str, tags: dict, params: dict,
    parent_run_id: str | None = None, run_id: str | None = None,
) -> dict:  # fmt: skip
    return {
        "job": job,
        "tracking_uri": uri,
        "experiment": experiment,  # None: the parent job's, else raymaker's default
        "experiment_id": None,
        "run_id": run_id,
        "run_name": run_name,
        "parent_run_id": parent_run_id,
        "start_time": int(time.time() * 1000),
        "tags": {k: str(v) for k, v in tags.items()},
        "params": {k: _param(v) for k, v in params.items()},
        "metrics": [],
        "inputs": [],
        "end_tags": {},
        "model": None,
        "status": None,
        "end_time": None,
        "warnings": [],
    }


def _param(value) -> str:
    text = value if isinstance(value, str) else str(value)
    return text[:PARAM_CHARS]


def owes(ledger: dict) -> bool:
    """Whether anything is still to send (the end status included once it is set)."""
    return bool(
        ledger["run_id"] is None or ledger["params"] or ledger["metrics"] or ledger["inputs"]
        or ledger["end_tags"] or ledger["model"] or ledger["status"]
    )  # fmt: skip


def take_metrics(ledger: dict, store) -> None:
    """Put the job's metric points written since the last call on the ledger (its series in
    the store is where built-ins, ``report_metrics`` and ``metric_definitions`` write)."""
    import json

    key = layout.job_metrics(ledger["job"])
    try:
        if not store.exists(key):
            return
        lines = store.read_text(key).splitlines()
    except Exception:  # noqa: BLE001 - the series is being written: next time
        return
    points = []
    for line in lines[ledger.get("taken", 0) :]:
        try:
            points.append(json.loads(line))
        except ValueError:
            break  # a line half written: taken next time
    ledger["taken"] = ledger.get("taken", 0) + len(points)
    ledger["metrics"].extend(points)
    names = set(ledger.get("logged", ())) | {p.get("name") for p in points}
    ledger["logged"] = sorted(n for n in names if n)


class Unreachable(Exception):
    """The tracking store did not answer: keep what is owed and try again later."""


def flush(ledger: dict, store) -> None:
    """Send what ``ledger`` owes, taking each part off as it is acknowledged.

    Raises Unreachable (with what is left still in the ledger) when the store does not answer.
    A part the store refuses (a parameter changed by the user's own code, say) is dropped with
    a warning in ``ledger["warnings"]``: resending it would fail forever.
    """
    uri = ledger["tracking_uri"]
    if not tc.reachable(uri):
        raise Unreachable(f"the MLflow tracking server at {uri} does not answer")
    client = tc.client_for(uri)
    _step(ledger, "run", lambda: _create_run(client, ledger, store))
    run_id = ledger["run_id"]
    from mlflow.entities import Metric, Param, RunTag

    while ledger["params"]:
        names = list(ledger["params"])[:BATCH_PARAMS]
        params = [Param(k, ledger["params"][k]) for k in names]
        _step(ledger, "params", lambda params=params: client.log_batch(run_id, params=params))
        for k in names:
            ledger["params"].pop(k, None)
    while ledger["metrics"]:
        points = ledger["metrics"][:BATCH_METRICS]
        batch = [
            Metric(p["name"], p["value"], int(p["time"] * 1000), int(p.get("step") or 0))
            for p in points
        ]
        _step(ledger, "metrics", lambda batch=batch: client.log_batch(run_id, metrics=batch))
        del ledger["metrics"][: len(points)]
    if ledger["inputs"]:
        _step(ledger, "inputs", lambda: _log_inputs(client, run_id, ledger["inputs"]))
        ledger["inputs"] = []
    if ledger["end_tags"]:
        tags = [RunTag(k, str(v)) for k, v in ledger["end_tags"].items()]
        _step(ledger, "tags", lambda: client.log_batch(run_id, tags=tags))
        ledger["end_tags"] = {}
    if ledger["model"]:
        _step(ledger, "model", lambda: _log_model(client, run_id, ledger["model"], store))
        ledger["model"] = None
    if ledger["status"]:
        status, end = ledger["status"], ledger["end_time"]
        _step(ledger, "status", lambda: client.set_terminated(run_id, status, end_time=end))
        ledger["status"] = None


def _step(ledger: dict, what: str, fn) -> None:
    """Run one send; a store that is away raises Unreachable, a refusal becomes a warning."""
    for attempt in range(5):
        try:
            fn()
            return
        except Exception as exc:  # noqa: BLE001 - sorted below: away, busy or refused
            text = f"{type(exc).__name__}: {exc}"
            if not tc.reachable(ledger["tracking_uri"]):
                raise Unreachable(text) from None
            if "locked" in text and attempt < 4:  # SQLite busy with another job's write
                time.sleep(0.2 * (attempt + 1))
                continue
            if what == "run":  # nothing else can be sent without the run
                raise Unreachable(text) from None
            ledger["warnings"].append(f"MLflow refused the run's {what}: {text[:300]}")
            return


def _create_run(client, ledger: dict, store) -> None:
    if ledger["run_id"] is not None:
        return
    if not ledger.get("parent_run_id") and ledger.get("parent_job"):
        parent = _parent_run(store, ledger["parent_job"], ledger.get("parent_wait_s", 15.0))
        if parent is None and ledger.get("parent_wait_s") == 0:
            raise Unreachable(f"the run of {ledger['parent_job']} does not exist yet")
        parent = parent or {}
        ledger["parent_run_id"] = parent.get("run_id")
        ledger["experiment"] = ledger["experiment"] or parent.get("experiment")
    ledger["experiment"] = ledger["experiment"] or tc.DEFAULT_EXPERIMENT
    experiment_id = tc.experiment_id(client, ledger["tracking_uri"], store, ledger["experiment"])
    named = ledger.get("named_run")
    if named and not ledger.get("parent_run_id"):  # a run of that name exists (a Run context
        found = tc.run_named(client, experiment_id, named)  # the job was launched in): nest
        if found:
            ledger["parent_run_id"], ledger["run_name"] = found.info.run_id, ledger["job"]
    tags = dict(ledger["tags"])
    tags["mlflow.runName"] = ledger["run_name"]
    if ledger.get("parent_run_id"):
        tags["mlflow.parentRunId"] = ledger["parent_run_id"]
    run = client.create_run(
        experiment_id, start_time=ledger["start_time"], tags=tags, run_name=ledger["run_name"]
    )
    ledger["run_id"], ledger["experiment_id"] = run.info.run_id, experiment_id


def _parent_run(store, job: str, wait_s: float = 15.0) -> dict | None:
    """The run of ``job`` (a tuning job whose trial this is), once it exists."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return store.read_json(run_info_key(job))
        except Exception:  # noqa: BLE001 - not written yet
            if time.monotonic() > deadline:
                return None
            time.sleep(0.25)


def _log_inputs(client, run_id: str, inputs: list[dict]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    datasets = [
        DatasetInput(
            Dataset(
                name=item["name"],
                digest=item["digest"][:36],
                source_type=item["source_type"],
                source=item["source"],
                schema=item.get("schema"),
                profile=item.get("profile"),
            ),  # fmt: skip
            tags=[InputTag("mlflow.data.context", item.get("context") or item["name"])],
        )
        for item in inputs
    ]
    client.log_inputs(run_id, datasets=datasets)


def _log_model(client, run_id: str, model: dict, store) -> None:
    from raymaker.tracking.models import log_model_files

    with tempfile.TemporaryDirectory(prefix="raymaker-mlflow-") as tmp:
        log_model_files(client, run_id, model, store, os.path.join(tmp, "model"))


# -- the spool: ledgers kept in the store while their tracking server is away ---------------


def spool(ledger: dict, store) -> str:
    """Keep ``ledger`` in the store for a later replay; returns its key."""
    key = layout.mlflow_spool(ledger["job"])
    store.write_json(key, ledger)
    return key


def replay(store, *, uri: str | None = None) -> dict:
    """Send every spooled ledger (those for ``uri`` only, when given) whose store answers.
    Returns ``{"sent": [job, ...], "waiting": {job: why}}``."""
    sent, waiting = [], {}
    for key in store.list(layout.mlflow_spool()):
        if not key.endswith(".json") or key.endswith(".end.json"):
            continue
        ledger = store.read_json(key)
        if ledger.get("live") or (uri is not None and ledger.get("tracking_uri") != uri):
            continue  # a live one is its machine's relay's
        try:
            flush(ledger, store)
        except Unreachable as exc:
            store.write_json(key, ledger)  # what was sent is off it
            waiting[ledger["job"]] = str(exc)
            continue
        store.delete(key)
        sent.append(ledger["job"])
    return {"sent": sent, "waiting": waiting}
