"""The store: one object-store-like namespace (a local folder or any fsspec URI).

``Store`` is a small base class; each scheme is a backend named in ``BACKENDS`` and loaded
lazily, so a local store never imports s3fs. Every key passes ``clean_key``/``relative_key``,
so nothing read or written through a store can escape its root.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from typing import IO, Any

from raymaker.errors import InvalidKey
from raymaker.storage.uri import DEFAULT_BUCKET, Root, clean_key, join, parse_root, relative_key

# scheme -> "module:class"; any other scheme goes to the generic fsspec backend.
BACKENDS = {
    "file": "raymaker.storage.local:LocalStore",
    "*": "raymaker.storage.remote:FsspecStore",
}


class Store:
    """Base class: subclasses implement the primitives; keys are clean, relative strings."""

    def __init__(self, root: Root, *, options: dict[str, Any] | None = None):
        self.root = root
        self.options = dict(options or {})

    # -- primitives each backend implements -------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        """The object's bytes. Raises NotFound."""
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> str:
        """Write atomically (readers see the old or the new object, never a part). Returns URI."""
        raise NotImplementedError

    def create_bytes(self, key: str, data: bytes) -> str:
        """Write only if absent, atomically. Raises Conflict if the key exists. Returns URI."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def list(self, prefix: str = "", *, recursive: bool = False) -> list[str]:
        """Keys under ``prefix``: immediate children (files and folders), or all files."""
        raise NotImplementedError

    def delete(self, key: str, *, recursive: bool = False) -> None:
        """Remove an object (or a whole prefix); missing keys are ignored."""
        raise NotImplementedError

    def stamps(self, prefix: str, leaf: str) -> dict[str, str]:
        """For each child ``c`` of ``prefix`` holding ``<prefix>/c/<leaf>``: a stamp of that
        object that changes when it is rewritten (its mtime and size, or its ETag). One listing,
        so an index can tell what changed among thousands of records without reading them."""
        raise NotImplementedError

    def put_file(self, local_path: str, key: str) -> str:
        """Copy one local file in. Returns its URI."""
        raise NotImplementedError

    def size(self, key: str) -> int:
        """Bytes of the object, or of every object under the prefix (0 when absent)."""
        raise NotImplementedError

    def put_dir(self, local_dir: str, key: str) -> str:
        """Copy a local folder's contents under ``key``, file by file. Returns the prefix URI.
        Raises InvalidKey, before copying anything, when the folder holds a symbolic link."""
        for path, sub in list(local_files(local_dir)):
            self.put_file(path, f"{key}/{sub}" if key else sub)
        return self.uri(key)

    def get_dir(self, key: str, local_dir: str) -> list[str]:
        """Copy every object under ``key`` into ``local_dir`` (the inverse of ``put_dir``).

        Returns the keys copied (none: nothing is there). Raises InvalidKey, before writing
        anything, when an object's key would land outside ``local_dir``.
        """
        keys = self.list(key, recursive=True)
        base = clean_key(key)
        for k, target in download_targets(base, keys, local_dir):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.get(k, target)
        return keys

    def get(self, key: str, local_path: str) -> str:
        """Copy an object or a whole prefix to ``local_path``. Raises NotFound."""
        raise NotImplementedError

    def open(self, key: str, mode: str = "rb") -> IO:
        raise NotImplementedError

    def move(self, src: str, dst: str) -> None:
        """Move an object or prefix (a rename where the backend has one)."""
        raise NotImplementedError

    def arrow_filesystem(self):
        """A ``pyarrow.fs.FileSystem`` for this store (Ray Data and Parquet read through it)."""
        raise NotImplementedError

    def arrow_path(self, key: str) -> str:
        """The path of ``key`` on ``arrow_filesystem()``."""
        raise NotImplementedError

    # -- shared behaviour -------------------------------------------------------------------
    def key(self, target: str) -> str:
        """The clean key of ``target`` (a key, path or URI inside the root). Raises InvalidKey."""
        return relative_key(self.root, target)

    def uri(self, key: str = "") -> str:
        """The full URI of ``key``."""
        key = clean_key(key)
        return f"{self.root.uri}/{key}" if key else self.root.uri

    def read_text(self, key: str) -> str:
        return self.read_bytes(key).decode("utf-8")

    def write_text(self, key: str, text: str) -> str:
        return self.write_bytes(key, text.encode("utf-8"))

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_json(self, key: str, value: Any) -> str:
        return self.write_bytes(key, _dump_json(value))

    def create_json(self, key: str, value: Any) -> str:
        return self.create_bytes(key, _dump_json(value))

    def upload(self, local_path: str | os.PathLike, key_prefix: str) -> str:
        """Upload a file (to ``key_prefix/<name>``) or a folder (to ``key_prefix``).

        Returns the URI, as SageMaker's ``upload_data`` does. Raises NotFound.
        """
        from raymaker.errors import NotFound

        local_path = os.fspath(local_path)
        if os.path.isdir(local_path):
            return self.put_dir(local_path, join(key_prefix))
        if os.path.isfile(local_path):
            return self.put_file(local_path, join(key_prefix, os.path.basename(local_path)))
        raise NotFound(f"no file or folder at {local_path!r}")

    def walk_files(self, prefix: str = "") -> Iterator[str]:
        yield from self.list(prefix, recursive=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root.uri!r})"


def local_files(folder: str) -> Iterator[tuple[str, str]]:
    """``(path, relative key)`` of every file in a local folder, in order. Raises InvalidKey
    naming the first symbolic link: a link's target may lie anywhere, so raymaker copies none
    (copy the file in, or name the real folder)."""
    for dirpath, dirs, files in os.walk(folder):
        dirs.sort()
        for name in [*dirs, *files]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                raise InvalidKey(
                    f"{path} is a symbolic link; raymaker copies no links out of a folder "
                    "(copy the file in, or name the real path)"
                )
        rel = os.path.relpath(dirpath, folder)
        for name in sorted(files):
            sub = name if rel == "." else os.path.join(rel, name).replace(os.sep, "/")
            yield os.path.join(dirpath, name), sub


def download_targets(base: str, keys: list[str], local_dir: str) -> list[tuple[str, str]]:
    """``(key, local path)`` of each of ``keys`` (all under ``base``) copied into
    ``local_dir``. Raises InvalidKey, before anything is written, for a key with a ``..``
    part or any other that would land outside ``local_dir`` (an S3 key may hold ``..``)."""
    out, root = [], os.path.abspath(local_dir)
    for key in keys:
        rel = key[len(base) :].lstrip("/") if base else key
        parts = rel.split("/")
        target = os.path.abspath(os.path.join(root, *parts))
        if ".." in parts or "\\" in rel or not target.startswith(root + os.sep):
            raise InvalidKey(f"object key {key!r} would land outside {local_dir}; not copied")
        out.append((key, target))
    return out


def _dump_json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode("utf-8")


def open_store(uri: str, *, options: dict[str, Any] | None = None, bucket: str = "") -> Store:
    """A store for ``uri`` (a folder path or URI), with fsspec ``options`` for remote ones;
    ``bucket`` names its SageMaker-style default bucket (``Root.bucket``; ``raymaker``).

    Raises InvalidKey for a malformed root, MissingDependency when the scheme's package is absent.
    """
    import dataclasses

    root = parse_root(uri)
    root = dataclasses.replace(root, bucket=bucket or DEFAULT_BUCKET)
    target = BACKENDS.get(root.scheme, BACKENDS["*"])
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls(root, options=options)


def store_for_settings(settings) -> Store:
    """The store named by ``settings`` with its S3 endpoint/region applied."""
    options: dict[str, Any] = {}
    root = parse_root(settings.store)
    if root.scheme == "s3":
        client_kwargs = {}
        if settings.s3_endpoint_url:
            client_kwargs["endpoint_url"] = settings.s3_endpoint_url
        if settings.s3_region:
            client_kwargs["region_name"] = settings.s3_region
        if client_kwargs:
            options["client_kwargs"] = client_kwargs
    return open_store(settings.store, options=options, bucket=settings.default_bucket)


__all__ = ["BACKENDS", "InvalidKey", "Store", "open_store", "store_for_settings"]


def store_from_env(env: dict[str, str] | None = None) -> Store:
    """The store a job's (or a model process's) environment names: ``env`` (a
    ``Settings.job_env()``) over this process's environment."""
    import os

    from raymaker.settings import Settings

    return store_for_settings(Settings.from_env({**os.environ, **(env or {})}))
