"""The step cache, keyed by content.

A step's key is the sha256 of its type, its resolved arguments and the content of everything
they name in the store: each URI an argument holds (data, code, a model, an earlier step's
output) stands in the key as the sha256 of the bytes under it, never as its path. Job names,
upload folders, times and tags are not in it, so a second run over the same data and code
hits, wherever its files were staged, and a changed file misses. The parts of the key are kept
with each entry, so a miss says which part changed.

    pipelines/<pipeline>/cache/<step>/<key>.json   {key, parts, job, properties, created_at}
    pipelines/<pipeline>/cache/<step>/latest.json  the last entry written (to explain a miss)
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from raymaker.errors import InvalidKey, NotFound
from raymaker.jobs.records import JobStatus, read_record
from raymaker.storage import join, layout
from raymaker.storage.staging import is_uri

# fields that say where a step writes, not what it reads: kept as text, never hashed
OUTPUT_FIELDS = {"destination", "output_path", "checkpoint_uri", "path", "s3_output_path"}
# fields that do not change what a step computes
IGNORED = {"name", "description", "tags", "experiment_config"}


def cache_dir(pipeline: str, step: str) -> str:
    return join(layout.PIPELINES, pipeline, "cache", step)


def key_parts(store, step_type: str, arguments: dict, memo: dict | None = None) -> dict:
    """``{"type", "arguments", "inputs"}``: the arguments with each input named by its place
    (``<input inputs.train>``), and each input's URI and content hash."""
    memo = {} if memo is None else memo
    inputs: dict[str, dict] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {
                k: walk(v, f"{path}.{k}" if path else k)
                for k, v in sorted(value.items())
                if not (not path and k in IGNORED)
            }
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if isinstance(value, str) and leaf not in OUTPUT_FIELDS:
            digest = content_hash(store, value, memo)
            if digest is not None:
                inputs[path] = {"uri": value, "sha256": digest}
                return f"<input {path}>"
        return value

    return {"type": step_type, "arguments": walk(arguments, ""), "inputs": inputs}


def key_of(parts: dict) -> str:
    """The key: the parts with each input's content hash, not its URI."""
    keyed = {**parts, "inputs": {k: v["sha256"] for k, v in parts["inputs"].items()}}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()


def content_hash(store, value: str, memo: dict) -> str | None:
    """The sha256 of what ``value`` names in the store (an object, or every file under a
    prefix: each relative path and its bytes), or None when it names nothing there."""
    if value in memo:
        return memo[value]
    memo[value] = None
    if not value or len(value) > 2048 or "\n" in value:
        return None
    if not is_uri(value) and not value.startswith("file://"):
        top = value.split("/", 1)[0]
        if top not in layout.TOP_LEVEL:  # a bare word ("python3", "churn"): not a key
            return None
    try:
        key = store.key(value)
    except (InvalidKey, ValueError):
        return None
    if not key:
        return None
    try:
        keys = store.list(key, recursive=True)
    except (NotFound, OSError):
        return None
    if not keys:
        return None
    h = hashlib.sha256()
    for k in sorted(keys):
        h.update(k[len(key) :].encode() + b"\0")
        with store.open(k, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    memo[value] = h.hexdigest()
    return memo[value]


def lookup(
    store,
    pipeline: str,
    step: str,
    key: str,
    expire_after_s: float | None,
    now: float | None = None,
) -> tuple[dict | None, str]:
    """The cached entry for ``key`` (its job still there and SUCCEEDED), else None and why."""
    now = time.time() if now is None else now
    try:
        entry = store.read_json(join(cache_dir(pipeline, step), f"{key}.json"))
    except NotFound:
        return None, ""
    age = now - entry["created_at"]
    if expire_after_s is not None and age > expire_after_s:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["created_at"]))
        return None, f"the cached result of {when} expired (older than {expire_after_s:g} s)"
    try:
        record = read_record(store, entry["job"])
    except NotFound:
        return None, f"the cached job {entry['job']} is gone from the store"
    if record.status != JobStatus.SUCCEEDED:
        return None, f"the cached job {entry['job']} is {record.status.value}"
    return entry, ""


def save(
    store,
    pipeline: str,
    step: str,
    key: str,
    parts: dict,
    *,
    job: str | None,
    properties: dict,
    execution: str,
) -> None:
    entry = {
        "key": key,
        "parts": parts,
        "job": job,
        "properties": properties,
        "execution": execution,
        "created_at": time.time(),
    }
    folder = cache_dir(pipeline, step)
    store.write_json(join(folder, f"{key}.json"), entry)
    store.write_json(join(folder, "latest.json"), entry)


def explain_miss(store, pipeline: str, step: str, parts: dict) -> str:
    """Why ``parts`` found nothing: what differs from the step's last cached entry."""
    try:
        last = store.read_json(join(cache_dir(pipeline, step), "latest.json"))
    except NotFound:
        return "nothing cached for this step yet"
    before = last["parts"]
    changes = []
    if before.get("type") != parts.get("type"):
        changes.append(f"the step type changed ({before.get('type')} -> {parts.get('type')})")
    old_in, new_in = before.get("inputs", {}), parts.get("inputs", {})
    for path in sorted(set(old_in) | set(new_in)):
        a, b = old_in.get(path), new_in.get(path)
        if a is None:
            changes.append(f"new input {path} ({b['uri']})")
        elif b is None:
            changes.append(f"input {path} is no longer read ({a['uri']})")
        elif a["sha256"] != b["sha256"]:
            changes.append(
                f"input {path} changed: {b['uri']} sha256 {a['sha256'][:12]} -> {b['sha256'][:12]}"
            )
    old_args, new_args = _flat(before.get("arguments")), _flat(parts.get("arguments"))
    for path in sorted(set(old_args) | set(new_args)):
        a, b = old_args.get(path, "<unset>"), new_args.get(path, "<unset>")
        if a != b:
            changes.append(f"argument {path}: {_short(a)} -> {_short(b)}")
    if not changes:
        return "the key matches the last entry, whose result was not kept"
    return "; ".join(changes[:8]) + (f"; and {len(changes) - 8} more" if len(changes) > 8 else "")


def _flat(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{path}.{k}" if path else k))
        return out
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{path}[{i}]"))
        return out
    return {path: value}


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
