"""Where Ray is: the embedded local head, remote addresses and Ray's auth token.

No Ray import here: the local head is started with the ``ray`` command in its own process
group (so ``down`` stops exactly what ``up`` started), and its address is kept in
``$RAYMAKER_HOME/cluster.json`` so every CLI call and Python session shares one warm cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from raymaker.errors import ClusterError
from raymaker.settings import Settings

LOOPBACK = "127.0.0.1"


# -- Ray's auth token -------------------------------------------------------------------------
def default_token_path() -> Path:
    return Path.home() / ".ray" / "auth_token"


def load_token() -> str | None:
    """Ray's auth token from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or default_token_path()).expanduser()
    try:
        token = path.read_text().strip()
    except OSError:
        return None
    return token or None


def ensure_token() -> str:
    """Return Ray's auth token, generating ~/.ray/auth_token (mode 0600) if there is none."""
    token = load_token()
    if token:
        return token
    path = default_token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def auth_headers(dashboard_url: str) -> dict[str, str]:
    """The Authorization header for ``dashboard_url``, when a token should be sent there.

    The token goes to loopback heads, and elsewhere only where RAY_AUTH_MODE=token says the
    user means it: a local token is never sent to an arbitrary remote address.
    """
    token = load_token()
    if not token:
        return {}
    if is_loopback(dashboard_url) or os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return {"Authorization": f"Bearer {token}"}
    return {}


# -- the embedded local head ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _ray_command() -> str:
    candidate = Path(sys.executable).parent / "ray"
    found = str(candidate) if candidate.exists() else shutil.which("ray")
    if not found:
        raise ClusterError("the `ray` command is not installed; pip install 'ray[default]'")
    return found


def ping(dashboard_url: str, timeout: float = 2.0) -> bool:
    """True when a Ray dashboard answers at ``dashboard_url``."""
    req = urllib.request.Request(
        f"{dashboard_url}/api/version", headers=auth_headers(dashboard_url)
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalCluster:
    """The embedded default: one Ray head on loopback, shared by all raymaker processes."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.home = self.settings.home
        self.state_path = self.home / "cluster.json"
        self.log_path = self.home / "cluster.log"

    def info(self) -> dict | None:
        """The running head's state (``dashboard_url``, ``gcs_address``, ...), else None."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None
        if not _alive(state.get("pid")) or not ping(state["dashboard_url"]):
            return None
        return state

    @contextlib.contextmanager
    def _lock(self):
        import fcntl

        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "cluster.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def up(self, *, timeout: float = 120.0) -> tuple[dict, bool]:
        """Start the head unless it runs. Returns (state, started_now). Raises ClusterError."""
        with self._lock():
            state = self.info()
            if state:
                return state, False
            return self._start(timeout), True

    def _start(self, timeout: float) -> dict:
        ensure_token()
        gcs_port, dash_port, agent_port = _free_port(), _free_port(), _free_port()
        num_cpus = self.settings.num_cpus
        cmd = [
            _ray_command(), "start", "--head", "--block",
            f"--node-ip-address={LOOPBACK}", f"--port={gcs_port}",
            "--include-dashboard=true", f"--dashboard-host={LOOPBACK}",
            f"--dashboard-port={dash_port}", f"--dashboard-agent-listen-port={agent_port}",
            f"--num-cpus={num_cpus}",
            f"--object-store-memory={self.settings.object_store_mb << 20}",
            "--disable-usage-stats",
        ]  # fmt: skip
        # The head and its jobs' drivers keep their logs whatever this process prints.
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAYMAKER_QUIET")}
        env.update(RAY_AUTH_MODE="token", RAY_USAGE_STATS_ENABLED="0")
        # Jobs find this environment's `raymaker` first (and skip shims such as pyenv's).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(self.settings.job_env())
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, cwd=str(self.home),
            )  # fmt: skip
        url = f"http://{LOOPBACK}:{dash_port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ClusterError(
                    f"`ray start` exited with {proc.returncode}:\n{self._log_tail()}"
                )
            ready = ping(url, timeout=1.0) and _jobs_api_ready(url)
            if ready and _answers(f"http://{LOOPBACK}:{agent_port}/api/healthz"):
                state = {
                    "dashboard_url": url,
                    "gcs_address": f"{LOOPBACK}:{gcs_port}",
                    "pid": proc.pid,
                    "num_cpus": num_cpus,
                    "started_at": time.time(),
                }
                self.state_path.write_text(json.dumps(state, indent=2))
                return state
            time.sleep(0.2)
        _killpg(proc.pid)
        raise ClusterError(
            f"the local Ray head did not start in {timeout:.0f} s:\n{self._log_tail()}"
        )

    def down(self, grace_s: float = 5.0) -> bool:
        """Stop the head started by ``up``: its running jobs first, then its processes.

        Ray drains a node for up to 30 s on SIGTERM; after ``grace_s`` the rest is killed
        (job records live in the store, so nothing of raymaker's is lost).
        Returns False if none was running.
        """
        with self._lock():
            try:
                state = json.loads(self.state_path.read_text())
            except (OSError, ValueError):
                return False
            pid = state.get("pid")
            stopped = _alive(pid)
            if stopped:
                _stop_running_jobs(state["dashboard_url"])
                # Ray starts its workers (detached actors among them) in process groups of
                # their own: found now, they are killed with the head, not left running on
                # their own against the store after `down`
                workers = _descendants(pid)
                _killpg(pid, timeout=grace_s)
                _kill_all(workers)
            _forget_current_cluster(state.get("gcs_address", ""))
            self.state_path.unlink(missing_ok=True)
            return stopped

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _jobs_api_ready(url: str) -> bool:
    req = urllib.request.Request(f"{url}/api/jobs/", headers=auth_headers(url))
    try:
        with urllib.request.urlopen(req, timeout=2.0) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _forget_current_cluster(gcs_address: str) -> None:
    """Remove Ray's "current cluster" pointer when it names the head we stopped.

    ``ray stop`` does this; killing the processes does not, and a stale pointer makes a later
    plain ``ray.init()`` try to join a dead cluster.
    """
    pointer = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
    port = gcs_address.rpartition(":")[2]
    try:
        if port and pointer.read_text().strip().rpartition(":")[2] == port:
            pointer.unlink()
    except OSError:
        pass


def _stop_running_jobs(url: str, wait_s: float = 5.0) -> None:
    """Ask Ray to stop the head's unfinished jobs, so their drivers do not outlive it."""
    from raymaker.cluster.rest import TERMINAL, RayJobsApi

    api = RayJobsApi(url, headers=auth_headers(url), timeout=5.0)
    try:
        live = [j["submission_id"] for j in api.list() if j.get("status") not in TERMINAL]
        for sid in live:
            api.stop(sid)
        deadline = time.monotonic() + wait_s
        while live and time.monotonic() < deadline:
            live = [sid for sid in live if api.status(sid) not in TERMINAL]
            time.sleep(0.2)
    except Exception:  # noqa: BLE001 - best effort: the processes are killed next anyway
        pass
    finally:
        api.close()


def _answers(url: str) -> bool:
    """True when an HTTP server answers at ``url`` (any status): the job agent is up."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _killpg(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM the process group of ``pid``, then SIGKILL what is left after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not _group_alive(pid):
                return
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _any_live_member(pgid)


def _processes() -> dict[int, tuple[int, int]]:
    """``{pid: (ppid, pgid)}`` of every live process (from /proc)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            out[int(entry)] = (int(fields[1]), int(fields[2]))
    return out


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for child, (parent, _) in _processes().items():
        children.setdefault(parent, []).append(child)
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _kill_all(pids: list[int]) -> None:
    """SIGKILL the processes of ``pids`` still alive (a pid reused since is not ours: only
    those still in the process table at once are signalled, as the head's tree was)."""
    alive = _processes()
    for p in pids:
        if p in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)


def _any_live_member(pgid: int) -> bool:
    return any(group == pgid for _, group in _processes().values())


# -- address resolution -----------------------------------------------------------------------
def dashboard_url(settings: Settings, *, start: bool = True) -> str:
    """The Ray Jobs (dashboard) URL: RAY_ADDRESS, else the local head (started if asked).

    Raises ClusterError when no cluster is reachable.
    """
    address = settings.ray_address
    if address:
        if address.startswith(("http://", "https://")):
            return address.rstrip("/")
        return _dashboard_from_gcs(address)
    cluster = LocalCluster(settings)
    state = cluster.info()
    if state is None:
        if not start:
            raise ClusterError(
                "no local Ray cluster is running; start one with `raymaker cluster up`"
            )
        state, _ = cluster.up()
    return state["dashboard_url"]


def _dashboard_from_gcs(address: str) -> str:
    """Ask Ray for the dashboard of a GCS address (``host:port`` or ``auto``)."""
    try:  # the dashboard's address as the GCS records it (not the GCS address itself)
        from ray.dashboard.utils import ray_address_to_api_server_url
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise ClusterError(f"cannot resolve RAY_ADDRESS={address!r}: {exc}") from exc
    try:
        return ray_address_to_api_server_url(address).rstrip("/")
    except Exception as exc:
        raise ClusterError(
            f"cannot reach the Ray cluster at RAY_ADDRESS={address!r}: {exc}"
        ) from exc


def gcs_address(settings: Settings) -> str | None:
    """The address for ``ray.init``: RAY_ADDRESS (if not a URL), or the local head, or None."""
    address = settings.ray_address
    if address and not address.startswith(("http://", "https://")):
        return address
    state = LocalCluster(settings).info()
    if state and (not address or address.rstrip("/") == state["dashboard_url"]):
        return state["gcs_address"]
    return "auto" if address else None
