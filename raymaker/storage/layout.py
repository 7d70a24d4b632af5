"""The layout of the store, in one place.

<store>/
  data/<key_prefix>/...          uploaded data (``Session.upload_data``)
  jobs/<name>/record.json        the job record: spec, status, times, traceback, result
  jobs/<name>/spec.yaml          the spec as submitted
  jobs/<name>/logs.txt           the job's output, saved when it ends
  jobs/<name>/output/...         the job's outputs (published only on success)
  jobs/<name>/_tmp/...           outputs while the job runs
  jobs/<name>/checkpoints/<step>/  training checkpoints (``latest.json`` names the newest)
  jobs/<name>/metrics.jsonl      training metrics, one JSON object per line
  models/<name>/...              model artifacts
  registry/<group>/...           model registry groups and versions
  endpoints/<name>/...           endpoint desired state
  capture/<endpoint>/...         captured requests/responses
  monitoring/<schedule>/schedule.json          a monitoring schedule's desired state
  monitoring/<schedule>/executions/<job>/...   each execution's statistics, violations, report
  mlflow/artifacts/<experiment>/...  MLflow's artifacts (the embedded tracking store's)
  mlflow/spool/<job>.json        a job's MLflow run still to send (its relay's, or spooled)
  mlflow/relay/<host>.json       the heartbeat of a machine's tracking relay
  pipelines/<name>/pipeline.json the pipeline's definition (staged), as last saved
  pipelines/<name>/executions/<execution>.json  each execution's steps, as they run
  pipelines/<name>/cache/<step>/<key>.json      the step cache, keyed by content
  access/tokens/<id>.json        an API token: its name, roles and sha256 (never the token)
"""

from __future__ import annotations

from raymaker.storage.uri import join

DATA = "data"
JOBS = "jobs"
MODELS = "models"
REGISTRY = "registry"
ENDPOINTS = "endpoints"
CAPTURE = "capture"
PROFILES = "profiles"
MONITORING = "monitoring"
MLFLOW = "mlflow"
PIPELINES = "pipelines"
ACCESS = "access"
TOP_LEVEL = (
    DATA,
    JOBS,
    MODELS,
    REGISTRY,
    ENDPOINTS,
    CAPTURE,
    PROFILES,
    MONITORING,
    MLFLOW,
    PIPELINES,
    ACCESS,
)


def job_dir(name: str) -> str:
    return join(JOBS, name)


def job_record(name: str) -> str:
    return join(JOBS, name, "record.json")


def job_spec(name: str) -> str:
    return join(JOBS, name, "spec.yaml")


def job_logs(name: str) -> str:
    return join(JOBS, name, "logs.txt")


def job_output(name: str, *parts: str) -> str:
    return join(JOBS, name, "output", *parts)


def job_staging(name: str, *parts: str) -> str:
    return join(JOBS, name, "_tmp", *parts)


def job_checkpoints(name: str) -> str:
    return join(JOBS, name, "checkpoints")


def job_metrics(name: str) -> str:
    return join(JOBS, name, "metrics.jsonl")


def schedule_state(name: str) -> str:
    return join(MONITORING, name, "schedule.json")


def schedule_executions(name: str) -> str:
    return join(MONITORING, name, "executions")


def mlflow_artifacts(experiment: str) -> str:
    return join(MLFLOW, "artifacts", experiment)


def mlflow_spool(job: str = "") -> str:
    return join(MLFLOW, "spool", f"{job}.json") if job else join(MLFLOW, "spool")
