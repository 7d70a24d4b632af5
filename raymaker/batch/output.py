"""What a transform writes for a block: its records' outputs, joined with their inputs
(``join_source: Input``) and filtered (``output_filter``), as text lines or a Parquet table.

CSV joins append the prediction to the input line; JSON joins add ``SageMakerOutput`` to the
input object (or wrap a non-object as ``SageMakerInput``); Parquet joins add the prediction
columns to the input's. A bad record keeps its place as an empty line.
"""

from __future__ import annotations

import csv
import io
import json

from raymaker.batch.chunks import Block
from raymaker.errors import SpecError
from raymaker.inference import codecs

COVERED = object()  # an output that an earlier record's (one request's whole answer) holds


class Output:
    """The output options of one transform: ``assemble(block, records, outputs)``."""

    def __init__(self, *, fmt: str, accept: str, join: bool, output_filter, line_out: bool,
                 builtin: bool):  # fmt: skip
        self.fmt = fmt
        self.accept = accept
        self.parquet_out = accept == codecs.PARQUET
        self.join = join
        self.output_filter = output_filter
        self.line_out = line_out
        self.builtin = builtin

    def assemble(self, block: Block, records: list | None, outputs: list):
        if self.parquet_out:
            return self._table(block, records, outputs)
        if self.fmt == "raw":
            body = outputs[0] if outputs[0] is not None else b""
            return body if isinstance(body, bytes) else str(body).encode()
        # A record's output is a line, as a container's CSV / JSON Lines answer has them;
        # assemble_with decides only for a custom handler's whole answers (one a request).
        plain = not self.join and not self.output_filter
        pieces = []
        for record, out in zip(records, outputs, strict=True):
            if out is COVERED:
                continue
            if out is None:
                pieces.append("\n")  # a bad record keeps its place
            elif isinstance(out, Whole):
                pieces.append(out if not self.line_out or out.endswith("\n") else out + "\n")
            else:
                pieces.append((out if plain else self._joined(block, record, out)) + "\n")
        return "".join(pieces).encode()

    def _joined(self, block: Block, record, out: str) -> str:
        """``out`` joined with its input record (join_source Input), then output_filter."""
        if self.fmt == "parquet":
            source = block.data.slice(record, 1).to_pylist()[0]
            raw = None
        else:
            source, raw = None, record[1]
        if self.accept == codecs.CSV:
            if raw is not None and not self.output_filter and self.fmt == "csv":
                return f"{raw},{out}"
            fields = []
            if self.join:
                if self.fmt == "csv":
                    fields = next(csv.reader([raw]))
                elif source is not None:
                    fields = [_text(v) for v in source.values()]
                else:
                    raise SpecError(
                        "join_source Input with JSON input needs a JSON accept "
                        "(application/jsonlines); CSV cannot hold a JSON record"
                    )
            fields = fields + next(csv.reader([out]))
            if self.output_filter:
                names = self._joined_names(block, len(fields))
                fields = [fields[i] for i in self.output_filter.columns(names)]
            return csv_row(fields)
        prediction = json.loads(out)
        value = prediction
        if self.join:
            if self.fmt == "jsonl":
                source = json.loads(raw)
            elif self.fmt == "csv":
                source = next(csv.reader([raw]))
            if isinstance(source, dict):
                value = {**source, "SageMakerOutput": prediction}
            else:
                value = {"SageMakerInput": source, "SageMakerOutput": prediction}
        if self.output_filter:
            value = self.output_filter.apply(value)
        return json.dumps(value, separators=(",", ":"), default=str)

    def _joined_names(self, block: Block, width: int) -> list[str]:
        names = list(block.file.header or []) if self.join else []
        if self.join and not names:
            names = [f"_{i}" for i in range(width)]
        while len(names) < width:
            names.append("SageMakerOutput")
        return names[:width]

    def _table(self, block: Block, records: list, outputs: list):
        import pyarrow as pa

        kept = [i for i, o in enumerate(outputs) if o is not None]
        if not kept:
            return None
        if not self.builtin:
            lines = [str(outputs[i]) for i in kept if outputs[i] is not COVERED]
            table = pa.table({"SageMakerOutput": lines})
            if self.join and len(lines) == len(kept):
                table = _with_columns(self._input_table(block, [records[i] for i in kept]), table)
        else:
            preds = [outputs[i] for i in kept]
            table = prediction_table(preds)
            if self.join:
                table = _with_columns(self._input_table(block, [records[i] for i in kept]), table)
        if self.output_filter:
            table = table.select(self.output_filter.columns(table.column_names))
        return table

    def _input_table(self, block: Block, records: list):
        import pyarrow as pa

        if self.fmt == "parquet":
            return block.data.take(records)
        if self.fmt == "csv":
            names = block.file.header
            rows = [next(csv.reader([r[1]])) for r in records]
            width = max((len(r) for r in rows), default=0)
            names = names or [f"_{i}" for i in range(width)]
            return pa.table({n: [r[i] if i < len(r) else None for r in rows]
                             for i, n in enumerate(names)})  # fmt: skip
        values = [json.loads(r[1]) for r in records]
        if all(isinstance(v, dict) for v in values):
            return pa.Table.from_pylist(values)
        return pa.table({"SageMakerInput": [json.dumps(v) for v in values]})


class Whole(str):
    """A custom handler's whole answer to a request of several records (not one a line)."""


class Prediction:
    """A built-in's prediction kept as (index, scores) until the table is built."""

    __slots__ = ("index", "scores", "model")

    def __init__(self, index, scores, model):
        self.index, self.scores, self.model = index, scores, model


def prediction_table(preds: list):
    """Columns ``score`` (+ ``predicted_label``), or ``scores`` + ``predicted_label``."""
    import numpy as np
    import pyarrow as pa

    groups: dict[int, tuple] = {}
    for p in preds:
        groups.setdefault(id(p.scores), (p.scores, p.model, []))[2].append(p.index)
    rows: list[dict] = []
    for scores, model, index in groups.values():
        picked = np.asarray(scores)[index]
        rows.extend(model.rows(picked))
    return pa.Table.from_pylist(rows)


def _with_columns(left, right):
    for name in right.column_names:
        column = right.column(name)
        target = name if name not in left.column_names else f"{name}_prediction"
        left = left.append_column(target, column)
    return left


def csv_row(fields: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def _text(value) -> str:
    return "" if value is None else str(value)
