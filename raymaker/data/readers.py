"""Readers: CSV (with or without a header; gzip'd too), Parquet and JSON Lines, from any store URI.

A source is a file, a prefix or a glob inside the store (or a local path). ``read_dataset``
streams it as a Ray Dataset; ``read_frame`` reads it into pandas without Ray (small data,
tests, single requests). Both use the same options, so they agree on types and names.
Malformed CSV rows fail with their file and line, or are skipped and counted when asked.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from raymaker.errors import DataError, SpecError

BadLines = Literal["error", "skip"]

# suffix -> format, longest suffixes first
SUFFIXES = (
    (".csv.gz", "csv"),
    (".csv", "csv"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
    (".jsonl.gz", "jsonl"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json.gz", "jsonl"),
    (".json", "jsonl"),
)
FORMATS = ("csv", "parquet", "jsonl")
ARROW_TYPES = {
    "int": "int64",
    "int64": "int64",
    "int32": "int32",
    "float": "float64",
    "float64": "float64",
    "float32": "float32",
    "str": "string",
    "string": "string",
    "bool": "bool",
    "date": "date32",
    "datetime": "timestamp[us]",
    "timestamp": "timestamp[us]",
}


def format_of(path: str) -> str | None:
    """The format a file name implies, or None."""
    lower = path.lower()
    for suffix, fmt in SUFFIXES:
        if lower.endswith(suffix):
            return fmt
    return None


@dataclass
class Source:
    """Resolved input: the files to read, their format and the filesystem they live on."""

    uri: str
    format: str
    paths: list[str]
    filesystem: Any
    header: bool = True
    columns: list[str] | None = None
    schema: dict[str, str] | None = None
    delimiter: str = ","
    on_bad_lines: BadLines = "error"
    skipped: dict[str, list[int]] = field(default_factory=dict)
    display_prefix: str = ""  # "s3://" where paths are bucket/key

    @property
    def bad_rows(self) -> int:
        return sum(len(v) for v in self.skipped.values())


def resolve(
    store,
    uri: str,
    *,
    format: str | None = None,
    header: bool = True,
    columns: list[str] | None = None,
    schema: dict[str, str] | None = None,
    delimiter: str = ",",
    on_bad_lines: BadLines = "error",
) -> Source:
    """Find the files of ``uri`` (a file, prefix or glob). Raises DataError, SpecError."""
    if format is not None and format not in FORMATS:
        raise SpecError(f"format {format!r} is not supported; allowed: {', '.join(FORMATS)}")
    if on_bad_lines not in ("error", "skip"):
        raise SpecError(f"on_bad_lines {on_bad_lines!r} is invalid; allowed: error, skip")
    for name, kind in (schema or {}).items():
        if kind not in ARROW_TYPES:
            allowed = ", ".join(sorted(ARROW_TYPES))
            raise SpecError(f"schema.{name}: type {kind!r} is unknown; allowed: {allowed}")
    fs, paths = list_files(store, uri)
    if format is None:
        found = {format_of(p) for p in paths}
        if None in found or len(found) != 1:
            names = ", ".join(sorted(os.path.basename(p) for p in paths)[:5])
            raise SpecError(
                f"cannot tell the format of {uri} from its file names ({names}); "
                f"give format: one of {', '.join(FORMATS)}"
            )
        format = found.pop()
    infos = fs.get_file_info(paths)
    if all(info.size == 0 for info in infos):
        raise DataError(f"the input {uri} is empty ({len(paths)} empty file(s))")
    prefix = "s3://" if type(fs).__name__ == "S3FileSystem" else ""
    return Source(
        uri, format, paths, fs, header, columns, schema, delimiter, on_bad_lines,
        display_prefix=prefix,
    )  # fmt: skip


def list_files(store, uri: str) -> tuple[Any, list[str]]:
    """The filesystem and the data files of ``uri`` (a file, prefix or glob; names starting
    with ``.`` or ``_`` skipped). Raises DataError when there are none."""
    local = _outside_local_path(store, uri)
    if local is not None:
        import pyarrow.fs

        if os.path.isdir(local):
            paths = sorted(
                os.path.join(d, n)
                for d, _, files in os.walk(local)
                for n in files
                if not n.startswith((".", "_"))
            )
        else:
            paths = [local] if os.path.isfile(local) else []
        if not paths:
            raise DataError(f"no data files at {uri}")
        return pyarrow.fs.LocalFileSystem(), paths
    key = store.key(uri)
    if any(ch in key for ch in "*?["):
        base = key[: min(key.index(ch) for ch in "*?[" if ch in key)].rsplit("/", 1)[0]
        keys = [k for k in store.list(base, recursive=True) if fnmatch.fnmatchcase(k, key)]
    else:
        keys = store.list(key, recursive=True)
    keys = [k for k in keys if not os.path.basename(k).startswith((".", "_"))]
    if not keys:
        raise DataError(f"no data files at {uri}")
    return store.arrow_filesystem(), [store.arrow_path(k) for k in sorted(keys)]


def _outside_local_path(store, uri: str) -> str | None:
    """A local path that is not inside a local store: read in place."""
    from raymaker.storage.staging import is_uri, local_path

    if is_uri(uri):
        return None
    path = os.path.abspath(os.path.expanduser(local_path(uri)))
    if not (os.path.isabs(local_path(uri)) or uri.startswith(("file://", "~", "./"))):
        return None  # a relative name is a store key
    if store.root.scheme == "file" and (path + "/").startswith(store.root.path + "/"):
        return None
    return path


# -- CSV options shared by both readers ---------------------------------------------------------
def _csv_options(source: Source):
    import pyarrow as pa
    from pyarrow import csv

    names = source.columns
    read = csv.ReadOptions(
        use_threads=False,
        column_names=names,
        skip_rows=1 if (names and source.header) else 0,
        autogenerate_column_names=not source.header and not names,
    )
    types = {k: pa.type_for_alias(ARROW_TYPES[v]) for k, v in (source.schema or {}).items()}
    convert = csv.ConvertOptions(column_types=types, strings_can_be_null=True)
    return read, convert


def _read_csv_stream(source: Source, stream, path: str):
    """Yield Arrow tables from one CSV stream; malformed rows fail with file and line."""
    import pyarrow as pa
    from pyarrow import csv

    read, convert = _csv_options(source)
    skipped: list[int] = []

    def on_invalid(row):
        if source.on_bad_lines == "skip":
            skipped.append(row.number)
            return "skip"
        return "error"

    parse = csv.ParseOptions(delimiter=source.delimiter, invalid_row_handler=on_invalid)
    try:
        reader = csv.open_csv(
            stream, read_options=read, parse_options=parse, convert_options=convert
        )
        for batch in reader:
            if batch.num_rows:
                yield pa.Table.from_batches([batch])
    except pa.ArrowInvalid as exc:
        message = str(exc).replace("CSV parse error: Row #", "line ")
        hint = " (set on_bad_lines: skip to skip and count such rows)"
        where = f"{source.display_prefix}{path}"
        raise DataError(f"malformed CSV in {where}: {message}{hint}") from None
    if skipped:
        source.skipped.setdefault(path, []).extend(skipped)


def read_frame(source: Source):
    """Read the whole source into a pandas DataFrame in this process (no Ray)."""
    return read_table(source).to_pandas()


def file_batches(source: Source, path: str):
    """Arrow tables of one file, a Parquet row group or a CSV block at a time (no Ray)."""
    import pyarrow.parquet as pq

    if source.format == "parquet":
        with source.filesystem.open_input_file(path) as f:
            pf = pq.ParquetFile(f)
            for g in range(pf.num_row_groups):
                yield pf.read_row_group(g, columns=source.columns, use_threads=False)
        return
    with source.filesystem.open_input_stream(path, compression="detect") as stream:
        if source.format == "csv":
            yield from _read_csv_stream(source, stream, path)
        else:
            from pyarrow import json as pajson

            yield pajson.read_json(stream)


def arrow_schema(source: Source):
    """The source's Arrow schema: a Parquet footer, or the first CSV/JSON block."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = source.paths[0]
    if source.format == "parquet":
        with source.filesystem.open_input_file(path) as f:
            return pq.ParquetFile(f).schema_arrow
    for table in file_batches(source, path):
        return table.schema
    return pa.schema([])


def read_table(source: Source):
    """Read the whole source into an Arrow table in this process (no Ray)."""
    import pyarrow as pa

    tables = []
    for path in source.paths:
        if source.format == "csv":
            with source.filesystem.open_input_stream(path, compression="detect") as stream:
                tables.extend(_read_csv_stream(source, stream, path))
        elif source.format == "parquet":
            import pyarrow.parquet as pq

            tables.append(pq.read_table(path, filesystem=source.filesystem, columns=source.columns))
        else:
            from pyarrow import json as pajson

            with source.filesystem.open_input_stream(path, compression="detect") as stream:
                tables.append(pajson.read_json(stream))
    if not tables:
        raise DataError(f"the input {source.uri} has no rows")
    return pa.concat_tables(tables, promote_options="default")


def read_dataset(source: Source, *, override_num_blocks: int | None = None):
    """Stream the source as a Ray Dataset (Ray must be initialized).

    Skipped CSV rows are counted by a small actor; ``skipped_rows(ds_source)`` reads them after
    the dataset has been consumed.
    """
    import ray

    kwargs = {"filesystem": source.filesystem}
    if override_num_blocks:
        kwargs["override_num_blocks"] = override_num_blocks
    if source.format == "parquet":
        return ray.data.read_parquet(source.paths, columns=source.columns, **kwargs)
    if source.format == "jsonl":
        return ray.data.read_json(source.paths, lines=True, **kwargs)
    counter = _BadRowCounter.remote() if source.on_bad_lines == "skip" else None
    source._counter = counter  # kept with the source for skipped_rows()
    datasource = _make_csv_datasource(source, counter)
    return ray.data.read_datasource(
        datasource, **{k: v for k, v in kwargs.items() if k != "filesystem"}
    )


def skipped_rows(source: Source) -> dict[str, list[int]]:
    """Lines skipped as malformed, per file (after the dataset was consumed)."""
    counter = getattr(source, "_counter", None)
    if counter is None:
        return dict(source.skipped)
    import ray

    return ray.get(counter.summary.remote())


def _make_csv_datasource(source: Source, counter):
    from ray.data._internal.datasource.csv_datasource import CSVDatasource

    plain = Source(
        source.uri, source.format, [], None, source.header, source.columns, source.schema,
        source.delimiter, source.on_bad_lines, display_prefix=source.display_prefix,
    )  # fmt: skip

    class RaymakerCSV(CSVDatasource):
        def _read_stream(self, f, path):
            local = Source(**{**plain.__dict__, "skipped": {}})
            yield from _read_csv_stream(local, f, path)
            if local.skipped and counter is not None:
                import ray

                ray.get(counter.add.remote(local.skipped))

    return RaymakerCSV(source.paths, filesystem=source.filesystem)


def _bad_row_counter_class():
    import ray

    @ray.remote(num_cpus=0)
    class BadRowCounter:
        def __init__(self):
            self.rows: dict[str, set[int]] = {}  # a set: every pass over the data re-reads

        def add(self, skipped: dict[str, list[int]]) -> None:
            for path, lines in skipped.items():
                self.rows.setdefault(path, set()).update(lines)

        def summary(self) -> dict[str, list[int]]:
            return {p: sorted(v) for p, v in self.rows.items()}

    return BadRowCounter


class _LazyActor:
    def __init__(self, factory):
        self._factory, self._cls = factory, None

    def remote(self, *args, **kwargs):
        if self._cls is None:
            self._cls = self._factory()
        return self._cls.remote(*args, **kwargs)


_BadRowCounter = _LazyActor(_bad_row_counter_class)
