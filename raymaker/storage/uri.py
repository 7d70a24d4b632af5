"""Store keys and URIs: parsing, joining, and the rule that no key escapes the store root."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from raymaker.errors import InvalidKey

LOCAL_SCHEMES = ("", "file", "local")


@dataclass(frozen=True)
class Root:
    """A parsed store root: ``scheme`` ('file', 's3', ...) and ``path`` (no trailing slash)."""

    scheme: str
    path: str

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.path}" if self.scheme != "file" else f"file://{self.path}"


def parse_root(uri: str) -> Root:
    """Parse a store root given as a folder path or a URI.

    Raises InvalidKey for an empty root or a bucket-less object-store URI.
    """
    if not uri or not str(uri).strip():
        raise InvalidKey("the store root is empty; set RAYMAKER_STORE to a folder or URI")
    uri = str(uri).strip()
    scheme = split_scheme(uri)
    if scheme in LOCAL_SCHEMES:
        path = uri[len("file://") :] if uri.startswith("file://") else uri
        path = uri[len("local://") :] if uri.startswith("local://") else path
        return Root("file", os.path.normpath(os.path.abspath(os.path.expanduser(path))))
    rest = uri.split("://", 1)[1].strip("/")
    if not rest:
        raise InvalidKey(f"store root {uri!r} names no bucket")
    return Root(scheme, posixpath.normpath(rest))


def split_scheme(uri: str) -> str:
    """The URI's scheme in lower case, '' for a plain path."""
    if "://" not in uri:
        return ""
    return urlsplit(uri).scheme.lower()


def clean_key(key: str) -> str:
    """Normalize a key relative to the store root.

    Raises InvalidKey for absolute paths, URIs, backslashes, NUL bytes and any '..' part.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"a store key must be a string, got {type(key).__name__}")
    if "\x00" in key or "\\" in key:
        raise InvalidKey(f"store key {key!r} has a backslash or NUL byte")
    if key.startswith("/") or "://" in key or (len(key) > 1 and key[1] == ":"):
        raise InvalidKey(f"store key {key!r} is absolute; keys are relative to the store root")
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidKey(f"store key {key!r} has a '..' part, which would leave the store root")
    return "/".join(parts)


def join(*parts: str) -> str:
    """Join key parts with '/', validating the result."""
    return clean_key("/".join(p.strip("/") for p in parts if p and p.strip("/")))


def relative_key(root: Root, target: str) -> str:
    """The key of ``target`` (a key, a path or a URI) inside ``root``.

    Raises InvalidKey when ``target`` lies outside the root (another bucket, another folder).
    """
    scheme = split_scheme(target)
    is_local_abs = scheme == "" and (target.startswith("/") or target.startswith("~"))
    if scheme == "" and not is_local_abs:
        return clean_key(target)
    if scheme in LOCAL_SCHEMES:
        if root.scheme != "file":
            raise InvalidKey(f"{target!r} is a local path; the store is {root.uri}")
        path = parse_root(target).path
        base = root.path
    else:
        if scheme != root.scheme:
            raise InvalidKey(f"{target!r} is not inside the store {root.uri}")
        path = posixpath.normpath(target.split("://", 1)[1])
        base = root.path
        if ".." in target.split("://", 1)[1].split("/"):
            raise InvalidKey(f"{target!r} has a '..' part")
    if path == base:
        return ""
    if not path.startswith(base.rstrip("/") + "/"):
        raise InvalidKey(f"{target!r} is outside the store root {root.uri}")
    return clean_key(path[len(base) :].lstrip("/"))
