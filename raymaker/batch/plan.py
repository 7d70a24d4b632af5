"""Split a transform's input into work items: byte ranges of text files, row groups of Parquet.

A text file (CSV, JSON Lines) is cut into ranges of about ``ITEM_BYTES``; a range owns the
lines that start inside it, so a worker reads its range plus the rest of its last line and
no line is read twice or lost. A gzip'd file cannot be cut: it is one item, streamed. A
Parquet file is cut at row groups. With ``split_type: None`` every file is one record and
one item. Each item names its file; each file knows its output name, relative to the input's
base (SageMaker: ``<output>/<input key relative to the prefix>.out``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from raymaker.errors import SpecError
from raymaker.inference import codecs

ITEM_BYTES = 16 << 20
FORMATS = {codecs.CSV: "csv", codecs.JSON: "jsonl", codecs.JSONLINES: "jsonl",
           codecs.PARQUET: "parquet"}  # fmt: skip


@dataclass
class InputFile:
    index: int
    path: str  # on the store's Arrow filesystem (or a local path read in place)
    name: str  # relative to the input's base: the output's name
    size: int
    gzip: bool = False
    header: list[str] | None = None  # a CSV file's header row, when it has one
    width: int | None = None  # values in a CSV file's first record
    row_groups: list[int] = field(default_factory=list)  # Parquet: rows per row group
    group_bytes: list[int] = field(default_factory=list)  # Parquet: bytes per row group

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Item:
    id: int
    file: int
    part: int  # the item's place in its file
    parts: int  # items the file has
    start: int  # a byte offset; Parquet: the first row group
    end: int  # exclusive

    def to_dict(self) -> dict:
        return asdict(self)


def input_format(content_type: str, split_type: str) -> str:
    """``csv``, ``jsonl``, ``parquet``, or ``raw`` (one record a file). Raises SpecError."""
    kind = codecs.media_type(content_type)
    if split_type == "None":
        return "raw"
    if kind not in FORMATS:
        allowed = ", ".join(sorted(FORMATS))
        raise SpecError(
            f"input.content_type {content_type!r} cannot be split into lines; allowed with "
            f"split_type Line: {allowed} (or split_type None: one record a file)"
        )
    return FORMATS[kind]


def plan(store, uri: str, fmt: str, *, gzip: bool, columns: list[str] | None = None):
    """``(filesystem, files, items)`` for the input ``uri``. Raises DataError, SpecError.

    ``columns`` (a built-in model's inputs) decide whether a CSV file's first line is a header:
    it is when it names every model column.
    """
    from raymaker.data.readers import list_files

    fs, paths = list_files(store, uri)
    base = _base(store, uri, paths)
    infos = fs.get_file_info(paths)
    files = [
        InputFile(
            index=i,
            path=p,
            name=_relative(p, base),
            size=info.size,
            gzip=gzip or p.lower().endswith(".gz"),
        )
        for i, (p, info) in enumerate(zip(paths, infos, strict=True))
    ]
    if fmt == "csv":
        with ThreadPoolExecutor(max_workers=16) as pool:
            heads = list(pool.map(lambda f: _first_line(fs, f), files))
        for f, head in zip(files, heads, strict=True):
            fields = [c.strip().strip('"') for c in head.split(",")] if head else []
            f.width = len(fields)
            if columns and fields and set(fields) >= set(columns):
                f.header = fields
    elif fmt == "parquet":
        with ThreadPoolExecutor(max_workers=16) as pool:
            groups = list(pool.map(lambda f: _row_groups(fs, f.path), files))
        for f, (rows, sizes) in zip(files, groups, strict=True):
            f.row_groups, f.group_bytes = rows, sizes
    items: list[Item] = []
    for f in files:
        ranges = _ranges(f, fmt)
        for part, (start, end) in enumerate(ranges):
            items.append(Item(len(items), f.index, part, len(ranges), start, end))
    return fs, files, items


def _ranges(f: InputFile, fmt: str) -> list[tuple[int, int]]:
    if fmt == "parquet":
        sizes = f.group_bytes
        if not sizes:
            return [(0, 0)]
        out, start, acc = [], 0, 0
        for g, size in enumerate(sizes):
            acc += size
            if acc >= ITEM_BYTES:
                out.append((start, g + 1))
                start, acc = g + 1, 0
        if start < len(sizes):
            out.append((start, len(sizes)))
        return out
    if fmt == "raw" or f.gzip or f.size <= ITEM_BYTES:
        return [(0, f.size)]
    n = -(-f.size // ITEM_BYTES)
    step = -(-f.size // n)
    return [(s, min(s + step, f.size)) for s in range(0, f.size, step)]


def _first_line(fs, f: InputFile) -> str:
    compression = "gzip" if f.gzip else None
    with fs.open_input_stream(f.path, compression=compression) as stream:
        head = stream.read(1 << 16)
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip("\r\ufeff ")


def _row_groups(fs, path: str) -> tuple[list[int], list[int]]:
    import pyarrow.parquet as pq

    with fs.open_input_file(path) as fh:
        meta = pq.ParquetFile(fh).metadata
    rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    sizes = [meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)]
    return rows, sizes


def _base(store, uri: str, paths: list[str]) -> str:
    """The folder output names are relative to: the prefix, a glob's fixed part, a file's
    folder."""
    from raymaker.data.readers import _outside_local_path

    local = _outside_local_path(store, uri)
    if local is not None:
        return local if os.path.isdir(local) else os.path.dirname(local)
    key = store.key(uri)
    if any(ch in key for ch in "*?["):
        key = key[: min(key.index(ch) for ch in "*?[" if ch in key)].rsplit("/", 1)[0]
    elif len(paths) == 1 and paths[0] == store.arrow_path(key):
        key = key.rsplit("/", 1)[0] if "/" in key else ""
    return store.arrow_path(key) if key else store.arrow_path("").rstrip("/")


def _relative(path: str, base: str) -> str:
    base = base.rstrip("/")
    if base and path.startswith(base + "/"):
        return path[len(base) + 1 :]
    return os.path.basename(path)


def open_output(fs, path: str):
    """An output stream at ``path`` on an Arrow filesystem, its folder created first on a local
    one (an object store has no folders: a marker object there would be listed as a file)."""
    parent = path.rsplit("/", 1)[0]
    if type(fs).__name__ == "LocalFileSystem" and parent and parent != path:
        fs.create_dir(parent, recursive=True)
    return fs.open_output_stream(path)


def check_width(files: list[InputFile], columns: list[str], has_filter: bool) -> None:
    """A CSV file whose records do not have the model's values, with no filter to pick them:
    fail before any work starts. Raises SpecError."""
    if has_filter or not columns:
        return
    for f in files:
        if f.header is None and f.width and f.width != len(columns):
            raise SpecError(
                f"{f.name}: records have {f.width} values, the model takes {len(columns)} "
                f"({', '.join(columns[:8])}{' ...' if len(columns) > 8 else ''}); give "
                "input_filter to pick them (e.g. $[1:] drops a first id column)"
            )
