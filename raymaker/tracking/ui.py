"""MLflow's own UI and server on the configured tracking store: ``raymaker experiments ui``.

It listens on loopback unless told otherwise; beyond loopback a token is required, as for
every raymaker server: MLflow's ``basic-auth`` app then asks for user ``admin`` with the token
as its password (the browser prompts; clients set ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``). The UI's pages ship in the full ``mlflow`` package
(``pip install "raymaker[mlflow]"``); ``mlflow-skinny``, raymaker's dependency, tracks
without them.
"""

from __future__ import annotations

import os
import sys

from raymaker.errors import MissingDependency, SpecError
from raymaker.settings import LOOPBACK


def has_ui() -> bool:
    """Whether MLflow's UI pages are installed (the full ``mlflow`` package)."""
    import importlib.util

    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.origin:
        return False
    return os.path.isfile(
        os.path.join(os.path.dirname(spec.origin), "server", "js", "build", "index.html")
    )


def command(uri: str, *, host: str, port: int, token: str | None, home: str,
            artifact_root: str | None = None) -> tuple[list[str], dict[str, str]]:  # fmt: skip
    """The ``mlflow server`` command line and environment. Raises SpecError (beyond loopback
    without a token), MissingDependency (no UI pages)."""
    if host not in LOOPBACK and not token:
        raise SpecError(
            f"--host {host} listens beyond loopback: give --token (or RAYMAKER_MLFLOW_UI_TOKEN); "
            "the UI then asks for user 'admin' with the token as its password"
        )
    if host not in LOOPBACK and len(token) < 12:
        raise SpecError("--token must have at least 12 characters (MLflow's rule for admin)")
    if not has_ui():
        raise MissingDependency(
            "MLflow's UI pages ship in the full mlflow package: pip install 'raymaker[mlflow]' "
            "(raymaker itself depends on mlflow-skinny, which tracks without them)"
        )
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
            "--host", host, "--port", str(port), "--workers", "1"]  # fmt: skip
    if artifact_root:
        argv += ["--artifacts-destination", artifact_root]
    env = {**os.environ}
    if host not in LOOPBACK:
        argv += ["--app-name", "basic-auth", "--allowed-hosts", "*"]
        env["MLFLOW_AUTH_CONFIG_PATH"] = _auth_config(home, token)
        env.setdefault("MLFLOW_FLASK_SERVER_SECRET_KEY", _secret(home))  # its CSRF key
    return argv, env


def _secret(home: str) -> str:
    """A random key kept in home (0600), the same at every start."""
    import secrets

    path = os.path.join(home, "mlflow-ui.key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def _auth_config(home: str, token: str) -> str:
    """MLflow's basic-auth settings: admin's password is the token; nobody else can read."""
    os.makedirs(home, exist_ok=True)
    path = os.path.join(home, "mlflow-auth.ini")
    import hashlib

    # MLflow keeps admin's password in its database from the first start: one a token
    db = os.path.join(home, f"mlflow-auth-{hashlib.sha256(token.encode()).hexdigest()[:12]}.db")
    text = (
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{db}\n"
        "admin_username = admin\n"
        f"admin_password = {token}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path
