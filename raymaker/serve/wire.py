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
MAX_FRAME = 1 << 30


async def read_frame(reader: asyncio.StreamReader) -> tuple[dict, list[bytes]]:
    """``(header, bodies)`` of the next frame. Raises IncompleteReadError at EOF."""
    head_len, body_len = _HEAD.unpack(await reader.readexactly(_HEAD.size))
    if head_len > MAX_FRAME or body_len > MAX_FRAME:
        raise ConnectionError("frame too large")
    header = json.loads(await reader.readexactly(head_len))
    blob = await reader.readexactly(body_len) if body_len else b""
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
