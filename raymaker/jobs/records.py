"""The job record: what a job is and how it went, kept in the store under ``jobs/<name>/``.

The record outlives the Ray cluster, so ``jobs describe`` works after a restart.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from raymaker.errors import Conflict
from raymaker.kinds import KINDS
from raymaker.specs.base import ResourceSpec, check_name
from raymaker.storage import layout

CLUSTER_GONE = (
    "the cluster stopped while the job ran (its head or node went away); "
    "run it again with `raymaker submit --resume`"
)


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED)


class JobRecord(BaseModel):
    """One job's record. Times are UNIX seconds."""

    model_config = ConfigDict(extra="ignore")

    name: str
    kind: str
    status: JobStatus = JobStatus.PENDING
    spec: dict[str, Any] = Field(default_factory=dict)
    spec_uri: str | None = None
    submission_id: str | None = None
    created_at: float = Field(default_factory=time.time)
    submitted_at: float | None = Field(
        None, description="When the client, its files staged, handed the job to Ray."
    )
    started_at: float | None = None
    ended_at: float | None = None
    failure_reason: str | None = None
    traceback: str | None = None
    error: str | None = Field(
        None,
        description="The raymaker error that failed the job (SpecError, NotFound, ...): its "
        "message says what is wrong, and the traceback (raymaker's own) stays in the record.",
    )
    stages: list[tuple[str, float]] = Field(
        default_factory=list,
        description="``[stage, seconds]`` in order: queued (Ray's queue and the driver's "
        "start), staging, then the kind's own (planning, training, publishing, ...).",
    )
    peak_rss_mb: float | None = Field(
        None, description="Peak resident memory of the job's driver and its child processes."
    )
    result: dict[str, Any] = Field(default_factory=dict)
    logs_uri: str | None = None
    progress: dict[str, Any] | None = None
    host: str | None = None
    attempts: int = Field(1, description="Runs of this job (a resumed job counts again).")
    parent: str | None = Field(None, description="The tuning job this job is a trial of.")
    tracking: dict[str, Any] | None = Field(
        None, description="The job's MLflow run: run_id, experiment, tracking_uri (and "
        "``spooled``: the store key of what waits for the tracking server).",
    )  # fmt: skip

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or time.time()) - self.started_at

    def summary(self) -> dict[str, Any]:
        """The short form used by ``jobs list``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created_at)),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 2),
        }


def read_record(store, name: str) -> JobRecord:
    """The record of job ``name``. Raises NotFound."""
    from raymaker.errors import NotFound

    try:
        return JobRecord.model_validate(store.read_json(layout.job_record(name)))
    except NotFound:
        raise NotFound(f"no job named {name!r} in {store.uri()}") from None


def write_record(store, record: JobRecord) -> None:
    store.write_json(layout.job_record(record.name), record.model_dump(mode="json"))


def create_record(store, record: JobRecord) -> None:
    """Create the record only if the name is free. Raises Conflict naming the taken name."""
    try:
        store.create_json(layout.job_record(record.name), record.model_dump(mode="json"))
    except Conflict:
        raise Conflict(
            f"a job named {record.name!r} already exists; job names are unique "
            "(choose another name or omit it to get a generated one)"
        ) from None


def generate_name(kind: str) -> str:
    """A unique-enough name: ``<kind>-<YYYYmmdd-HHMMSS>-<4 hex>``, like SageMaker's."""
    import secrets

    stem = kind.lower().removesuffix("job") or "job"
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def job_name(spec: ResourceSpec, name: str | None = None) -> str:
    """The job's name: ``name``, else the spec's (for kinds whose name is the job's), else a
    generated one (an Endpoint's apply: ``<endpoint>-apply-<time>-<hex>``). Raises SpecError."""
    if name:
        return check_name(name)
    row = KINDS[spec.kind]
    if row.names_job and spec.name:
        return check_name(spec.name)
    if row.run_name:
        from raymaker.kinds import load

        return check_name(load(row.run_name)(spec))
    return check_name(generate_name(f"{spec.name}-apply" if spec.name else spec.kind))
