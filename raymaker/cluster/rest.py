"""A small client for Ray's Jobs REST API (no Ray import: the CLI stays fast).

It speaks the documented endpoints (``/api/jobs/``) over one keep-alive connection, which is
what makes 50 ms status polling cheap.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import quote, urlsplit

from raymaker.errors import AuthError, ClusterError, NotFound, RaymakerError

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class RayJobsApi:
    """Submit, inspect and stop Ray Jobs at one dashboard URL."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClusterError(f"not a Ray dashboard URL: {url!r}")
        self.url = url.rstrip("/")
        self._parts = parts
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self._parts.hostname, self._parts.port, timeout=self._timeout)
        return self._conn

    def _request(self, method: str, path: str, body: dict | None = None):
        payload = json.dumps(body).encode() if body is not None else None
        full = f"{self._parts.path.rstrip('/')}{path}"
        with self._lock:
            for attempt in (0, 1):  # a kept-alive connection may have been closed by the server
                conn = self._connection()
                try:
                    conn.request(method, full, body=payload, headers=self._headers)
                    resp = conn.getresponse()
                    status, data = resp.status, resp.read()
                    break
                except (ConnectionError, http.client.HTTPException, OSError) as exc:
                    self.close()
                    if attempt:
                        raise ClusterError(f"cannot reach Ray at {self.url}: {exc}") from exc
        text = data.decode("utf-8", errors="replace")
        if status in (401, 403):
            raise AuthError(
                f"Ray at {self.url} refused the request ({status}): {text.strip()}. "
                "Set RAY_AUTH_TOKEN (or RAY_AUTH_MODE=token with ~/.ray/auth_token)."
            )
        if status == 404:
            raise NotFound(text.strip() or f"{path} not found at {self.url}")
        if status >= 400:
            raise RaymakerError(f"Ray Jobs API {method} {path} answered {status}: {text.strip()}")
        try:
            return json.loads(text) if text else None
        except ValueError:
            return text

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the endpoints ----------------------------------------------------------------------
    def version(self) -> dict:
        return self._request("GET", "/api/version")

    def submit(
        self,
        entrypoint: str,
        *,
        submission_id: str,
        runtime_env: dict | None = None,
        metadata: dict | None = None,
        entrypoint_num_cpus: float | None = None,
        entrypoint_num_gpus: float | None = None,
        agent_wait_s: float = 60.0,
    ) -> str:
        """Submit a job; returns its submission id."""
        body = {"entrypoint": entrypoint, "submission_id": submission_id}
        if runtime_env:
            body["runtime_env"] = runtime_env
        if metadata:
            body["metadata"] = metadata
        if entrypoint_num_cpus:
            body["entrypoint_num_cpus"] = entrypoint_num_cpus
        if entrypoint_num_gpus:
            body["entrypoint_num_gpus"] = entrypoint_num_gpus
        deadline = time.monotonic() + agent_wait_s
        while True:
            try:
                return self._request("POST", "/api/jobs/", body)["submission_id"]
            except RaymakerError as exc:
                # A head that has just started answers 500 until its job agent registers.
                if "No available agent" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def details(self, submission_id: str) -> dict:
        """The job's details (``status``, ``message``, ``start_time``, ...). Raises NotFound."""
        return self._request("GET", f"/api/jobs/{quote(submission_id)}")

    def status(self, submission_id: str) -> str:
        return self.details(submission_id)["status"]

    def logs(self, submission_id: str) -> str:
        return self._request("GET", f"/api/jobs/{quote(submission_id)}/logs")["logs"]

    def stop(self, submission_id: str) -> bool:
        return bool(self._request("POST", f"/api/jobs/{quote(submission_id)}/stop")["stopped"])

    def list(self) -> list[dict]:
        return self._request("GET", "/api/jobs/")

    def cluster_status(self) -> str:
        """Ray's summary of nodes, resources and demands (what ``ray status`` prints)."""
        answer = self._request("GET", "/api/cluster_status?format=1")
        return ((answer or {}).get("data") or {}).get("clusterStatus") or ""
