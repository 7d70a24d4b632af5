"""Moving a spec's files between the user's machine, the store and a job's local folder."""

from __future__ import annotations

import os
import shutil

from raymaker.errors import NotFound, SpecError
from raymaker.storage.store import Store
from raymaker.storage.uri import split_scheme


def is_uri(target: str) -> bool:
    """True for ``scheme://...`` other than ``file://``."""
    return split_scheme(target) not in ("", "file", "local")


def local_path(target: str) -> str:
    """A local path from a plain path or a ``file://`` URI."""
    return target[len("file://") :] if target.startswith("file://") else target


def fetch(store: Store, target: str, dest: str) -> str:
    """Make ``target`` (a store URI/key, or a local file/folder) available at ``dest``.

    A file lands at ``dest`` if ``dest`` has a file name, else inside it; a folder or prefix
    fills ``dest``. Returns the local path. Raises NotFound, InvalidKey.
    """
    if is_uri(target):
        return store.get(store.key(target), dest)
    path = os.path.expanduser(local_path(target))
    if os.path.isdir(path):
        shutil.copytree(path, dest, dirs_exist_ok=True)
        return dest
    if os.path.isfile(path):
        if os.path.isdir(dest):
            dest = os.path.join(dest, os.path.basename(path))
        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        shutil.copyfile(path, dest)
        return dest
    if not os.path.isabs(path) and "/" in path.strip("/"):
        # a relative "data/x.csv" is a store key, as SageMaker-style key prefixes are
        return store.get(store.key(path), dest)
    raise NotFound(f"no file, folder or store object at {target!r}")


def check_entry_point(entry_point: str, source_dir: str | None, field: str = "entry_point"):
    """Raise SpecError unless ``entry_point`` can only name a file inside its code folder: with
    ``source_dir``, a relative path with no ``..`` part (SageMaker's rule too); without, one
    file (any path), which is copied alone."""
    if not source_dir:
        return
    parts = entry_point.replace("\\", "/").split("/")
    if os.path.isabs(entry_point) or "://" in entry_point or ".." in parts or "\\" in entry_point:
        raise SpecError(
            f"{field} {entry_point!r} must be a relative path inside source_dir "
            f"{source_dir!r} (no absolute path, no '..')"
        )


def inside(folder: str, path: str) -> bool:
    """Whether ``path``, its links resolved, lies inside ``folder`` (its links resolved)."""
    root = os.path.realpath(folder)
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def stage_code(
    store: Store,
    entry_point: str,
    source_dir: str | None,
    base_dir: str | None,
    prefix: str,
    field: str = "entry_point",
) -> tuple[str, str]:
    """``(folder URI, entry point)`` of a script or handler, a local one copied under
    ``prefix``: ``source_dir`` whole (no links in it), or without one the ``entry_point``
    file alone, as SageMaker uploads it. Raises SpecError, NotFound."""
    from raymaker.storage.uri import join

    check_entry_point(entry_point, source_dir, field)
    base = base_dir or os.getcwd()
    if source_dir is None:
        if is_uri(entry_point):
            folder, _, name = entry_point.rstrip("/").rpartition("/")
            key = store.key(folder)
            if not store.exists(join(key, name)):
                raise NotFound(f"{field} {entry_point!r} does not exist")
            return store.uri(key), name
        path = os.path.join(base, os.path.expanduser(local_path(entry_point)))
        if not os.path.isfile(path):
            raise NotFound(f"{field} {entry_point!r} is not a file (looked in {base})")
        name = os.path.basename(path)
        store.put_file(path, join(prefix, name))
        return store.uri(prefix), name
    folder = os.path.join(base, os.path.expanduser(local_path(source_dir)))
    if is_uri(source_dir) or not os.path.isdir(folder):  # a store URI or key
        key = store.key(source_dir)
        if not store.exists(join(key, entry_point)):
            raise NotFound(f"{field} {entry_point!r} is not in {source_dir}")
        return store.uri(key), entry_point
    target = os.path.join(folder, entry_point)
    if not os.path.isfile(target):
        raise NotFound(f"{field} {entry_point!r} is not in {folder}")
    if not inside(folder, target):
        raise SpecError(f"{field} {entry_point!r} leaves {folder} through a symbolic link")
    return store.put_dir(folder, prefix), entry_point
