"""The one exception tree of raymaker.

Every failure a user can see is one of these, so the Python client, the CLI and (later) the
HTTP servers report it the same way: each class carries an HTTP status and a CLI exit code.

    RaymakerError (Exception)                 500  exit 1
    ├── SpecError (ValueError)                400  exit 2   a spec or argument is invalid
    │   └── InvalidKey                        400  exit 2   a store key/URI escapes the root
    ├── NotFound (LookupError)                404  exit 3
    ├── Conflict                              409  exit 4   a name is taken
    ├── AuthError (PermissionError)           401  exit 5
    │   └── Forbidden                         403  exit 5   a token whose roles do not allow it
    ├── MissingDependency (ImportError)       501  exit 6   an optional package is absent
    ├── JobFailed                             500  exit 7   carries the remote traceback
    │   └── JobStopped                        500  exit 7
    ├── WaitTimeout (TimeoutError)            504  exit 8
    ├── ClusterError (ConnectionError)        503  exit 9   Ray cannot be reached/started
    ├── DataError (ValueError)                422  exit 10  data is malformed or empty
    └── NotSupported (NotImplementedError)    501  exit 11  a SageMaker name raymaker refuses

    RaymakerNotice (UserWarning)              a one-line notice (``warnings``), not an error
"""

from __future__ import annotations


class RaymakerError(Exception):
    """Base of every raymaker error."""

    http_status = 500
    exit_code = 1

    def to_dict(self) -> dict:
        """A JSON-able description: ``{"error": class name, "message": ..., ...}``."""
        return {"error": type(self).__name__, "message": str(self)}


class SpecError(RaymakerError, ValueError):
    """A spec, argument or request is invalid; the message names the field."""

    http_status = 400
    exit_code = 2


class InvalidKey(SpecError):
    """A store key or URI that would escape the store root."""


class NotFound(RaymakerError, LookupError):
    """A named resource (job, object, model, endpoint) does not exist."""

    http_status = 404
    exit_code = 3

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else ""


class Conflict(RaymakerError):
    """A resource with that name already exists."""

    http_status = 409
    exit_code = 4


class AuthError(RaymakerError, PermissionError):
    """Missing or wrong credentials (a Ray token, an endpoint token)."""

    http_status = 401
    exit_code = 5


class Forbidden(AuthError):
    """Credentials that are right but whose roles do not allow the action."""

    http_status = 403


class MissingDependency(RaymakerError, ImportError):
    """An optional package needed for this feature is not installed."""

    http_status = 501
    exit_code = 6

    @classmethod
    def for_package(cls, package: str, feature: str, extra: str | None = None):
        """The error for ``package`` missing while using ``feature``."""
        hint = f"pip install 'raymaker[{extra}]'" if extra else f"pip install {package}"
        return cls(f"{feature} needs the package {package!r}; install it with: {hint}")


class NotSupported(RaymakerError, NotImplementedError):
    """A SageMaker SDK name raymaker does not do; the message says why (``sagemaker.surface``)."""

    http_status = 501
    exit_code = 11


class JobFailed(RaymakerError):
    """A job ended in failure. ``traceback`` holds the remote (user's) traceback."""

    exit_code = 7

    def __init__(self, message: str, *, job_name: str | None = None, traceback: str | None = None):
        super().__init__(message)
        self.job_name = job_name
        self.traceback = traceback

    def __reduce__(self):  # keeps the traceback across processes (Ray workers)
        return (_rebuild_job_failed, (type(self), self.args[0], self.job_name, self.traceback))

    def __str__(self) -> str:
        text = self.args[0]
        if self.traceback:
            text = f"{text}\n\n{self.traceback.rstrip()}"
        return text

    def to_dict(self) -> dict:
        return {
            "error": type(self).__name__,
            "message": self.args[0],
            "job_name": self.job_name,
            "traceback": self.traceback,
        }


class JobStopped(JobFailed):
    """A job was stopped before it finished."""


class WaitTimeout(RaymakerError, TimeoutError):
    """``wait(timeout)`` ran out before the resource reached a final state."""

    http_status = 504
    exit_code = 8


class ClusterError(RaymakerError, ConnectionError):
    """Ray cannot be reached or started."""

    http_status = 503
    exit_code = 9


class DataError(RaymakerError, ValueError):
    """Input data is malformed (names the file and line) or empty."""

    http_status = 422
    exit_code = 10


__all__ = [
    "AuthError",
    "ClusterError",
    "Conflict",
    "DataError",
    "Forbidden",
    "InvalidKey",
    "JobFailed",
    "JobStopped",
    "MissingDependency",
    "NotFound",
    "NotSupported",
    "RaymakerError",
    "SpecError",
    "WaitTimeout",
]


def _rebuild_job_failed(cls, message, job_name, traceback):
    return cls(message, job_name=job_name, traceback=traceback)


def user_message(exc: BaseException) -> str:
    """What to tell a user about ``exc``: the error a Ray wrapper carries (Ray keeps a task's
    original exception as ``cause``; its own text holds Ray's traceback), without the retry
    advice Ray Data appends to a failed read's message."""
    import re

    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        cause = getattr(exc, "cause", None)
        if not isinstance(cause, BaseException):
            break
        exc = cause
    text = str(exc)
    ray_note = re.search(r"\nFailed to [^\n]* after \d+/\d+ attempts \(total backoff", text)
    return text[: ray_note.start()] if ray_note else text


class RaymakerNotice(UserWarning):
    """Something the user asked for is done differently here (e.g. an ``ml.*`` instance type
    fitted to a laptop); printed once per place by Python's ``warnings``."""
