"""The local head's process handling, without Ray: a head's whole process tree goes down
with it, including children that left its process group (as Ray's workers do)."""

from __future__ import annotations

import subprocess
import sys
import time

from raymaker.cluster.local import _descendants, _kill_all, _processes

# a child in a session (and process group) of its own, as Ray's raylet starts its workers
TREE = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
    " start_new_session=True)\n"
    "time.sleep(60)\n"
)


def test_a_head_s_descendants_are_found_and_killed_outside_its_group():
    head = subprocess.Popen([sys.executable, "-c", TREE], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        found = []
        while not found and time.monotonic() < deadline:
            found = _descendants(head.pid)
            time.sleep(0.05)
        assert len(found) == 1
        (worker,) = found
        assert _processes()[worker][1] != _processes()[head.pid][1]  # another group
        _kill_all([head.pid, worker])
        deadline = time.monotonic() + 10
        while worker in _processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker not in _processes()
    finally:
        head.kill()
        head.wait()


def test_a_quiet_driver_drops_the_raylets_messages(monkeypatch, capsys):
    """Ray prints the raylet's messages (a task retried) whatever log_to_driver says; a quiet
    process drops them and keeps every other line Ray would print."""
    import importlib

    from ray._private import worker as ray_worker

    connect = importlib.import_module("raymaker.cluster.connect")
    monkeypatch.setattr(ray_worker, "print_to_stdstream", ray_worker.print_to_stdstream)
    connect._drop_raylet_messages()
    connect._drop_raylet_messages()  # twice wraps once
    printer = ray_worker.print_to_stdstream
    printer({"lines": ["Task _map_task failed. There are infinite retries remaining"],
             "pid": "raylet", "is_err": False}, ignore_prefix=False)  # fmt: skip
    printer({"lines": ["a worker's own line"], "pid": 123, "is_err": False}, ignore_prefix=True)
    out = capsys.readouterr().out
    assert "retries remaining" not in out and "a worker's own line" in out
