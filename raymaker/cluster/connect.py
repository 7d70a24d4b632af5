"""Connect this process to Ray: ``RAY_ADDRESS``, else the local head, else an embedded Ray.

Every engine that needs Ray in its process (a job's driver, the endpoints' control plane, a
profile on Ray Data) calls ``connect(settings)``; the SDK's ``Session.connect`` is the same
call. The local head has Ray's token auth on, so this turns it on for the process too.
"""

from __future__ import annotations

import contextlib
import os

from raymaker.errors import ClusterError
from raymaker.settings import Settings


def connect(settings: Settings | None = None) -> None:
    """Join Ray once per process (a no-op when already connected). Raises ClusterError."""
    import ray

    if ray.is_initialized():
        return
    from raymaker.cluster.local import gcs_address

    settings = settings or Settings.from_env()
    address = gcs_address(settings)
    if address not in (None, "auto"):
        _check_reachable(address)
    if settings.quiet:
        _quiet_loggers()
    with _keep_sigterm_handler():
        _init(settings, address)


def _quiet_loggers() -> None:
    """Ray's, Serve's and Ray Data's loggers print INFO lines to stderr; a quiet process shows
    none. Ray Data reads RAY_DATA_LOG_LEVEL when imported (its errors repeat the task's
    traceback, which the caller reports itself)."""
    import logging

    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "CRITICAL")
    # Serve and Data set their loggers' levels when imported, after this: below ERROR, no
    # logging call of this process prints (what a quiet process tells the user, it echoes).
    logging.disable(logging.WARNING)


@contextlib.contextmanager
def _keep_sigterm_handler():
    """``ray.init`` in a main thread replaces the SIGTERM handler with one that exits; a job
    runner's own handler (SIGTERM: record STOPPED) must stay in place."""
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if main and callable(previous):
            signal.signal(signal.SIGTERM, previous)


def _init(settings: Settings, address: str | None) -> None:
    import ray

    try:
        if address is not None:
            if address.startswith("127.0.0.1:") and "RAY_AUTH_MODE" not in os.environ:
                _enable_ray_token_auth()  # the local head has token auth on
            ray.init(
                address=address,
                logging_level="ERROR" if settings.quiet else "WARNING",
                log_to_driver=not settings.quiet,  # a job's driver shows its workers' output
            )
        else:
            ray.init(
                address="local",  # a new embedded instance, never a stale pointer's
                num_cpus=settings.num_cpus,
                object_store_memory=settings.object_store_mb << 20,
                include_dashboard=False,
                logging_level="ERROR" if settings.quiet else "WARNING",
                log_to_driver=not settings.quiet,
            )
    except (Exception, SystemExit) as exc:  # ray raises ConnectionError, exits, ...
        raise ClusterError(f"cannot start or reach Ray ({address or 'embedded'}): {exc}") from exc
    if settings.quiet:
        _drop_raylet_messages()


def _drop_raylet_messages() -> None:
    """Ray's driver prints the raylet's messages ("Task ... failed. There are infinite retries
    remaining ...", a worker died) to stdout, with ANSI colours, whatever ``log_to_driver``
    says; a quiet process drops them (``--verbose`` keeps them). Ray retries the task either
    way; a failure that sticks still reaches the caller as an exception."""
    try:
        from ray._private import worker as ray_worker
    except ImportError:  # pragma: no cover - ray is a dependency
        return
    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "raymaker_quiet", False):
        return

    def quiet(data, ignore_prefix=False, *args, **kwargs):
        if isinstance(data, dict) and data.get("pid") == "raylet":
            return None
        return original(data, ignore_prefix, *args, **kwargs)

    quiet.raymaker_quiet = True
    ray_worker.print_to_stdstream = quiet


def _enable_ray_token_auth() -> None:
    """Turn on Ray token auth in this process, also after ``import ray``.

    Ray reads RAY_AUTH_MODE into its config at import; its own helper refreshes that config.
    """
    os.environ["RAY_AUTH_MODE"] = "token"
    try:
        from ray._private.authentication.authentication_token_setup import _enable_token_auth
    except ImportError:  # pragma: no cover - older/newer Ray: the env var must do
        return
    _enable_token_auth()


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail fast (ClusterError) when nothing listens at ``host:port``: ray.init would retry
    for minutes before giving up."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach Ray at {address}: {exc}") from None
