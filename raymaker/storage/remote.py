"""The fsspec store backend: ``s3://`` (s3fs) and any other fsspec protocol."""

from __future__ import annotations

import os
from typing import IO

from raymaker.errors import Conflict, MissingDependency, NotFound
from raymaker.storage.store import Store, download_targets
from raymaker.storage.uri import clean_key

# Packages that provide each protocol, for the error when one is missing.
PROTOCOL_PACKAGES = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs"}


class FsspecStore(Store):
    """A store on an fsspec filesystem; on S3 every record write is a single PUT."""

    def __init__(self, root, *, options=None):
        super().__init__(root, options=options)
        import fsspec

        opts = dict(self.options)
        if root.scheme == "s3":
            # Listings must reflect other processes' writes (jobs, concurrent registrations).
            opts.setdefault("use_listings_cache", False)
            opts.setdefault("skip_instance_cache", True)
        try:
            self.fs = fsspec.filesystem(root.scheme, **opts)
        except (ImportError, ValueError) as exc:
            package = PROTOCOL_PACKAGES.get(root.scheme, root.scheme)
            if isinstance(exc, ImportError) or "Protocol not known" in str(exc):
                raise MissingDependency.for_package(package, f"the {root.scheme}:// store") from exc
            raise

    def path(self, key: str) -> str:
        key = clean_key(key)
        return f"{self.root.path}/{key}" if key else self.root.path

    def arrow_filesystem(self):
        import pyarrow.fs

        if self.root.scheme == "s3":
            client = self.options.get("client_kwargs", {})
            kwargs = {}
            endpoint = client.get("endpoint_url")
            if endpoint:
                scheme, _, host = endpoint.partition("://")
                kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
            if client.get("region_name"):
                kwargs["region"] = client["region_name"]
            return pyarrow.fs.S3FileSystem(**kwargs)  # credentials from the AWS environment
        return pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(self.fs))

    def arrow_path(self, key: str) -> str:
        return self.path(key)

    def _key_of(self, path: str) -> str:
        return path[len(self.root.path) :].lstrip("/")

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.fs.cat_file(self.path(key))
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"no object at {self.uri(key)}") from None

    def write_bytes(self, key: str, data: bytes) -> str:
        self.fs.pipe_file(self.path(key), data)  # one PUT: atomic on S3
        return self.uri(key)

    def create_bytes(self, key: str, data: bytes) -> str:
        try:
            with self.fs.open(self.path(key), "xb") as f:  # conditional PUT (If-None-Match)
                f.write(data)
        except FileExistsError:
            raise Conflict(f"{self.uri(key)} already exists") from None
        return self.uri(key)

    def exists(self, key: str) -> bool:
        return self.fs.exists(self.path(key))

    def list(self, prefix: str = "", *, recursive: bool = False) -> list[str]:
        path = self.path(prefix)
        try:
            found = self.fs.find(path) if recursive else self.fs.ls(path, detail=False)
        except FileNotFoundError:
            return []
        keys = sorted(k for k in (self._key_of(p.rstrip("/")) for p in found) if k)
        own = clean_key(prefix)
        if recursive or keys == [own]:  # a prefix's files, or a single object
            return keys
        return [k for k in keys if k != own]

    def stamps(self, prefix: str, leaf: str) -> dict[str, str]:
        base = self.path(prefix)
        try:
            found = self.fs.glob(f"{base}/*/{leaf}", detail=True)
        except FileNotFoundError:
            return {}
        out = {}
        for path, info in found.items():
            child = path.rstrip("/")[len(base) + 1 :].split("/", 1)[0]
            stamp = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
            out[child] = f"{stamp}:{info.get('size')}"
        return out

    def delete(self, key: str, *, recursive: bool = False) -> None:
        path = self.path(key)
        try:
            if recursive:
                self.fs.rm(path, recursive=True)
            else:
                self.fs.rm_file(path)
        except FileNotFoundError:
            pass

    def size(self, key: str) -> int:
        try:
            return int(self.fs.du(self.path(key), total=True))
        except FileNotFoundError:
            return 0

    def put_file(self, local_path: str, key: str) -> str:
        self.fs.put_file(local_path, self.path(key))
        return self.uri(key)

    def get(self, key: str, local_path: str) -> str:
        path = self.path(key)
        if self.fs.isfile(path):
            if os.path.isdir(local_path):
                local_path = os.path.join(local_path, os.path.basename(path))
            os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
            self.fs.get_file(path, local_path)
            return local_path
        files = self.list(key, recursive=True)
        if not files:
            raise NotFound(f"no object or prefix at {self.uri(key)}")
        for file_key, target in download_targets(clean_key(key), files, local_path):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.fs.get_file(self.path(file_key), target)
        return local_path

    def open(self, key: str, mode: str = "rb") -> IO:
        try:
            return self.fs.open(self.path(key), mode)
        except FileNotFoundError:
            raise NotFound(f"no object at {self.uri(key)}") from None

    def move(self, src: str, dst: str) -> None:
        source = self.path(src)
        if self.fs.isfile(source):
            pairs = [(source, self.path(dst))]
        else:
            base = clean_key(src)
            files = self.list(src, recursive=True)
            if not files:
                raise NotFound(f"no object or prefix at {self.uri(src)}")
            pairs = [
                (self.path(k), self.path(f"{dst}/{k[len(base) :].lstrip('/')}")) for k in files
            ]
        for old, new in pairs:  # server-side copies, then the deletes
            self.fs.copy(old, new)
        for old, _ in pairs:
            self.fs.rm_file(old)
