"""``raymaker run``: execute one spec in this process and keep its record.

Every door ends here: the Python client and ``raymaker submit`` start ``raymaker run`` as a
Ray Job, and ``ray job submit -- raymaker run spec.yaml`` does the same by hand. The runner
claims (or creates) the job record, tees the output into the store, dispatches on the kind
through the kind table (``raymaker.kinds``) and records the outcome, with the user's own
traceback on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raymaker.errors import Conflict, JobFailed, JobStopped, NotFound, RaymakerError, SpecError
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
from raymaker.specs import dump_spec
from raymaker.specs.base import ResourceSpec
from raymaker.storage import Store, layout, store_for_settings


def runner_for(kind: str):
    """The function that runs ``kind`` (the kind table's ``run``). Raises SpecError."""
    row = KINDS.get(kind)
    if row is None:
        raise SpecError(f"kind {kind!r} is not a known kind; allowed: {', '.join(KINDS)}")
    return load(row.run)


@dataclass
class JobContext:
    """What a kind's runner gets besides its spec."""

    name: str
    store: Store
    settings: Settings
    workdir: Path
    record: JobRecord
    tracker: Any = field(default=None, repr=False)  # the job's MLflow run (raymaker.tracking)
    _last_progress_write: float = field(default=0.0, repr=False)
    _stage: str | None = field(default=None, repr=False)
    _stage_started: float = field(default=0.0, repr=False)

    def progress(self, *, force: bool = False, **fields) -> None:
        """Record progress (``done``, ``total``, ``stage``, ...) in the job record, throttled.
        A new ``stage`` closes the one before: its seconds go to ``record.stages``."""
        if "stage" in fields and fields["stage"] != self._stage:
            self.enter(fields["stage"])
        self.record.progress = {**(self.record.progress or {}), **fields}
        now = time.monotonic()
        if force or now - self._last_progress_write > 2.0:
            self._last_progress_write = now
            write_record(self.store, self.record)

    def __getstate__(self) -> dict:
        """What a copy in another process gets (Ray Tune pickles closures over the context):
        everything but the MLflow run, which stays with the job's driver."""
        return {**self.__dict__, "tracker": None}

    def mlflow_env(self) -> dict[str, str]:
        """``MLFLOW_TRACKING_URI`` / ``MLFLOW_RUN_ID`` of the job's run, for a user's script
        (empty when the job is not tracked or its tracking server is away)."""
        return self.tracker.env() if self.tracker is not None else {}

    def enter(self, stage: str | None) -> None:
        """Close the current stage (its seconds added to ``record.stages``), open ``stage``."""
        now = time.perf_counter()
        if self._stage is not None:
            seconds = round(now - self._stage_started, 3)
            stages = self.record.stages
            if stages and stages[-1][0] == self._stage:  # the same stage again: one entry
                seconds = round(stages.pop()[1] + seconds, 3)
            stages.append((self._stage, seconds))
        self._stage, self._stage_started = stage, now


def submission_id_from_env() -> str | None:
    """The Ray Jobs submission id when running as a Ray Job's entrypoint."""
    raw = os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR")
    if not raw:
        return None
    try:
        return json.loads(raw).get("metadata", {}).get("job_submission_id")
    except ValueError:
        return None


def run_spec(
    spec: ResourceSpec,
    *,
    name: str | None = None,
    settings: Settings | None = None,
    store: Store | None = None,
    base_dir: str | None = None,
    resume: bool = False,
    parent: str | None = None,
) -> JobRecord:
    """Run ``spec`` here and return its final record (SUCCEEDED, FAILED or STOPPED).

    ``resume=True`` takes over a FAILED or STOPPED job of the same name (training continues
    from its last checkpoint). ``parent`` names the tuning job this job is a trial of.

    Local files the spec names (relative to ``base_dir``, the spec file's folder) are first
    copied into the job's folder in the store, as a submitted job's are.
    Raises Conflict when the name belongs to another job, SpecError for a kind with no runner.
    Failures of the job itself do not raise: they are in the returned record.
    """
    from raymaker.jobs.staging import stage

    settings = settings or Settings.from_env()
    store = store or store_for_settings(settings)
    fn = runner_for(spec.kind)
    name = job_name(spec, name)
    record = _claim(store, name, spec, resume=resume, parent=parent)
    workdir = Path(tempfile.mkdtemp(prefix=f"raymaker-{name}-"))
    ctx = JobContext(name=name, store=store, settings=settings, workdir=workdir, record=record)
    if submission_id_from_env():  # a Ray job's driver: it must not outlive the cluster
        _die_with_the_cluster(store, record)
    with _LogCapture(store, name), _sigterm_stops():
        try:
            ctx.enter("staging")
            staged = stage(spec, store, name, base_dir)
            if staged is not spec:
                spec = staged
                record.spec = spec.model_dump(mode="json", exclude_defaults=True)
                store.write_text(layout.job_spec(name), dump_spec(spec))
            ctx.tracker = _track(spec, ctx)
            ctx.enter("running")  # until the kind names its own stages
            record.result = fn(spec, ctx) or {}
            record.status = JobStatus.SUCCEEDED
            if record.progress:
                record.progress["stage"] = "done"
        except JobStopped as exc:
            record.status, record.failure_reason = JobStatus.STOPPED, str(exc.args[0])
            record.result = getattr(exc, "result", None) or record.result  # what it kept
        except KeyboardInterrupt:
            record.status, record.failure_reason = JobStatus.STOPPED, "interrupted"
        except BaseException as exc:  # noqa: BLE001 - every failure is recorded
            record.status = JobStatus.FAILED
            if isinstance(exc, JobFailed):  # its traceback is already in the output
                record.failure_reason = str(exc.args[0])
                record.traceback = exc.traceback
            else:
                record.failure_reason = f"{type(exc).__name__}: {exc}"
                record.traceback = "".join(traceback.format_exception(exc))
                if isinstance(exc, RaymakerError):  # a clear error: its message says it all
                    record.error = type(exc).__name__
                print(record.traceback, file=sys.stderr, flush=True)
        finally:
            ctx.enter(None)
            record.stages = _named_stages(record.stages)
            record.peak_rss_mb = peak_rss_mb()
            record.ended_at = time.time()
            record.logs_uri = store.uri(layout.job_logs(name))
        if ctx.tracker is not None:  # inside the capture: its warnings are in the job's log
            record.tracking = _finish_tracking(ctx.tracker, record)
    write_record(store, record)
    with _WATCH_LOCK:
        _WATCHED.pop(name, None)
    _cleanup(workdir)
    return record


def _track(spec, ctx):
    """Start the job's MLflow run (in a thread) when its kind is tracked and tracking is on."""
    from raymaker.specs.base import Tracked

    if not (ctx.settings.mlflow and isinstance(spec, Tracked)):
        return None
    try:
        from raymaker.tracking.jobrun import JobRun

        return JobRun(
            ctx.settings, ctx.store, spec, job=ctx.name, parent_job=ctx.record.parent,
            previous=ctx.record.tracking,
        ).start()  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - tracking never fails a job
        print(f"warning: MLflow tracking is off for this job: {exc}", file=sys.stderr, flush=True)
        return None


def _finish_tracking(tracker, record: JobRecord) -> dict | None:
    try:
        return tracker.finish(record)
    except Exception as exc:  # noqa: BLE001 - tracking never fails a job
        print(f"warning: MLflow tracking: the run was not ended: {exc}", file=sys.stderr,
              flush=True)  # fmt: skip
        return tracker.info()


def _claim(
    store: Store, name: str, spec: ResourceSpec, *, resume: bool = False, parent=None
) -> JobRecord:
    """Take the PENDING record a client created, or create one. Raises Conflict."""
    submission_id = submission_id_from_env()
    try:
        record = read_record(store, name)
    except NotFound:
        record = None
    if record is not None:
        ours = record.status == JobStatus.PENDING and (
            record.submission_id in (None, submission_id)
        )
        resumable = resume and record.status in (JobStatus.FAILED, JobStatus.STOPPED)
        if resumable:
            record.attempts += 1
            record.ended_at = record.failure_reason = record.traceback = record.error = None
        if not (ours or resumable):
            raise Conflict(f"a job named {name!r} already exists ({record.status.value})")
        record.status = JobStatus.RUNNING
        record.started_at = time.time()
        submitted = record.submitted_at or record.created_at
        record.stages = [("queued", round(record.started_at - submitted, 3))] if ours else []
        record.submission_id = submission_id or record.submission_id
        record.host = socket.gethostname()
        write_record(store, record)
        return record
    record = JobRecord(
        name=name,
        kind=spec.kind,
        status=JobStatus.RUNNING,
        spec=spec.model_dump(mode="json", exclude_defaults=True),
        submission_id=submission_id,
        started_at=time.time(),
        host=socket.gethostname(),
        parent=parent,
    )
    create_record(store, record)  # claims the name first: nothing of another job is touched
    record.spec_uri = store.write_text(layout.job_spec(name), dump_spec(spec))
    return record


def _named_stages(stages: list) -> list:
    """``stages`` without the "running" placeholder when it only led into the kind's own
    stages (a moment of setup); kept when the kind names none, or took long before it did."""
    last = len(stages) - 1
    return [
        (k, v) for i, (k, v) in enumerate(stages) if not (k == "running" and v < 0.05 and i < last)
    ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process plus its largest waited-for child (a script, a
    pip install), in MiB (Linux reports KiB)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1 << 20)
    return round((own + children) * scale, 1)


def _cleanup(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


_STOPPING = threading.Event()  # SIGTERM came: Ray is stopping the job, not losing the head
ORPHAN_GRACE_S = 5.0
_WATCHED: dict[str, tuple[Store, JobRecord]] = {}  # the jobs this process runs now
_WATCH_LOCK = threading.Lock()
_watching = False  # the watcher thread runs


def _die_with_the_cluster(store: Store, record: JobRecord, poll_s: float = 1.0) -> None:
    """Watch this driver's parent (Ray's job supervisor): when it is gone, the cluster that
    ran the job is gone too (``ray stop`` does not kill drivers, which would run on with
    nothing to report to), or Ray is stopping the job. The main thread gets
    ``ORPHAN_GRACE_S`` to record how the job ended; then each job still running here is
    recorded FAILED (STOPPED when a stop was asked) and the driver exits. The user's script,
    started with a parent-death signal, goes with it. One watcher a process, however many
    jobs it runs in turn (a tuning job's trials)."""
    global _watching
    with _WATCH_LOCK:
        _WATCHED[record.name] = (store, record)
        if _watching:
            return
        _watching = True
    parent = os.getppid()

    def unfinished() -> list[tuple[Store, JobRecord]]:
        out = []
        with _WATCH_LOCK:
            watched = list(_WATCHED.values())
        for store_, rec in watched:
            with contextlib.suppress(Exception):  # the store may be gone as well
                current = read_record(store_, rec.name)
                if not current.status.terminal:
                    out.append((store_, current))
        return out

    def watch():
        while os.getppid() == parent:
            time.sleep(poll_s)
        deadline = time.monotonic() + ORPHAN_GRACE_S
        while unfinished() and time.monotonic() < deadline:
            time.sleep(0.1)  # the main thread may be recording the end right now
        for store_, gone in unfinished():
            gone.ended_at = time.time()
            if _STOPPING.is_set():
                gone.status, gone.failure_reason = JobStatus.STOPPED, "the job was stopped"
            else:
                gone.status, gone.failure_reason = JobStatus.FAILED, CLUSTER_GONE
            with contextlib.suppress(Exception):
                write_record(store_, gone)
        os._exit(1)

    threading.Thread(target=watch, name="raymaker-orphan-watch", daemon=True).start()


@contextmanager
def _sigterm_stops():
    """Turn SIGTERM (what Ray's ``stop`` sends) into JobStopped in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _STOPPING.set()
        raise JobStopped("the job was stopped")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Tee:
    """A text stream that writes to the original stream and to a log file."""

    def __init__(self, original, log, lock):
        self._original, self._log, self._lock = original, log, lock

    def write(self, text: str) -> int:
        with self._lock:
            self._log.write(text)
        return self._original.write(text)

    def flush(self) -> None:
        with self._lock:
            self._log.flush()
        self._original.flush()

    def __getattr__(self, name):
        return getattr(self._original, name)


class _LogCapture:
    """Tee stdout/stderr to a file and save it as ``jobs/<name>/logs.txt`` every few seconds."""

    interval_s = 5.0

    def __init__(self, store: Store, name: str):
        self.store, self.key = store, layout.job_logs(name)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._saved_size = -1

    def __enter__(self):
        self._file = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self._streams = sys.stdout, sys.stderr
        sys.stdout = _Tee(sys.stdout, self._file, self._lock)
        sys.stderr = _Tee(sys.stderr, self._file, self._lock)
        self._thread = threading.Thread(target=self._loop, name="raymaker-logs", daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self.upload()

    def upload(self) -> None:
        with self._lock:
            self._file.flush()
            size = self._file.tell()
            if size == self._saved_size:
                return
            self._saved_size = size
        with open(self._file.name, "rb") as f:
            data = f.read()
        try:
            self.store.write_bytes(self.key, data)
        except Exception as exc:  # noqa: BLE001 - losing a log upload must not fail the job
            print(f"raymaker: could not save logs: {exc}", file=self._streams[1])

    def __exit__(self, *exc):
        self._stop.set()
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = self._streams
        self._thread.join(timeout=1)
        self.upload()
        self._file.close()
        os.unlink(self._file.name)
        return False
