"""The job client: submit specs as Ray Jobs and follow them through their records.

``JobsClient.submit(spec)`` stages the spec's local files, writes ``jobs/<name>/spec.yaml`` and a
PENDING record (the name must be free), and submits ``raymaker run --name <name> <spec-uri>``
to Ray Jobs. ``JobHandle`` gives every job the same verbs: describe, wait, logs, stop, result.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shlex
import sys
import time
from collections.abc import Iterator

from raymaker.cluster.rest import TERMINAL, RayJobsApi
from raymaker.errors import (
    ClusterError,
    Conflict,
    JobFailed,
    JobStopped,
    NotFound,
    RaymakerError,
    WaitTimeout,
)
from raymaker.jobs.records import (
    CLUSTER_GONE,
    JobRecord,
    JobStatus,
    create_record,
    job_name,
    read_record,
    write_record,
)
from raymaker.kinds import KINDS, load
from raymaker.settings import Settings
from raymaker.specs import dump_spec, parse_spec
from raymaker.specs.base import ResourceSpec
from raymaker.storage import Store, layout


def driver_resources(spec, settings: Settings) -> dict:
    """The CPUs/GPUs a job's driver needs reserved (the kind table's ``driver``; empty when
    it only coordinates)."""
    row = KINDS[spec.kind]
    return load(row.driver)(spec, settings) if row.driver else {}


# Lines Ray's job manager writes into every job's log ahead of the job's own output.
_RAY_LINES = re.compile(
    r"(?m)^(?:\d{4}-\d\d-\d\d [\d:,]+\tINFO job_manager\.py:\d+ -- [^\n]*"
    r"|Running entrypoint for job [^\n]*)\n"
)


LOST_AFTER_S = 60.0  # a PENDING job handed to Ray this long ago, unknown to Ray, is lost


class JobsClient:
    """Jobs in one store, run on one Ray cluster (resolved lazily, started if embedded)."""

    def __init__(self, settings: Settings, store: Store, *, api: RayJobsApi | None = None,
                 start_cluster: bool = True):  # fmt: skip
        self.settings = settings
        self.store = store
        self._api = api
        self.start_cluster = start_cluster  # False: a reader (the console) never starts a head

    @property
    def api(self) -> RayJobsApi:
        """The Ray Jobs API of the cluster; starts the embedded head if none is configured."""
        if self._api is None:
            from raymaker.cluster import auth_headers, dashboard_url

            # a job's client: the URL its own client used (no lookup of the GCS address)
            url = self.settings.jobs_api or dashboard_url(self.settings, start=self.start_cluster)
            self._api = RayJobsApi(url, headers=auth_headers(url))
        return self._api

    def reset(self) -> None:
        """Forget the resolved Ray Jobs API: the next call resolves the cluster again (after
        a head restart its dashboard listens elsewhere)."""
        if self._api is not None:
            self._api.close()
        self._api = None

    def check(self, spec: ResourceSpec | dict) -> ResourceSpec:
        """The parsed spec, or SpecError naming every problem a submit would meet with its
        resources (instance types), found without Ray."""
        from raymaker.jobs.checks import check

        spec = parse_spec(spec)
        check(spec, self.settings)
        return spec

    def submit(
        self,
        spec: ResourceSpec | dict,
        *,
        name: str | None = None,
        wait: bool = False,
        logs: bool = False,
        base_dir: str | None = None,
        timeout: float | None = None,
        resume: bool = False,
    ) -> JobHandle:
        """Submit ``spec`` as a Ray Job and return its handle (after it ends if ``wait``).

        ``resume=True`` re-runs a FAILED or STOPPED job of the same name in place: its record
        is reused and training continues from its last checkpoint.
        Raises SpecError (invalid spec), Conflict (name taken), NotFound (a local file the spec
        names), ClusterError/AuthError (Ray), and with ``wait`` JobFailed or WaitTimeout.
        """
        from raymaker.jobs.staging import stage

        spec = parse_spec(spec)
        self.check(spec)  # before the name is claimed: a bad spec leaves no FAILED job
        name = job_name(spec, name)
        api = self.api  # resolve (or start) the cluster before claiming the name
        submission_id = f"raymaker-{name}-{secrets.token_hex(3)}"
        if resume and self.store.exists(layout.job_record(name)):
            record = self._reopen(name, spec.kind, submission_id)
        else:
            record = JobRecord(name=name, kind=spec.kind, submission_id=submission_id)
            create_record(self.store, record)  # claims the name atomically, or raises Conflict
        try:
            spec = stage(spec, self.store, name, base_dir)
            if KINDS[spec.kind].names_job:
                spec = spec.model_copy(update={"name": name})
            record.spec_uri = self.store.write_text(layout.job_spec(name), dump_spec(spec))
            record.spec = spec.model_dump(mode="json", exclude_defaults=True)
            record.submitted_at = time.time()  # staged: what follows is Ray's queue
            write_record(self.store, record)
        except BaseException as exc:
            record.status, record.ended_at = JobStatus.FAILED, time.time()
            record.failure_reason = f"staging failed: {exc}"
            write_record(self.store, record)
            raise
        try:
            resources = driver_resources(spec, self.settings)
            api.submit(
                f"raymaker run --name {name} {shlex.quote(record.spec_uri)}",
                submission_id=submission_id,
                runtime_env={"env_vars": {**self.settings.job_env(), "RAYMAKER_JOBS_API": api.url}},
                metadata={"raymaker_job": name, "raymaker_kind": spec.kind},
                entrypoint_num_cpus=resources.get("cpus"),
                entrypoint_num_gpus=resources.get("gpus"),
            )
        except RaymakerError as exc:
            record.status, record.ended_at = JobStatus.FAILED, time.time()
            record.failure_reason = f"submission to Ray failed: {exc}"
            write_record(self.store, record)
            raise
        handle = JobHandle(self, name, record)
        if wait:
            handle.wait(timeout=timeout, logs=logs)
        return handle

    def run(self, spec, *, name: str | None = None, resume: bool = False,
            base_dir: str | None = None) -> JobRecord:  # fmt: skip
        """Run ``spec`` (a spec, a file or a store URI) in this process, as ``raymaker run``
        does, and return its final record. Raises SpecError, NotFound, Conflict."""
        import os

        from raymaker.jobs.runner import run_spec
        from raymaker.specs import load_spec
        from raymaker.storage.staging import is_uri

        if isinstance(spec, str | os.PathLike):
            path = os.fspath(spec)
            if base_dir is None and not is_uri(path):
                base_dir = os.path.dirname(os.path.abspath(path))
            spec = load_spec(path, store=self.store)
        return run_spec(parse_spec(spec), name=name, settings=self.settings, store=self.store,
                        base_dir=base_dir, resume=resume)  # fmt: skip

    def _reopen(self, name: str, kind: str, submission_id: str) -> JobRecord:
        """Reset an interrupted job's record to PENDING for a resumed run. Raises Conflict."""
        record = self.refresh(name)
        if record.kind != kind:
            raise Conflict(f"job {name!r} is a {record.kind}, not a {kind}")
        if record.status not in (JobStatus.FAILED, JobStatus.STOPPED):
            raise Conflict(
                f"job {name!r} is {record.status.value}: only a FAILED or STOPPED job resumes"
            )
        resumed = record.model_copy(
            update={
                "status": JobStatus.PENDING,
                "submission_id": submission_id,
                "ended_at": None,
                "failure_reason": None,
                "traceback": None,
                "error": None,
                "attempts": record.attempts + 1,
                "submitted_at": None,
                "stages": [],
            }
        )
        write_record(self.store, resumed)
        return resumed

    def get(self, name: str) -> JobHandle:
        """The handle of an existing job. Raises NotFound."""
        return JobHandle(self, name, read_record(self.store, name))

    def list(self, *, status: str | None = None, kind: str | None = None) -> list[JobRecord]:
        """All job records, newest first, optionally filtered by status and kind."""
        records = []
        for key in self.store.list(layout.JOBS):
            name = key.rsplit("/", 1)[-1]
            try:
                record = read_record(self.store, name)
            except (NotFound, ValueError):
                continue
            if status and record.status.value != status.upper():
                continue
            if kind and record.kind != kind:
                continue
            records.append(record)
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    def refresh(self, name: str) -> JobRecord:
        """The record, reconciled with Ray when the driver ended without writing it, or when
        Ray no longer knows the submission (the cluster restarted under it)."""
        record = read_record(self.store, name)
        if record.status.terminal or not record.submission_id:
            return record
        try:
            details = self.api.details(record.submission_id)
        except NotFound:  # Ray does not know it: lost in a restart, or not submitted yet
            return self._lost(name) if self._may_be_lost(record) else record
        except ClusterError:  # unreachable: nothing is known either way
            return record
        if details.get("status") not in TERMINAL:
            return record
        record = read_record(self.store, name)  # the runner may have just finished
        if record.status.terminal:
            return record
        # The driver died without recording its end (killed, entrypoint missing, OOM).
        record.status = JobStatus.STOPPED if details["status"] == "STOPPED" else JobStatus.FAILED
        record.ended_at = (details.get("end_time") or time.time() * 1000) / 1000
        record.failure_reason = details.get("message") or f"Ray reports {details['status']}"
        tail = self._ray_logs(record)
        if tail:
            record.traceback = "\n".join(tail.splitlines()[-50:])
        write_record(self.store, record)
        return record

    @staticmethod
    def _may_be_lost(record: JobRecord) -> bool:
        """Whether Ray's not knowing ``record``'s submission means the job was lost: a RUNNING
        job's, or a PENDING one's handed to Ray more than ``LOST_AFTER_S`` ago (a PENDING
        record still staging its files has not been submitted yet)."""
        if record.status == JobStatus.PENDING:
            return record.submitted_at is not None and (
                time.time() - record.submitted_at >= LOST_AFTER_S
            )
        return record.status == JobStatus.RUNNING

    def _lost(self, name: str) -> JobRecord:
        record = read_record(self.store, name)  # the runner may have just finished
        if record.status.terminal:
            return record
        record.status, record.ended_at = JobStatus.FAILED, time.time()
        record.failure_reason = CLUSTER_GONE
        write_record(self.store, record)
        return record

    def reconcile(self) -> list[str]:
        """Fail every unfinished job Ray no longer knows (the cluster restarted under it);
        the names reconciled. Part of ``raymaker cluster up``'s reconcile step."""
        return [
            r.name
            for r in self.list()
            if not r.status.terminal and self.refresh(r.name).failure_reason == CLUSTER_GONE
        ]

    def _ray_logs(self, record: JobRecord) -> str | None:
        if not record.submission_id:
            return None
        try:
            return _RAY_LINES.sub("", self.api.logs(record.submission_id))
        except (NotFound, ClusterError):
            return None

    def logs(self, name: str) -> str:
        """The job's output: from Ray while it knows the job, else the copy in the store."""
        record = read_record(self.store, name)
        text = self._ray_logs(record)
        if text is not None:
            return text
        try:
            return self.store.read_text(layout.job_logs(name))
        except NotFound:
            return ""


class JobHandle:
    """One job. ``wait`` raises JobFailed (with the remote traceback) or WaitTimeout."""

    def __init__(self, client: JobsClient, name: str, record: JobRecord | None = None):
        self.client = client
        self.name = name
        self._record = record

    def __repr__(self) -> str:
        status = self._record.status.value if self._record else "?"
        return f"JobHandle(name={self.name!r}, status={status})"

    def describe(self) -> JobRecord:
        """The current record (reconciled with Ray)."""
        self._record = self.client.refresh(self.name)
        return self._record

    @property
    def status(self) -> JobStatus:
        return self.describe().status

    @property
    def job_name(self) -> str:
        """SageMaker's name for it (``estimator.latest_training_job.job_name``)."""
        return self.name

    def logs(self) -> str:
        return self.client.logs(self.name)

    def stream_logs(self, *, poll_s: float = 0.25, timeout: float | None = None) -> Iterator[str]:
        """Yield new output as it appears until the job ends."""
        seen = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = self.describe().status.terminal
            text = self.logs()
            if len(text) > seen:
                yield text[seen:]
                seen = len(text)
            if done:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(f"job {self.name!r} still running after {timeout} s")
            time.sleep(poll_s)

    def wait(self, timeout: float | None = None, *, logs: bool = False, out=None) -> JobRecord:
        """Block until the job ends; print its output as it comes when ``logs``.

        Returns the SUCCEEDED record. Raises JobFailed/JobStopped (with the traceback), WaitTimeout.
        """
        if logs:
            out = out or sys.stdout
            for chunk in self.stream_logs(timeout=timeout):
                out.write(chunk)
                out.flush()
        else:
            self._wait_quietly(timeout)
        return self._outcome(self.describe())

    def wait_recorded(self, timeout: float | None = None, *, poll_s: float = 0.05,
                      ray_every_s: float = 2.0) -> JobRecord:  # fmt: skip
        """Block until the job's record says it ended, and return that record (whatever its
        status). The record is final the moment the driver writes it, before its process has
        exited and Ray reports the end; Ray is asked every ``ray_every_s`` for a driver that
        died without writing it. Raises WaitTimeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        asked = time.monotonic()
        while True:
            record = read_record(self.client.store, self.name)
            if record.status.terminal:
                self._record = record
                return record
            if time.monotonic() - asked >= ray_every_s:
                asked = time.monotonic()
                record = self.describe()
                if record.status.terminal:
                    return record
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(f"job {self.name!r} still running after {timeout} s")
            time.sleep(poll_s)

    def _wait_quietly(self, timeout: float | None) -> None:
        # Fast polling finds short jobs' ends quickly; backing off keeps a long job's polling
        # (a REST call each time, served by the head's dashboard) from taking CPU from the job.
        poll, slowest = self.client.settings.poll_s, max(self.client.settings.poll_s, 0.5)
        started = time.monotonic()
        deadline = None if timeout is None else time.monotonic() + timeout
        record = self._record or read_record(self.client.store, self.name)
        while True:
            if record.submission_id:
                try:
                    if self.client.api.status(record.submission_id) in TERMINAL:
                        return
                except (NotFound, ClusterError):
                    record = self.client.refresh(self.name)  # a lost job is reconciled here
                    if record.status.terminal:
                        return
            else:
                record = read_record(self.client.store, self.name)
                if record.status.terminal:
                    return
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(f"job {self.name!r} still running after {timeout} s")
            time.sleep(poll)
            if time.monotonic() - started > 2.0:
                poll = min(poll * 1.25, slowest)

    def _outcome(self, record: JobRecord) -> JobRecord:
        if record.status == JobStatus.SUCCEEDED:
            return record
        cls = JobStopped if record.status == JobStatus.STOPPED else JobFailed
        reason = record.failure_reason or record.status.value.lower()
        raise cls(
            f"job {self.name!r} {record.status.value}: {reason}",
            job_name=self.name,
            # a script's own traceback is the user's to read; raymaker's own (under a clear
            # error such as NotFound) stays in the record, for `raymaker jobs describe`
            traceback=None if record.error else record.traceback,
        )

    def stop(self, *, timeout: float = 30.0) -> JobRecord:
        """Stop the job and return its final record (STOPPED, or how it ended first)."""
        record = self.client.refresh(self.name)
        if record.status.terminal:
            return record
        deadline = time.monotonic() + timeout
        soft = KINDS[record.kind].soft_stop if record.kind in KINDS else None
        if soft:  # the job ends itself, keeping what it has; Ray's stop is the fallback
            self.client.store.write_text(load(soft)(self.name), time.strftime("%FT%TZ"))
            record = self._wait_terminal(time.monotonic() + timeout / 2)
            if record.status.terminal:
                return record
        if record.submission_id:
            with contextlib.suppress(NotFound):
                self.client.api.stop(record.submission_id)
        record = self._wait_terminal(deadline)
        if record.status.terminal:
            return record
        record.status, record.ended_at = JobStatus.STOPPED, time.time()
        record.failure_reason = "stopped by the user (the driver did not confirm)"
        write_record(self.client.store, record)
        self._record = record
        return record

    def _wait_terminal(self, deadline: float) -> JobRecord:
        while True:
            record = self.client.refresh(self.name)
            if record.status.terminal:
                self._record = record
                return record
            if time.monotonic() >= deadline:
                return record
            time.sleep(self.client.settings.poll_s * 4)

    def result(self, timeout: float | None = None) -> dict:
        """Wait for the job and return its result. Raises JobFailed, WaitTimeout."""
        return self.wait(timeout=timeout).result
