"""A training script's ``requirements.txt``: installed once per node, never over the platform.

- A requirement the environment already satisfies is not installed (read with ``packaging``,
  markers included); a file wholly satisfied installs nothing.
- What is missing is installed with ``pip install --prefix`` (not ``--target``, which ignores
  what is installed and would reinstall torch for a ``torchvision`` line), with the platform's
  own packages (torch, TensorFlow, Ray, NumPy...) pinned as constraints, so pip picks versions
  that work beside them or fails saying which clash; nothing installed can shadow them.
- The result is cached on the node, keyed by the sha256 of the file, the Python version and
  those pins: every worker and trial on the node that asks for the same file reuses it. A
  lock makes concurrent workers wait for one install; a failed install leaves no cache entry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time

from raymaker.errors import JobFailed

# What a requirements file must not replace (the distribution names; both TensorFlow wheels)
PLATFORM = ("torch", "tensorflow", "tensorflow-cpu", "tf-keras", "keras", "ray", "numpy",
            "pyarrow", "pandas", "xgboost", "lightgbm", "scikit-learn")  # fmt: skip


def cache_root() -> str:
    """The node's cache of installed requirements (``RAYMAKER_PYDEPS_CACHE``, else the user's
    cache folder)."""
    default = os.path.join(os.path.expanduser("~"), ".cache", "raymaker", "pydeps")
    return os.environ.get("RAYMAKER_PYDEPS_CACHE") or default


def unsatisfied(path: str) -> list[str]:
    """The lines of a requirements file the environment does not satisfy. A line pip alone
    understands (an option, a URL, a local path) counts as unsatisfied: pip decides."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for raw in _lines(path):
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            out.append(raw)
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue  # not for this platform
        if req.url:
            out.append(raw)
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            out.append(raw)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            out.append(raw)
    return out


def install(path: str, *, log=print) -> str | None:
    """The folder to put on PYTHONPATH for ``path``'s requirements, or None when the
    environment satisfies them all. Raises JobFailed with pip's own output."""
    missing = unsatisfied(path)
    name = os.path.basename(path)
    if not missing:
        log(f"{name}: every requirement is installed already; nothing to install")
        return None
    pins = platform_pins()
    with open(path, "rb") as f:
        content = f.read()
    key = hashlib.sha256(content + sys.version.encode() + "\n".join(pins).encode()).hexdigest()[:24]
    folder = os.path.join(cache_root(), key)
    done = os.path.join(folder, "complete")
    if os.path.exists(done):
        log(f"{name}: installed before on this node ({folder}); reused")
        return _site(folder)
    os.makedirs(cache_root(), exist_ok=True)
    with _Lock(folder + ".lock"):
        if os.path.exists(done):  # another worker installed it while this one waited
            log(f"{name}: installed by another worker on this node; reused")
            return _site(folder)
        log(f"{name}: installing {', '.join(missing)}")
        _pip(path, folder, pins, name)
    return _site(folder)


def platform_pins() -> list[str]:
    """``name==version`` of each platform package installed here."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for dist in PLATFORM:
        try:
            pins.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return pins


def _pip(path: str, folder: str, pins: list[str], name: str) -> None:
    staging = f"{folder}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    constraints = os.path.join(staging, "platform-constraints.txt")
    with open(constraints, "w", encoding="utf-8") as f:
        f.write("\n".join(pins) + "\n")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--prefix", staging, "--upgrade-strategy", "only-if-needed", "-c", constraints,
         "-r", path],
        capture_output=True, text=True, cwd=os.path.dirname(path),
    )  # fmt: skip
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise JobFailed(
            f"installing {name} failed (pip exit code {proc.returncode}); the platform's "
            f"{', '.join(p.split('==')[0] for p in pins)} stay as installed (constraints), so "
            "a requirement needing another version of one of them cannot be met",
            traceback=(proc.stderr or proc.stdout)[-4000:],
        )
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    with open(os.path.join(folder, "complete"), "w", encoding="utf-8") as f:
        f.write(f"{time.time():.0f} {time.monotonic() - started:.1f}s\n")


def _site(prefix: str) -> str:
    """The prefix's site-packages folders (pure and platform), for PYTHONPATH."""
    paths = [sysconfig.get_path(kind, vars={"base": prefix, "platbase": prefix})
             for kind in ("purelib", "platlib")]  # fmt: skip
    return os.pathsep.join(dict.fromkeys(paths))


def _lines(path: str) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


class _Lock:
    """An exclusive file lock (one install per requirements hash per node at a time)."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        import fcntl

        self.file = open(self.path, "w")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()
