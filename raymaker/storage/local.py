"""The local-folder store backend: plain files, atomic write-then-rename."""

from __future__ import annotations

import os
import shutil
import uuid
from typing import IO

from raymaker.errors import Conflict, InvalidKey, NotFound
from raymaker.storage.store import Store, download_targets
from raymaker.storage.uri import clean_key


class LocalStore(Store):
    """A store in a local folder (``file://`` or a plain path)."""

    def path(self, key: str) -> str:
        """The local filesystem path of ``key``. Raises InvalidKey when a symbolic link in the
        store would take it outside the root: every read and write passes here."""
        key = clean_key(key)
        if not key:
            return self.root.path
        path = os.path.join(self.root.path, *key.split("/"))
        real, root = os.path.realpath(path), self._real_root()
        if real != root and not real.startswith(root + os.sep):
            raise InvalidKey(
                f"{self.uri(key)} leads outside the store root through a symbolic link"
            )
        return path

    def _real_root(self) -> str:
        root = getattr(self, "_root_real", None)
        if root is None:
            root = self._root_real = os.path.realpath(self.root.path).rstrip(os.sep)
        return root

    def arrow_filesystem(self):
        import pyarrow.fs

        return pyarrow.fs.LocalFileSystem()

    def arrow_path(self, key: str) -> str:
        return self.path(key)

    def _tmp_beside(self, path: str) -> str:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.path.join(os.path.dirname(path), f".tmp-{uuid.uuid4().hex}")

    def read_bytes(self, key: str) -> bytes:
        try:
            with open(self.path(key), "rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no object at {self.uri(key)}") from None

    def write_bytes(self, key: str, data: bytes) -> str:
        path = self.path(key)
        tmp = self._tmp_beside(path)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return self.uri(key)

    def create_bytes(self, key: str, data: bytes) -> str:
        path = self.path(key)
        tmp = self._tmp_beside(path)
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)  # atomic and fails if the name is taken
        except FileExistsError:
            raise Conflict(f"{self.uri(key)} already exists") from None
        finally:
            os.unlink(tmp)
        return self.uri(key)

    def exists(self, key: str) -> bool:
        return os.path.exists(self.path(key))

    def list(self, prefix: str = "", *, recursive: bool = False) -> list[str]:
        base = self.path(prefix)
        prefix = clean_key(prefix)
        if os.path.isfile(base):
            return [prefix]
        if not os.path.isdir(base):
            return []
        if not recursive:
            names = [n for n in os.listdir(base) if not n.startswith(".tmp-")]
            return sorted(f"{prefix}/{n}" if prefix else n for n in names)
        out = []
        for dirpath, _, files in os.walk(base):
            rel = os.path.relpath(dirpath, self.root.path).replace(os.sep, "/")
            for name in files:
                if not name.startswith(".tmp-"):
                    out.append(name if rel == "." else f"{rel}/{name}")
        return sorted(out)

    def stamps(self, prefix: str, leaf: str) -> dict[str, str]:
        base = self.path(prefix)
        out = {}
        try:
            children = os.scandir(base)
        except (FileNotFoundError, NotADirectoryError):
            return out
        with children:
            for entry in children:
                if entry.name.startswith(".tmp-"):
                    continue
                try:
                    st = os.stat(os.path.join(entry.path, leaf))
                except OSError:  # not a folder, or no such leaf (yet)
                    continue
                out[entry.name] = f"{st.st_mtime_ns}:{st.st_size}"
        return out

    def delete(self, key: str, *, recursive: bool = False) -> None:
        path = self.path(key)
        if os.path.isdir(path):
            if recursive:
                shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.unlink(path)

    def size(self, key: str) -> int:
        path = self.path(key)
        if os.path.isfile(path):
            return os.path.getsize(path)
        total = 0
        for dirpath, _, files in os.walk(path):
            total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in files)
        return total

    def put_file(self, local_path: str, key: str) -> str:
        path = self.path(key)
        tmp = self._tmp_beside(path)
        shutil.copyfile(local_path, tmp)
        os.replace(tmp, path)
        return self.uri(key)

    def get(self, key: str, local_path: str) -> str:
        path = self.path(key)
        if os.path.isdir(path):
            keys = self.list(key, recursive=True)
            for k, target in download_targets(clean_key(key), keys, local_path):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(self.path(k), target)  # each path checked: no link leaves
            os.makedirs(local_path, exist_ok=True)
        elif os.path.isfile(path):
            if os.path.isdir(local_path):
                local_path = os.path.join(local_path, os.path.basename(path))
            os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
            shutil.copyfile(path, local_path)
        else:
            raise NotFound(f"no object or prefix at {self.uri(key)}")
        return local_path

    def open(self, key: str, mode: str = "rb") -> IO:
        path = self.path(key)
        if "w" in mode or "a" in mode or "x" in mode:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            return open(path, mode)
        except FileNotFoundError:
            raise NotFound(f"no object at {self.uri(key)}") from None

    def move(self, src: str, dst: str) -> None:
        source, target = self.path(src), self.path(dst)
        if not os.path.exists(source):
            raise NotFound(f"no object or prefix at {self.uri(src)}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(source, target)
