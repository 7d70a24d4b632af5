"""The gateway <-> replica data plane: length-prefixed frames over one TCP connection.

A frame is ``!II`` (header length, body length), a JSON header and the request or response
bodies back to back; the header lists each item's metadata and length. No pickle crosses
this wire. The first frame on a connection carries the replica's key, so a process that can
reach the replica's port but not the gateway's token cannot use it.

Requests that queue at the gateway while a frame is in flight go out together as the next
frame: the replica predicts them as one matrix. That batching is what makes a Python gateway
plus a model process faster than one process answering request by request.
"""

from __future__ import annotations

import asyncio
import json
import struct

_HEAD = struct.Struct("!II")
MAX_BATCH_BYTES = 16 << 20  # the gateway splits a batch's bodies into frames of this much
MAX_HEADER = 1 << 20  # a frame's JSON header (64 items' metadata is a few KiB)
KEY_FRAME = 4096  # the first frame carries only the key
FRAME_TIMEOUT_S = 30.0  # a frame begun must end within this


def frame_limit(max_body: int) -> int:
    """The largest body part a replica accepts in one frame: a batch, or one whole request."""
    return max(MAX_BATCH_BYTES, max_body)


async def read_frame(
    reader: asyncio.StreamReader,
    max_bytes: int = MAX_BATCH_BYTES,
    max_header: int = MAX_HEADER,
    timeout_s: float | None = FRAME_TIMEOUT_S,
    first_byte_timeout_s: float | None = None,
) -> tuple[dict, list[bytes]]:
    """``(header, bodies)`` of the next frame. Raises IncompleteReadError at EOF,
    ConnectionError for a frame over ``max_bytes`` (bodies) or ``max_header``, TimeoutError
    when a frame begun does not end within ``timeout_s`` (or none begins within
    ``first_byte_timeout_s``): nothing over the limits is ever buffered."""
    prefix = await asyncio.wait_for(reader.readexactly(_HEAD.size), first_byte_timeout_s)
    head_len, body_len = _HEAD.unpack(prefix)
    if head_len > max_header or body_len > max_bytes:
        raise ConnectionError("frame too large")

    async def rest():
        header = json.loads(await reader.readexactly(head_len))
        blob = await reader.readexactly(body_len) if body_len else b""
        return header, blob

    header, blob = await asyncio.wait_for(rest(), timeout_s)
    if not isinstance(header, dict) or not isinstance(header.get("items", []), list):
        raise ValueError("frame header is not an object with items")
    bodies, start = [], 0
    for item in header.get("items", []):
        n = item.pop("len")
        bodies.append(blob[start : start + n])
        start += n
    return header, bodies


def frame(header: dict, items: list[dict], bodies: list[bytes]) -> bytes:
    """One frame: ``header`` plus ``items`` (metadata, one per body) and the bodies."""
    for item, body in zip(items, bodies, strict=True):
        item["len"] = len(body)
    head = json.dumps({**header, "items": items}, separators=(",", ":")).encode()
    blob = b"".join(bodies)
    return _HEAD.pack(len(head), len(blob)) + head + blob
