"""Reading one work item: the records of a byte range, a gzip'd stream or row groups, a block
(~4 MiB of text, a Parquet row group) at a time, so a worker's memory stays bounded.

A byte range owns the lines that start inside it (plan.py): reading starts after the first
newline before ``start`` and runs past ``end`` to the end of the last line. A file's header
row is dropped from its first block. Line numbers are known from the start of a file or a
stream, and counted (``line_of``) only when a bad record needs one.
"""

from __future__ import annotations

from dataclasses import dataclass

from raymaker.batch.plan import InputFile
from raymaker.errors import DataError

BLOCK_BYTES = 4 << 20  # a text item is read and predicted a block at a time


@dataclass
class Block:
    """Part of an item: text (from ``offset`` in the file) or an Arrow table of rows."""

    file: InputFile
    data: object
    offset: int  # byte offset in the file (text), or the first row's index (Parquet)
    first_line: int | None  # line (row) number of the first record, 1-based, when known
    records: int = 0  # records in the whole block, once split


def blocks(fs, f: InputFile, item: dict, fmt: str, *, max_payload: int, threads: int = 1):
    """The blocks of one item. Raises DataError for a whole-file record over ``max_payload``."""
    if fmt == "parquet":
        yield from _parquet_blocks(fs, f, item, threads)
    elif fmt == "raw":
        compression = "gzip" if f.gzip else None
        with fs.open_input_stream(f.path, compression=compression) as stream:
            data = stream.read()
        if len(data) > max_payload:
            raise DataError(
                f"the file is {len(data) >> 20} MiB, over max_payload_mb "
                f"({max_payload >> 20}); with split_type None a file is one request"
            )
        yield Block(f, data, 0, 1)
    elif f.gzip:
        yield from _stream_blocks(fs, f)
    else:
        yield from _range_blocks(fs, f, item["start"], item["end"])


def line_of(fs, block: Block, index: int) -> int:
    """The file's line number of the block's ``index``-th line (counted when needed)."""
    if block.first_line is None:
        block.first_line = _count_lines(fs, block.file.path, block.offset) + 1
    return block.first_line + index


def _parquet_blocks(fs, f: InputFile, item: dict, threads: int):
    import pyarrow.parquet as pq

    with fs.open_input_file(f.path) as fh:
        pf = pq.ParquetFile(fh)
        first = sum(f.row_groups[: item["start"]])
        for g in range(item["start"], item["end"]):
            table = pf.read_row_group(g, use_threads=threads > 1)
            yield Block(f, table, first, first + 1)
            first += table.num_rows


def _stream_blocks(fs, f: InputFile):
    """A gzip'd file, decompressed as a stream, cut at line ends."""
    line, rest = 1, b""
    with fs.open_input_stream(f.path, compression="gzip") as stream:
        while True:
            chunk = stream.read(BLOCK_BYTES)
            data = rest + chunk
            if not chunk:
                if data:
                    yield _text_block(f, data, 0, line, line == 1)
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            block, rest = data[:cut], data[cut:]
            yield _text_block(f, block, 0, line, line == 1)
            line += block.count(b"\n")


def _range_blocks(fs, f: InputFile, start: int, end: int):
    """The lines that start in ``[start, end)``, a block at a time."""
    with fs.open_input_file(f.path) as fh:
        pos = start if start == 0 else _next_line(fh, start - 1, f.size)
        while pos < end and pos < f.size:
            stop = min(pos + BLOCK_BYTES, end)
            stop = _next_line(fh, stop - 1, f.size) if stop < f.size else f.size
            data = fh.read_at(stop - pos, pos)
            yield _text_block(f, data, pos, 1 if pos == 0 else None, pos == 0)
            pos = stop


def _text_block(f: InputFile, data: bytes, offset: int, line, first: bool) -> Block:
    if first and f.header is not None:  # the header row is not a record
        cut = data.find(b"\n") + 1 or len(data)
        return Block(f, data[cut:], offset + cut, (line or 1) + 1)
    return Block(f, data, offset, line)


def _next_line(fh, pos: int, size: int) -> int:
    """The offset just after the first newline at or after ``pos`` (``size`` if none)."""
    while pos < size:
        chunk = fh.read_at(min(1 << 16, size - pos), pos)
        hit = chunk.find(b"\n")
        if hit >= 0:
            return pos + hit + 1
        pos += len(chunk)
    return size


def _count_lines(fs, path: str, offset: int) -> int:
    count, pos = 0, 0
    with fs.open_input_file(path) as fh:
        while pos < offset:
            chunk = fh.read_at(min(1 << 22, offset - pos), pos)
            count += chunk.count(b"\n")
            pos += len(chunk)
    return count
