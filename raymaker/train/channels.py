"""Training channels: resolve ``{channel: URI}`` and read each worker's shard without Ray Data.

A worker reads its own share straight from the store with pyarrow: whole files round-robin
when there are at least as many files as workers, Parquet row groups otherwise, and a
contiguous slice of the rows for a single CSV/JSON file. This is what the engines' own
tutorials do by hand; going through a Ray Dataset here costs seconds per pass (DESIGN.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from raymaker.data.readers import Source, arrow_schema, file_batches, read_table, resolve
from raymaker.errors import DataError, SpecError


@dataclass
class Shard:
    """Which part of a channel a worker reads."""

    rank: int = 0
    world_size: int = 1


def resolve_channels(store, inputs: dict[str, str], *, required=("train",)) -> dict[str, Source]:
    """Resolve each channel's files. Raises SpecError naming a missing channel, DataError."""
    missing = [c for c in required if c not in inputs]
    if missing:
        given = ", ".join(sorted(inputs)) or "none"
        raise SpecError(f"inputs: channel {missing[0]!r} is required (given: {given})")
    out = {}
    for channel, uri in inputs.items():
        try:
            out[channel] = resolve(store, uri)
        except DataError as exc:
            raise DataError(f"channel {channel!r}: {exc}") from None
    return out


def schema_of(source: Source) -> dict[str, str]:
    """Column name -> Arrow type name, from a Parquet footer or the first CSV/JSON block."""
    return {f.name: str(f.type) for f in arrow_schema(source)}


def head(source: Source, rows: int = 10_000):
    """The first rows of the source (its first row group or block) as a pandas frame."""
    for table in file_batches(source, source.paths[0]):
        return table.slice(0, rows).to_pandas()
    return None


def read_shard(source: Source, shard: Shard = Shard(), columns: list[str] | None = None):
    """This worker's part of ``source`` as an Arrow table. Raises DataError when it is empty."""
    import pyarrow as pa

    rank, world = shard.rank, shard.world_size
    paths = source.paths
    if world > 1 and len(paths) >= world:
        paths = paths[rank::world]
        rank, world = 0, 1
    tables = []
    if source.format == "parquet":
        tables = _parquet_rows(source, paths, rank, world, columns)
    else:
        part = dataclasses.replace(source, paths=paths)
        table = read_table(part)
        if world > 1:
            n = table.num_rows
            start, stop = n * rank // world, n * (rank + 1) // world
            table = table.slice(start, stop - start)
        if columns:
            table = table.select(columns)
        tables.append(table)
    if not tables:
        raise DataError(f"worker {shard.rank} got no rows of {source.uri}")
    table = pa.concat_tables(tables, promote_options="default")
    if table.num_rows == 0:
        raise DataError(f"worker {shard.rank} got no rows of {source.uri}")
    return table


def read_column(source: Source, column: str):
    """One column of the whole source (used to find a label's classes)."""
    if source.format == "parquet":
        return read_shard(source, Shard(), columns=[column]).column(column)
    return read_table(source).column(column)


def _parquet_rows(source: Source, paths: list[str], rank: int, world: int, columns):
    """Rows ``[n*rank/world, n*(rank+1)/world)`` of the files, reading only the row groups
    that overlap them (the footers give every group's row count)."""
    import pyarrow.parquet as pq

    files = []
    for path in paths:
        f = source.filesystem.open_input_file(path)
        files.append((f, pq.ParquetFile(f)))
    try:
        if world == 1:
            return [pf.read(columns=columns) for _, pf in files]
        total = sum(pf.metadata.num_rows for _, pf in files)
        start, stop = total * rank // world, total * (rank + 1) // world
        tables, offset = [], 0
        for _, pf in files:
            for g in range(pf.num_row_groups):
                n = pf.metadata.row_group(g).num_rows
                lo, hi = max(start, offset), min(stop, offset + n)
                if lo < hi:
                    group = pf.read_row_group(g, columns=columns)
                    tables.append(group.slice(lo - offset, hi - lo))
                offset += n
        return tables
    finally:
        for f, _ in files:
            f.close()
