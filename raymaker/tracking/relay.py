"""The tracking relay: one warm process a machine that does every MLflow call for the jobs
there, so a job's driver never imports MLflow (~2 s of CPU a job otherwise).

A job hands its run over as a ledger in the store (``mlflow/spool/<job>.json``, ``live``);
the relay creates the run (writing ``jobs/<job>/mlflow-run.json``, which a script's
environment waits for), moves the job's new metric points from its series into it every
``TICK_S``, and when the job writes its end (``<job>.end.json``) sends the inputs, model, tags
and status, then writes ``ended`` into the run info, which the job waits for. Spooled ledgers
of jobs that ended while their tracking server was away are replayed on the way.

The first tracked job on a machine starts it (detached, in its own session) and tracks itself
in a thread; it exits after ``IDLE_EXIT_S`` with nothing to do. Its heartbeat
(``mlflow/relay/<host>.json``) tells jobs it is there.

    python -m raymaker.tracking.relay     # what a job starts (settings from RAYMAKER_*)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

from raymaker.storage import layout
from raymaker.tracking import ledger as lg

TICK_S = 0.25  # new runs and ended jobs are seen this fast
SEND_S = 2.0  # a running job's new metric points are sent this often (one batch)
FRESH_S = 3.0  # a heartbeat older than this: no relay
IDLE_EXIT_S = 180.0
STARTING_S = 30.0  # a relay starting (importing MLflow) for this long is not started again


def heartbeat_key(host: str | None = None) -> str:
    return f"{layout.MLFLOW}/relay/{host or socket.gethostname()}.json"


def end_key(job: str) -> str:
    return f"{layout.MLFLOW}/spool/{job}.end.json"


def alive(store) -> bool:
    """Whether this machine's relay for ``store`` beats."""
    try:
        beat = store.read_json(heartbeat_key())
    except Exception:  # noqa: BLE001 - none yet
        return False
    if time.time() - beat.get("time", 0) > FRESH_S:
        return False
    if beat.get("host", socket.gethostname()) != socket.gethostname():
        return False
    return _running(beat.get("pid"))


def _running(pid) -> bool:
    """Whether process ``pid`` runs here (a zombie, unreaped in a container, does not)."""
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: kill(0) said it exists


def spawn(store, env: dict[str, str]) -> None:
    """Start this machine's relay, detached (it outlives the job that starts it), unless
    another job started one in the last ``STARTING_S`` (it is importing MLflow)."""
    from raymaker.errors import Conflict

    claim = heartbeat_key() + ".starting"
    try:
        store.create_json(claim, {"time": time.time()})
    except Conflict:
        try:
            if time.time() - store.read_json(claim).get("time", 0) < STARTING_S:
                return
        except Exception:  # noqa: BLE001 - removed meanwhile: the relay beats
            return
        store.write_json(claim, {"time": time.time()})
    log = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"raymaker-mlflow-relay-{os.getuid()}.log")
    with open(log, "ab") as sink:
        subprocess.Popen(
            [sys.executable, "-m", "raymaker.tracking.relay"], env=env, stdin=subprocess.DEVNULL,
            stdout=sink, stderr=sink, start_new_session=True, close_fds=True,
        )  # fmt: skip


def serve(store) -> None:
    """The relay's loop: beat, send, exit when idle (or when another relay beats)."""
    host, pid = socket.gethostname(), os.getpid()
    if alive(store):
        return
    store.write_json(heartbeat_key(host), {"pid": pid, "time": time.time(), "host": host})
    store.delete(heartbeat_key(host) + ".starting")
    last_work = time.monotonic()
    beat_at = 0.0
    while True:
        now = time.time()
        if now - beat_at > 1.0:
            current = store.read_json(heartbeat_key(host))
            if current.get("pid") != pid and now - current.get("time", 0) < FRESH_S:
                return  # another relay took over
            store.write_json(heartbeat_key(host), {"pid": pid, "time": now, "host": host})
            beat_at = now
        if tick(store):  # a live job, or something sent
            last_work = time.monotonic()
        elif time.monotonic() - last_work > IDLE_EXIT_S:
            store.delete(heartbeat_key(host))
            return
        time.sleep(TICK_S)


_ERRORS: dict[str, str] = {}  # the last error of each ledger, said once
_SENT: dict[str, float] = {}  # when each ledger was last sent


def tick(store) -> bool:
    """One pass over the spool; returns whether a job is live or anything was sent."""
    keys = [k for k in store.list(layout.mlflow_spool()) if k.endswith(".json")]
    busy = False
    for key in (k for k in keys if not k.endswith(".end.json")):
        try:
            busy = step(store, key) or busy
        except Exception as exc:  # noqa: BLE001 - one bad ledger never stops the others
            text = f"{type(exc).__name__}: {exc}"
            if _ERRORS.get(key) != text:
                _ERRORS[key] = text
                print(f"relay: {key}: {text}", file=sys.stderr, flush=True)
    return busy


def step(store, key: str) -> bool:
    """Move one ledger on; returns whether its job is live or something was sent."""
    job = key.rsplit("/", 1)[-1][: -len(".json")]
    ended = store.exists(end_key(job))
    if not ended and time.monotonic() - _SENT.get(key, -SEND_S) < SEND_S:
        return True  # a running job's points wait for the next batch
    _SENT[key] = time.monotonic()
    ledger = store.read_json(key)
    if ledger.get("live"):
        lg.take_metrics(ledger, store)
        if ended:
            ledger.update(_end_fields(store.read_json(end_key(job)), ledger))
            ledger["live"] = False
    had_run = ledger.get("run_id")
    try:
        lg.flush(ledger, store)
    except lg.Unreachable as exc:
        store.write_json(key, ledger)
        if not ledger.get("run_id") and "does not exist yet" not in str(exc):
            # the job's script must not wait for a run that cannot be made now
            store.write_json(lg.run_info_key(job), {**lg.run_info(ledger), "error": str(exc)})
        return bool(ledger.get("live"))
    except Exception as exc:  # MLflow refused: the job's log says why (its run info)
        store.write_json(lg.run_info_key(job), {**lg.run_info(ledger), "error": f"{exc}"[:2000]})
        raise
    finally:
        if ledger.get("run_id") and not had_run:
            store.write_json(lg.run_info_key(job), lg.run_info(ledger))
    if _ERRORS.pop(key, None):
        store.write_json(lg.run_info_key(job), lg.run_info(ledger))  # no error any more
    if ledger.get("live"):
        store.write_json(key, ledger)
        return True
    store.write_json(lg.run_info_key(job), {**lg.run_info(ledger), "ended": True,
                                            "warnings": ledger["warnings"]})  # fmt: skip
    store.delete(key)
    store.delete(end_key(job))
    _SENT.pop(key, None)
    return True


def _end_fields(end: dict, ledger: dict) -> dict:
    """The end a job wrote, its final metrics after the points the relay already took."""
    logged = set(ledger.get("logged", ()))
    finals = [p for p in end.get("final_metrics", []) if p["name"] not in logged]
    return {
        "metrics": ledger["metrics"] + finals,
        "inputs": end.get("inputs", []),
        "end_tags": end.get("end_tags", {}),
        "model": end.get("model"),
        "status": end.get("status"),
        "end_time": end.get("end_time"),
        "warnings": ledger["warnings"] + end.get("warnings", []),
    }


def main() -> None:
    from raymaker.settings import Settings
    from raymaker.storage import store_for_settings
    from raymaker.tracking.client import quiet_mlflow, use_s3_endpoint

    with contextlib.suppress(OSError):
        os.nice(5)  # training on this machine comes first
    quiet_mlflow()
    settings = Settings.from_env()
    use_s3_endpoint(settings)
    # warm before the first beat: jobs hand over only to a relay that answers at once
    import mlflow.pyfunc  # noqa: F401
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    from mlflow.tracking import MlflowClient  # noqa: F401

    serve(store_for_settings(settings))


if __name__ == "__main__":
    main()
