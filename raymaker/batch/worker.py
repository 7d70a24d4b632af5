"""One transform worker: the endpoint's handler, loaded once, over items of the input.

The job's driver and each actor of a pool (``pool.py``) hold one ``TransformWorker``: each
call gets one work item (a byte range of a text file, row groups of a Parquet file, or a
whole file), reads it straight from the store, predicts and writes the item's output part
itself. Only a small summary (counts, bad rows) goes back, so no data crosses the object
store.

Built-in models take the columnar path: a chunk is parsed by Arrow, filtered, predicted as one
matrix and formatted with the endpoint's codecs, so a line of output is byte for byte what the
endpoint answers for that record. Custom handlers get SageMaker's requests: up to
``max_payload_mb`` of records per request (``MultiRecord``) or one record (``SingleRecord``).

When a chunk fails, it is bisected until the records that fail are found; each is a bad row
with its file and line. ``fail`` stops at the first; ``skip`` writes them to the errors part
(and an empty output line in its place, so output line n still answers input record n).
Reading an item is ``chunks``; what is written for a block (joins, filters), ``output``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import shutil
import tempfile
import traceback

from raymaker.batch import chunks
from raymaker.batch.chunks import Block
from raymaker.batch.output import COVERED, Output, Prediction, Whole, csv_row, prediction_table
from raymaker.batch.plan import InputFile, open_output
from raymaker.errors import DataError, RaymakerError, SpecError
from raymaker.inference import codecs
from raymaker.specs.jsonpath import compile_path

MAX_ERROR_RECORD = 1000  # characters of a bad record kept in the errors file


class BadRecord(Exception):
    """A record (or a request of several) that the handler could not answer."""


class TransformWorker:
    """Ray Data calls one instance per actor: ``__call__({item fields}) -> {summary fields}``."""

    def __init__(self, config: dict):
        self.config = config
        self.failure: str | None = None
        self.tmp = tempfile.mkdtemp(prefix="raymaker-transform-")
        try:
            self._load(config)
        except Exception as e:  # noqa: BLE001 - every call then reports it (no restart loop)
            self.failure = f"the model could not be loaded: {type(e).__name__}: {e}"
            traceback.print_exc()

    def _load(self, config: dict) -> None:
        from raymaker.inference.reference import ModelRef, load
        from raymaker.storage.store import store_from_env

        ref = ModelRef.from_dict(config["model"])
        self._saved_env = {k: os.environ.get(k) for k in ref.environment}
        os.environ.update(ref.environment)
        self.handler = load(ref, self.tmp)
        store = store_from_env(ref.store_env)
        self.builtin = self.handler.hooks is None
        self.threads = max(1, int(config.get("threads", 1)))  # the instance's cores
        if self.builtin:
            self.handler.model.set_threads(self.threads)
        self.fs = store.arrow_filesystem()
        self.files = {f["index"]: InputFile(**f) for f in config["files"]}
        self.fmt = config["format"]
        self.content_type = config["content_type"]
        self.accept = config["accept"]
        self.parquet_out = self.accept == codecs.PARQUET
        self.line_out = config["assemble_with"] == "Line"
        self.join = config["join_source"] == "Input"
        self.input_filter = compile_path(config.get("input_filter"))
        self.output_filter = compile_path(config.get("output_filter"))
        self.skip_bad = config["on_bad_rows"] == "skip"
        self.single = config["strategy"] == "SingleRecord"
        self.max_payload = int(config["max_payload_mb"]) << 20
        self.staging = config["staging"]  # Arrow path of the job's staging prefix
        self.output = Output(fmt=self.fmt, accept=self.accept, join=self.join,
                             output_filter=self.output_filter, line_out=self.line_out,
                             builtin=self.builtin)  # fmt: skip
        self._line_bases: dict[tuple[int, int], int] = {}

    def close(self) -> None:
        """Put back the environment the handler's ``env`` changed (a job's driver goes on)."""
        for key, value in getattr(self, "_saved_env", {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    def __del__(self):
        shutil.rmtree(getattr(self, "tmp", ""), ignore_errors=True)

    def ready(self) -> str | None:
        """Why the model could not be loaded, or None (a pool's actor is up when this answers)."""
        return self.failure

    def run(self, item: dict) -> dict:
        """Transform one item; its summary. Never raises: a failure is in the summary."""
        s = {"id": item["id"], "rows": 0, "out": 0, "bad": 0, "errors": "",
             "failure": self.failure or "", "part": "", "rss_mb": 0.0}  # fmt: skip
        if self.failure:
            return s
        f = self.files[item["file"]]
        errors: list[dict] = []
        try:
            s["part"] = self._write(f, item, s, errors)
        except _Stop:
            pass  # the summary names the bad record
        except RaymakerError as e:
            s["failure"] = f"{f.name}: {e}"
        except Exception as e:  # noqa: BLE001 - reported with the item, the job decides
            traceback.print_exc()
            s["failure"] = f"{f.name}: {type(e).__name__}: {e}"
        if errors:
            path = f"{self.staging}/errors/{item['id']:06d}.jsonl"
            with open_output(self.fs, path) as out:
                out.write("".join(json.dumps(e) + "\n" for e in errors).encode())
            s["errors"] = path
        s["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return s

    # -- writing -------------------------------------------------------------------------------
    def _write(self, f: InputFile, item: dict, s: dict, errors: list) -> str:
        if self.parquet_out:
            stem = f.name.rsplit(".", 2 if f.name.endswith(".gz") else 1)[0]
            path = f"{self.staging}/out/{stem}-{item['part']:05d}.parquet"
            writer = None
            try:
                for block in self._blocks(f, item):
                    table = self._process(f, block, s, errors)
                    if table is None or not table.num_rows:
                        continue
                    if writer is None:
                        writer = _parquet_writer(self.fs, path, table.schema)
                    elif table.schema != writer.schema:
                        table = _cast(table, writer.schema, f.name)
                    writer.write_table(table)
                    if s["failure"]:
                        break
            finally:
                if writer is not None:
                    writer.close()
                    writer.sink.close()
            return path if writer is not None else ""
        if item["parts"] == 1:
            path = f"{self.staging}/out/{f.name}.out"
        else:
            path = f"{self.staging}/parts/{f.index:06d}/{item['part']:06d}"
        with open_output(self.fs, path) as out:
            for block in self._blocks(f, item):
                data = self._process(f, block, s, errors)
                if data:
                    out.write(data)
                if s["failure"]:
                    break
        return path

    # -- reading -------------------------------------------------------------------------------
    def _blocks(self, f: InputFile, item: dict):
        return chunks.blocks(self.fs, f, item, self.fmt, max_payload=self.max_payload,
                             threads=self.threads)  # fmt: skip

    def _line_of(self, block: Block, index: int) -> int:
        return chunks.line_of(self.fs, block, index)

    # -- predicting ---------------------------------------------------------------------------
    def _process(self, f: InputFile, block: Block, s: dict, errors: list):
        """Predict a block; its output (bytes, or a table for Parquet output)."""
        fast = self._fast(block)
        if fast is not None:
            n, output = fast
            s["rows"] += n
            s["out"] += n
            return output
        if self.fmt == "parquet":
            records = list(range(block.data.num_rows))
        elif self.fmt == "raw":
            records = [(0, block.data)]
        else:
            text = block.data.decode("utf-8", errors="replace")
            records = [(i, ln.rstrip("\r")) for i, ln in enumerate(text.split("\n")) if ln.strip()]
        if not records:
            return None
        block.records = len(records)
        s["rows"] += len(records)
        try:
            outputs = self._predict(block, records)
        except BadRecord:
            outputs = self._isolate(f, block, records, s, errors)
        s["out"] += sum(1 for o in outputs if o is not None)
        return self.output.assemble(block, records, outputs)

    def _isolate(self, f, block, records, s, errors) -> list:
        """Outputs of ``records`` with None for each one that fails alone (bisection)."""
        if len(records) == 1:
            try:
                return self._predict(block, records)
            except BadRecord as e:
                first = records[0]
                line = self._line_of(block, first if self.fmt == "parquet" else first[0])
                message = str(e)
                s["bad"] += 1
                if not self.skip_bad:
                    where = "row" if self.fmt == "parquet" else "line"
                    s["failure"] = (
                        f"{f.name}: bad record at {where} {line}: {message} (set on_bad_rows: "
                        "skip to write such records to _errors.jsonl and go on)"
                    )
                    raise _Stop from None
                errors.append({"file": f.name, "line": line, "error": message,
                               "record": self._record_text(block, records[0])})  # fmt: skip
                return [None]
        half = len(records) // 2
        out = []
        for part in (records[:half], records[half:]):
            try:
                out.extend(self._predict(block, part))
            except BadRecord:
                out.extend(self._isolate(f, block, part, s, errors))
        return out

    def _record_text(self, block: Block, record) -> str:
        if self.fmt == "parquet":
            return json.dumps(block.data.slice(record, 1).to_pylist()[0], default=str)[
                :MAX_ERROR_RECORD
            ]
        raw = record[1]
        return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)[
            :MAX_ERROR_RECORD
        ]

    def _fast(self, block: Block) -> tuple | None:
        """``(records, output)`` of a built-in over a clean CSV or Parquet block, encoded whole
        (no record split out); None when the block needs the record path (a join, a filter on
        output, a blank line, an error)."""
        if not self.builtin or self.fmt not in ("csv", "parquet"):
            return None
        if self.join or self.output_filter:
            return None
        if self.fmt == "parquet":
            n = block.data.num_rows
        else:
            data = block.data
            n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            block.records = n  # the count when no line is blank; checked below
        if not n:
            return None
        model = self.handler.model
        try:
            scores = model.score_frame(self._frame(block, None))
        except Exception:  # noqa: BLE001 - the record path finds and names the cause
            return None
        if len(scores) != n:
            return None
        if self.parquet_out:
            return n, prediction_table([Prediction(i, scores, model) for i in range(n)])
        if self.accept == codecs.CSV:
            return n, model.encode(None, scores, codecs.CSV)
        return n, "".join(t + "\n" for t in codecs.json_texts(model.rows(scores))).encode()

    def _predict(self, block: Block, records: list) -> list:
        """One output per record (str, a table row index, COVERED), or raise BadRecord."""
        try:
            if not self.builtin or self.fmt == "raw":
                return self._requests(block, records)
            return self._builtin(block, records)
        except (BadRecord, _Stop):
            raise
        except (RaymakerError, ValueError, TypeError, KeyError, IndexError) as e:
            raise BadRecord(str(e) or type(e).__name__) from None
        except Exception as e:  # noqa: BLE001 - Arrow and the model raise their own types
            raise BadRecord(f"{type(e).__name__}: {e}") from None

    def _builtin(self, block: Block, records: list | None) -> list:
        """Predictions of ``records`` (None: the whole block) as one matrix."""
        model = self.handler.model
        frame = self._frame(block, records)
        scores = model.score_frame(frame)
        if records is not None and len(scores) != len(records):
            raise BadRecord(f"the model gave {len(scores)} predictions for {len(records)} rows")
        if self.parquet_out:
            return [Prediction(i, scores, model) for i in range(len(scores))]
        if self.accept == codecs.CSV:
            return model.csv_texts(scores)
        return codecs.json_texts(model.rows(scores))

    def _frame(self, block: Block, records: list | None):
        """The model's input columns of ``records`` (None: all) as a DataFrame."""
        columns = self.handler.columns
        if self.fmt == "jsonl":
            rows = []
            for _, line in records:
                try:
                    value = json.loads(line)
                except ValueError as e:
                    raise BadRecord(f"not valid JSON ({e})") from None
                rows.append(self.input_filter.apply(value) if self.input_filter else value)
            return codecs.records_frame(rows, columns, codecs.JSONLINES)
        if self.fmt == "parquet":
            whole = records is None or len(records) == block.data.num_rows
            table = block.data if whole else block.data.take(records)
        else:
            table = self._csv_table(block, records)
        names = table.column_names
        picked = self.input_filter.columns(names) if self.input_filter else None
        if picked is not None:
            table = table.select(picked)
            names = table.column_names
        if set(names) >= set(columns):
            table = table.select(columns)
        elif table.num_columns == len(columns):
            table = table.rename_columns(columns)
        else:
            raise SpecError(
                f"records have {table.num_columns} values, the model takes {len(columns)} "
                f"({', '.join(columns[:8])}{' ...' if len(columns) > 8 else ''})"
            )
        return table.to_pandas()

    def _csv_table(self, block: Block, records: list):
        import pyarrow as pa
        from pyarrow import csv as pacsv

        header = block.file.header
        if records is None or len(records) == block.records:
            data = block.data  # the whole block: no re-joining
        else:
            data = ("\n".join(r[1] for r in records) + "\n").encode()
        names = header or [f"_{i}" for i in range(self._width(data))]
        # The model's input types, so a value that is not a number fails here, by its record.
        schema = self.handler.manifest.get("input_schema") or {}
        if header:
            typed = {n: schema[n] for n in names if n in schema}
        elif not self.input_filter and len(names) == len(self.handler.columns):
            typed = {n: schema.get(c) for n, c in zip(names, self.handler.columns, strict=True)}
        else:
            typed = {}
        types = {n: _arrow_type(t) for n, t in typed.items() if t and _arrow_type(t) is not None}
        try:
            return pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=self.threads > 1),
                parse_options=pacsv.ParseOptions(),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
        except pa.ArrowInvalid as e:
            raise BadRecord(str(e).replace("CSV parse error: ", "").split("\n")[0]) from None

    def _width(self, data: bytes) -> int:
        first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
        return len(next(csv.reader([first]), []))

    def _requests(self, block: Block, records: list) -> list:
        """The custom handler's answers, SageMaker style: one request a record, or as many
        records as fit in ``max_payload_mb`` per request."""
        from raymaker.inference.handler import Request

        if self.fmt == "raw":
            ((_, body),) = records
            return [self._invoke(Request(body, self.content_type, self.accept), 1)[0]]
        bodies = [self._request_text(block, r) for r in records]
        groups, current, size = [], [], 0
        for i, text in enumerate(bodies):
            if current and (self.single or size + len(text) + 1 > self.max_payload):
                groups.append(current)
                current, size = [], 0
            current.append(i)
            size += len(text) + 1
        if current:
            groups.append(current)
        content_type = codecs.JSONLINES if self.fmt == "parquet" else self.content_type
        out: list = []
        for group in groups:
            body = ("\n".join(bodies[i] for i in group) + "\n").encode()
            out.extend(self._invoke(Request(body, content_type, self.accept), len(group)))
        return out

    def _request_text(self, block: Block, record) -> str:
        if self.fmt == "parquet":
            value = block.data.slice(record, 1).to_pylist()[0]
        elif not self.input_filter:
            return record[1]
        elif self.fmt == "csv":
            value = next(csv.reader([record[1]]))
        else:
            value = json.loads(record[1])
        if self.input_filter:
            if self.fmt == "csv":
                picked = self.input_filter.columns(value)
                return csv_row([value[i] for i in picked])
            value = self.input_filter.apply(value)
        return json.dumps(value, default=str)

    def _invoke(self, request, n: int) -> list:
        response = self.handler.invoke([request])[0]
        if response.status != 200:
            try:
                message = json.loads(response.body).get("message", "")
            except ValueError:
                message = response.body.decode("utf-8", "replace")[:500]
            raise BadRecord(f"HTTP {response.status}: {message}")
        body = response.body
        if self.fmt == "raw":
            return [body]
        text = body.decode("utf-8", errors="replace")
        lines = text.splitlines()
        if len(lines) == n:
            return lines
        if self.join or self.output_filter:
            raise DataError(
                f"the handler answered {len(lines)} lines for {n} records; join_source Input "
                "and output_filter need one output line a record"
            )
        return [Whole(text), *[COVERED] * (n - 1)]

    # -- assembling ----------------------------------------------------------------------------


class _Stop(Exception):
    """The first bad record under on_bad_rows: fail; the summary says which."""


def _parquet_writer(fs, path: str, schema):
    """A Parquet writer on its own output stream (``.sink``: the writer leaves it open)."""
    import pyarrow.parquet as pq

    sink = open_output(fs, path)
    writer = pq.ParquetWriter(sink, schema)
    writer.sink = sink
    return writer


def _cast(table, schema, name: str):
    try:
        return table.cast(schema)
    except Exception as e:  # noqa: BLE001 - Arrow's cast errors have several types
        raise DataError(f"column types differ between chunks of {name}: {e}") from None


_ALIASES = {"float": "float64", "double": "float64", "int": "int64", "str": "string"}


def _arrow_type(name: str):
    """The Arrow type a manifest's input schema names, or None (then Arrow infers it)."""
    import pyarrow as pa

    try:
        return pa.type_for_alias(_ALIASES.get(name, name))
    except (ValueError, KeyError):
        return None
