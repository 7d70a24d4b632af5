"""Run a user's script as a child process: stream its output, keep its traceback.

Shared by processing and training script mode. The child dies with its parent (Linux
``PR_SET_PDEATHSIG``), so a killed worker never leaves an orphan script running.
"""

from __future__ import annotations

import collections
import contextlib
import subprocess
import sys
import threading
from collections.abc import Callable

from raymaker.errors import JobFailed, SpecError


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_streaming(
    cmd: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    timeout_name: str = "max_runtime_in_seconds",
) -> tuple[int, list[str]]:
    """Run ``cmd``, copying its output to ours line by line (and to ``on_line``).

    Returns (exit code, the last 400 lines of stderr). Raises SpecError when the command does
    not exist, JobFailed past ``timeout``.
    """
    tail: collections.deque[str] = collections.deque(maxlen=400)
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )  # fmt: skip
    except FileNotFoundError as exc:
        raise SpecError(f"command {cmd[0]!r} was not found: {exc}") from None

    def pump(stream, sink, keep):
        for line in stream:
            sink.write(line)
            sink.flush()
            if keep:
                tail.append(line)
            if on_line is not None:
                with contextlib.suppress(Exception):  # metrics parsing must not kill the job
                    on_line(line.rstrip("\n"))

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, sys.stdout, False), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, sys.stderr, True), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise JobFailed(f"the script ran past {timeout_name} ({timeout})") from None
    finally:
        if proc.poll() is None:  # stopped or interrupted while waiting
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for t in threads:
            t.join(timeout=5)
    return proc.returncode, list(tail)


def user_traceback(lines: list[str]) -> str | None:
    """The last Python traceback in the script's stderr, else its last lines."""
    text = "".join(lines)
    start = text.rfind("Traceback (most recent call last):")
    if start >= 0:
        return text[start:].rstrip() + "\n"
    return "".join(lines[-30:]).rstrip() + "\n" if lines else None
