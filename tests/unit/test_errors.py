import pytest

from raymaker import errors


@pytest.mark.parametrize(
    ("cls", "base", "status", "code"),
    [
        (errors.SpecError, ValueError, 400, 2),
        (errors.InvalidKey, ValueError, 400, 2),
        (errors.NotFound, LookupError, 404, 3),
        (errors.Conflict, errors.RaymakerError, 409, 4),
        (errors.AuthError, PermissionError, 401, 5),
        (errors.Forbidden, errors.AuthError, 403, 5),
        (errors.MissingDependency, ImportError, 501, 6),
        (errors.JobFailed, errors.RaymakerError, 500, 7),
        (errors.JobStopped, errors.JobFailed, 500, 7),
        (errors.WaitTimeout, TimeoutError, 504, 8),
        (errors.ClusterError, ConnectionError, 503, 9),
        (errors.DataError, ValueError, 422, 10),
    ],
)
def test_each_error_has_a_stdlib_base_status_and_exit_code(cls, base, status, code):
    assert issubclass(cls, errors.RaymakerError)
    assert issubclass(cls, base)
    assert cls.http_status == status
    assert cls.exit_code == code


def test_every_error_is_exported_and_drawn_in_the_docstring():
    for name in errors.__all__:
        assert name in errors.__doc__


def test_job_failed_carries_the_remote_traceback():
    exc = errors.JobFailed(
        "job 'x' FAILED", job_name="x", traceback="Traceback ...\nZeroDivisionError"
    )
    assert "ZeroDivisionError" in str(exc)
    assert exc.to_dict()["traceback"].endswith("ZeroDivisionError")
    assert exc.to_dict()["job_name"] == "x"


def test_not_found_message_is_not_quoted():
    assert str(errors.NotFound("no job named 'a'")) == "no job named 'a'"


def test_missing_dependency_names_the_install_command():
    exc = errors.MissingDependency.for_package("s3fs", "the s3:// store")
    assert "pip install s3fs" in str(exc)


def test_user_message_unwraps_a_ray_task_error_and_drops_ray_datas_retry_advice():
    from raymaker.errors import DataError, user_message

    inner = DataError(
        "malformed CSV in a.csv: line 3: Expected 3 columns, got 2\n"
        "Failed to read stream iteratively after 1/10 attempts (total backoff 0.0s).\n"
        "To change retry attempts, configure `ray.data.DataContext.get_current()`"
    )

    class RayTaskError(DataError):  # the shape Ray gives a task's error: its text, a .cause
        def __init__(self, cause):
            super().__init__("ray::ReadCSV() (pid=1, ip=1.2.3.4)\n  File ...\n" + str(cause))
            self.cause = cause

    assert user_message(RayTaskError(inner)) == (
        "malformed CSV in a.csv: line 3: Expected 3 columns, got 2"
    )
    assert user_message(DataError("a\nb")) == "a\nb"  # a multi-line message of ours stays
