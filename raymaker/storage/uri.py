"""Store keys and URIs: parsing, joining, and the rule that no key escapes the store root."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from raymaker.errors import InvalidKey

LOCAL_SCHEMES = ("", "file", "local")
DEFAULT_BUCKET = "raymaker"


@dataclass(frozen=True)
class Root:
    """A parsed store root: ``scheme`` ('file', 's3', ...) and ``path`` (no trailing slash).

    ``bucket`` is the store's SageMaker-style default bucket: ``s3://<bucket>/<key>`` names
    ``<key>`` in this store whatever its backend (a folder, or a prefix of an S3 bucket), as
    notebooks write ``f"s3://{sess.default_bucket()}/{prefix}"``.
    """

    scheme: str
    path: str
    bucket: str = ""

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


def _in_default_bucket(root: Root, target: str) -> str | None:
    """The store key of ``s3://<root.bucket>/<key>``, or None for a URI in another bucket (or
    in an S3 root's own bucket, which the ordinary rule reads)."""
    if not root.bucket:
        return None
    netloc, _, rest = target.split("://", 1)[1].partition("/")
    if netloc != root.bucket or (root.scheme == "s3" and root.path.split("/")[0] == netloc):
        return None
    if ".." in rest.split("/"):
        raise InvalidKey(f"{target!r} has a '..' part")
    return clean_key(rest)


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
    in_bucket = _in_default_bucket(root, target) if scheme == "s3" else None
    if in_bucket is not None:
        return in_bucket
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
