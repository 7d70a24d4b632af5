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
