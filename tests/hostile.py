"""Hostile request bodies for an endpoint: every category of issue 18 plus random bytes.

``catalogue(columns)`` gives ``(name, body, headers)`` triples for a model taking ``columns``;
``random_bodies(n, seed)`` adds random bytes under every content type. The fuzz test and
``benchmarks/bench_reliability.py`` send both to a live endpoint: each must be answered with
a 4xx naming the problem, never a 5xx, never Ray's words.
"""

from __future__ import annotations

import io
import json
import random

import numpy as np

TYPES = ("text/csv", "application/json", "application/jsonlines", "application/x-npy")
# Words that only Ray or Serve would put in an answer.
RAY_WORDS = ("pid=", "actor_id", "ray::", "ServeReplica", "RayTaskError", "node_ip", "ip=")


def _npy(array, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def catalogue(columns: list[str]) -> list[tuple[str, bytes, dict]]:
    n = len(columns)
    row = {c: 1 for c in columns}
    first = columns[0]
    csv, js, jl, npy = ({"Content-Type": t} for t in TYPES)
    return [
        ("deep JSON", b"[" * 5000 + b"]" * 5000, js),
        ("deep JSON object", b'{"a":' * 3000 + b"1" + b"}" * 3000, js),
        ("deep JSON Lines", b"[" * 5000 + b"]" * 5000 + b"\n", jl),
        ("0-d .npy", _npy(np.float64(3.0)), npy),
        ("complex .npy", _npy(np.ones((1, n), dtype=complex)), npy),
        ("3-d .npy", _npy(np.zeros((1, n, 2))), npy),
        ("string .npy", _npy(np.array([["a"] * n])), npy),
        ("pickled .npy", _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True), npy),
        ("truncated .npy", _npy(np.zeros((2, n)))[:60], npy),
        ("million-column CSV", b",".join([b"1"] * 1_000_001) + b"\n", csv),
        ("header-only CSV", ",".join(columns).encode() + b"\n", csv),
        ("too many rows", b"1\n" * 100_002, csv),
        ("wrong width CSV", b"1,2\n", csv),
        ("unbalanced quotes", b'"1,2\n' * 3, csv),
        ("invalid UTF-8", b"\xff\xfe\xfa," * n + b"\n", csv),
        ("dict cell", json.dumps([{**row, first: {"a": 1}}]).encode(), js),
        ("list cell", json.dumps([{**row, first: [1, 2]}]).encode(), js),
        ("string in numeric", json.dumps([{**row, first: "abc"}]).encode(), js),
        ("boolean in numeric", json.dumps([{**row, first: True}]).encode(), js),
        ("JSON scalar", b"42", js),
        ("JSON null", b"null", js),
        ("JSON string", b'"hello"', js),
        ("empty instances", b'{"instances": []}', js),
        ("empty body", b"", csv),
        ("NaN and infinities", b"[[NaN, Infinity, -Infinity]]", js),
        ("unknown type", b"x", {"Content-Type": "image/png"}),
        ("unsupported accept", b"1\n", {**csv, "Accept": "image/png"}),
        ("garbage content type", b"1\n", {"Content-Type": "x/y;;;==;q"}),
    ]


def random_bodies(n: int, seed: int = 0) -> list[tuple[str, bytes, dict]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice((1, 7, 64, 512, 4096, 65536))
        body = rng.randbytes(size)
        if i % 3 == 0:  # a plausible start, then noise
            body = rng.choice((b"[", b"{", b"\x93NUMPY", b"1,2,", b'{"instances":')) + body
        out.append((f"random {i}", body, {"Content-Type": rng.choice(TYPES)}))
    return out


def ray_words(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [w for w in RAY_WORDS if w in text]
