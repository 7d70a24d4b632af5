"""Moving a spec's files between the user's machine, the store and a job's local folder."""

from __future__ import annotations

import os
import shutil

from raymaker.errors import NotFound
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
