"""A running job's MLflow run: handed to this machine's warm relay (``relay``), or, for the
first job on a machine (which starts the relay), created, fed and ended from a thread of the
job's driver.

``JobRun.start()`` returns at once; the thread imports MLflow, creates the run (in the
experiment ``experiment_config`` names, a trial under its tuning job's run) and every few
seconds moves the job's new metric points (``jobs/<name>/metrics.jsonl``, where built-ins,
``report_metrics`` and ``metric_definitions`` all write) into it with one batched call. The
training thread never waits on MLflow. ``env()`` gives a user's script the run to write
into; ``finish(record)`` adds the inputs with their content hashes, the model, the end tags
and status. A tracking server that is away costs a warning: what is owed stays in the
ledger, and is spooled to the store for a later replay when the job ends before it returns.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
import threading
import time

from raymaker.storage import layout
from raymaker.tracking import client as tc
from raymaker.tracking import ledger as lg
from raymaker.tracking.ledger import run_info_key

INTERVAL_S = 3.0


class JobRun:
    """One job's MLflow run, fed from its own thread."""

    def __init__(self, settings, store, spec, *, job: str, parent_job: str | None = None,
                 previous: dict | None = None):  # fmt: skip
        config = getattr(spec, "experiment_config", None)
        self.settings, self.store, self.job = settings, store, job
        tc.use_s3_endpoint(settings)  # this job's thread, and the relay it may start
        self.ledger = lg.new_ledger(
            job=job,
            uri=settings.tracking_uri(),
            experiment=config.experiment_name if config else None,
            run_name=(config and (config.run_name or config.trial_component_display_name)) or job,
            tags=start_tags(spec, store, job, config),
            params=params_of(spec),
            run_id=(previous or {}).get("run_id"),  # a resumed job goes on in its run
        )
        self.ledger["parent_job"] = parent_job
        self.ledger["named_run"] = config.run_name if config else None
        self._ready, self._stop = threading.Event(), threading.Event()
        self._warned = False
        self.mode = "thread"
        self._thread = threading.Thread(target=self._loop, name="raymaker-mlflow", daemon=True)

    def start(self) -> JobRun:
        """Hand the run to this machine's relay when one beats; else track in a thread (and
        start the relay for the jobs after this one)."""
        from raymaker.tracking import relay

        self.store.delete(run_info_key(self.job))  # an earlier attempt's
        if relay.alive(self.store):
            self.mode = "relay"
            self.ledger.update(live=True, parent_wait_s=0)
            self.store.delete(relay.end_key(self.job))
            self.store.write_json(layout.mlflow_spool(self.job), self.ledger)
            if self.ledger["run_id"]:  # a resumed job goes on in its run: no run to wait for
                self.store.write_json(run_info_key(self.job), self.info())
            return self
        try:
            relay.spawn(self.store, dict(os.environ))
        except Exception as exc:  # noqa: BLE001 - this job tracks itself either way
            self._warn(exc)
        self._thread.start()
        return self

    def env(self, timeout: float = 60.0) -> dict[str, str]:
        """What a user's script needs to write into this run (empty when there is none yet:
        the tracking server is away)."""
        if self.mode == "relay":
            info = self._relay_info(lambda i: i.get("run_id") or i.get("error"), timeout) or {}
            if info.get("error"):
                self._warn(RuntimeError(info["error"]))
            self.ledger.update({k: info.get(k) for k in ("run_id", "experiment_id")})
        else:
            self._ready.wait(timeout)
        run_id = self.ledger["run_id"]
        if not run_id:
            return {}
        return {
            "MLFLOW_TRACKING_URI": self.ledger["tracking_uri"],
            "MLFLOW_RUN_ID": run_id,
            "RAYMAKER_MLFLOW_RUN_ID": run_id,  # load_run()'s: MLflow pops its own once used
            "MLFLOW_EXPERIMENT_ID": str(self.ledger["experiment_id"] or ""),
        }

    def _relay_info(self, done, timeout: float) -> dict | None:
        """The relay's run info for this job once ``done(info)``; None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                info = self.store.read_json(run_info_key(self.job))
            except Exception:  # noqa: BLE001 - not written yet
                info = None
            if info is not None and done(info):
                return info
            if time.monotonic() > deadline:
                return info
            time.sleep(0.05)

    def _finish_by_relay(self, record, wait_s: float) -> dict:
        from raymaker.tracking import relay

        final = {**self.ledger, "metrics": [], "logged": [], "warnings": []}
        end(final, record, self.store)
        self.store.write_json(relay.end_key(self.job), {
            "final_metrics": final["metrics"], "inputs": final["inputs"],
            "end_tags": final["end_tags"], "model": final["model"], "status": final["status"],
            "end_time": final["end_time"], "warnings": final["warnings"],
        })  # fmt: skip
        info = self._relay_info(lambda i: i.get("ended") or i.get("error"), wait_s) or {}
        for warning in info.pop("warnings", None) or []:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
        if not info.get("ended"):
            why = f" ({info['error']})" if info.get("error") else ""
            print(f"warning: MLflow tracking: the run was not ended{why}; it is kept in "
                  f"{layout.mlflow_spool(self.job)} and sent by this machine's relay or "
                  "`raymaker experiments sync` when it can", file=sys.stderr,
                  flush=True)  # fmt: skip
            return {**self.info(), **{k: v for k, v in info.items() if v},
                    "spooled": layout.mlflow_spool(self.job)}  # fmt: skip
        return {**{k: v for k, v in info.items() if k != "ended"}, "via": "relay"}

    def _loop(self) -> None:
        self._tick()
        self._ready.set()
        while not self._stop.wait(INTERVAL_S):
            self._tick()

    def _tick(self) -> None:
        self._take_metrics()
        try:
            lg.flush(self.ledger, self.store)
        except lg.Unreachable as exc:
            self._warn(exc)
        except Exception as exc:  # noqa: BLE001 - tracking never fails a job
            self._warn(exc)
        else:
            self._publish_run()

    def _publish_run(self) -> None:
        if self.ledger["run_id"] and not getattr(self, "_published", False):
            self._published = True
            self.store.write_json(run_info_key(self.job), self.info())

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            print(f"warning: MLflow tracking: {exc}; the run's data is kept and sent when the "
                  "server answers", file=sys.stderr, flush=True)  # fmt: skip

    def _take_metrics(self) -> None:
        lg.take_metrics(self.ledger, self.store)

    def info(self) -> dict:
        return {**lg.run_info(self.ledger), "via": self.mode}

    def finish(self, record, *, wait_s: float = 10.0) -> dict:
        """End the run with ``record``'s outcome; returns what the record keeps of it."""
        if self.mode == "relay":
            return self._finish_by_relay(record, wait_s)
        self._stop.set()
        self._thread.join()
        self._take_metrics()
        end(self.ledger, record, self.store)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                lg.flush(self.ledger, self.store)
                break
            except Exception as exc:  # noqa: BLE001 - tracking never fails a job
                if time.monotonic() > deadline:
                    self._warn(exc)
                    key = lg.spool(self.ledger, self.store)
                    print(f"warning: MLflow tracking: the run is kept in {key} and sent by "
                          "`raymaker experiments sync` (or the next job) once the server "
                          "answers", file=sys.stderr, flush=True)  # fmt: skip
                    return {**self.info(), "spooled": key}
                time.sleep(1.0)
        for warning in self.ledger["warnings"]:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
        self._publish_run()
        from raymaker.tracking import relay

        with contextlib.suppress(Exception):  # others' ledgers, now that the server answers
            if not relay.alive(self.store):  # (else the relay sends them)
                lg.replay(self.store, uri=self.ledger["tracking_uri"])
        return self.info()


def start_tags(spec, store, job: str, config) -> dict[str, str]:
    tags = {str(k): str(v) for k, v in (spec.tags or {}).items()}
    tags.update({
        "raymaker.job": job,
        "raymaker.kind": spec.kind,
        "raymaker.job_uri": store.uri(layout.job_dir(job)),
        "mlflow.source.name": job,
        "mlflow.source.type": "JOB",
        "mlflow.user": _user(),
    })  # fmt: skip
    for field in ("instance_type", "instance_count", "algorithm", "entry_point", "framework"):
        value = getattr(spec, field, None)
        if value is not None:
            tags[f"raymaker.{field}"] = str(value)
    if config is not None and config.trial_name:
        tags["raymaker.trial"] = config.trial_name
    if spec.description:
        tags["mlflow.note.content"] = spec.description
    return tags


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this container
        return str(os.getuid())


def params_of(spec) -> dict:
    """A training job's hyperparameters; a tuning job's static ones, ranges and objective;
    another kind's scalar settings."""
    if spec.kind == "TrainingJob":
        return dict(spec.hyperparameters)
    if spec.kind == "TuningJob":
        out = dict(spec.training.hyperparameters)
        for name, r in spec.hyperparameter_ranges.items():
            span = r.values if r.type == "Categorical" else [r.min_value, r.max_value]
            out[f"range.{name}"] = f"{r.type} {span} {r.scaling_type}"
        out["objective"] = f"{spec.objective.type} {spec.objective.metric_name}"
        return out
    skip = {"name", "kind", "description", "tags", "experiment_config"}
    out = {}
    for key, value in spec.model_dump(mode="json", exclude_defaults=True).items():
        if key in skip or isinstance(value, dict):
            continue
        out[key] = json.dumps(value) if isinstance(value, list) else value
    return out


def end(ledger: dict, record, store) -> None:
    """Put the job's outcome on the ledger: final metrics, inputs, model, tags, status."""
    from raymaker.tracking.models import model_entry

    result = record.result or {}
    status = record.status.value if hasattr(record.status, "value") else str(record.status)
    logged = set(ledger.get("logged", ()))
    now = time.time()
    for name, value in _final_metrics(result).items():
        if name not in logged:
            ledger["metrics"].append({"name": name, "value": value, "step": 0, "time": now})
    tags = {"raymaker.status": status}
    if record.failure_reason:
        tags["raymaker.failure_reason"] = record.failure_reason[:4000]
    if record.duration_s is not None:
        tags["raymaker.duration_s"] = f"{record.duration_s:.3f}"
    manifest = {}
    model_data = result.get("model_data") if status == "SUCCEEDED" else None
    if model_data and record.kind == "TrainingJob":
        from raymaker.storage import artifacts

        try:
            manifest = artifacts.read_manifest(store, model_data) or {}
            ledger["model"] = model_entry(store, model_data)
        except Exception as exc:  # noqa: BLE001 - the run keeps the rest
            ledger["warnings"].append(f"the model at {model_data} was not logged: {exc}")
        tags["raymaker.model_data"] = model_data
    if result.get("best_training_job"):
        tags["raymaker.best_training_job"] = result["best_training_job"]
    lineage = manifest.get("lineage") or {}
    if lineage.get("code_sha256"):
        tags["raymaker.code_sha256"] = lineage["code_sha256"]
    ledger["inputs"] = inputs_of(record, lineage.get("data") or {})
    ledger["end_tags"] = tags
    ledger["status"] = lg.STATUS.get(status, "FAILED")
    ledger["end_time"] = int((record.ended_at or now) * 1000)


def _final_metrics(result: dict) -> dict[str, float]:
    out = {}
    for name, value in (result.get("metrics") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    if isinstance(result.get("best_objective"), int | float):
        out["best_objective"] = float(result["best_objective"])
    return out


def inputs_of(record, fingerprints: dict) -> list[dict]:
    """The job's input channels as MLflow datasets: a training job's with the content hashes
    its lineage holds (sha256 over the files), others' with a digest of the URI."""
    import hashlib

    spec = record.spec or {}
    channels: dict[str, str] = {}
    if isinstance(spec.get("inputs"), dict):
        channels = dict(spec["inputs"])
    elif isinstance(spec.get("inputs"), list):  # a processing job's
        channels = {i["name"]: i["source"] for i in spec["inputs"] if i.get("source")}
    elif isinstance(spec.get("training"), dict):  # a tuning job's trials read these
        channels = dict(spec["training"].get("inputs") or {})
    elif isinstance(spec.get("input"), dict):  # a transform's
        channels = {"input": spec["input"].get("data_uri") or spec["input"].get("data", "")}
    out = []
    for name, uri in channels.items():
        fp = fingerprints.get(name) or {}
        digest = fp.get("sha256") or hashlib.sha256(str(uri).encode()).hexdigest()
        profile = {k: fp[k] for k in ("files", "bytes", "sha256") if k in fp}
        if not fp.get("sha256"):
            profile["digest_of"] = "uri"
        out.append({
            "name": name, "digest": digest, "context": name,
            "source_type": str(uri).split("://", 1)[0] if "://" in str(uri) else "raymaker",
            "source": json.dumps({"uri": fp.get("uri") or str(uri)}),
            "profile": json.dumps(profile),
        })  # fmt: skip
    return out
