"""Request bodies in, response bodies out: SageMaker's content types.

- ``text/csv``: rows of values (a header row naming the columns is optional); one line a row.
- ``application/json``: ``{"instances": [...]}``, ``{"inputs": ...}``, records or raw arrays;
  ``{"predictions": [...]}``.
- ``application/jsonlines``: one JSON row (list or object) a line; one JSON object a line.
- ``application/x-npy``: a NumPy ``.npy`` array, never a pickle; a ``.npy`` array of scores.

A body that does not parse is a ``SpecError`` naming the content type and what was wrong: the
server answers 400 with that message. A body is judged by its shape before it is parsed
(``check_shape``: the first CSV line's width, the row count), so a hostile body costs
microseconds, not a replica's seconds; values are checked against the model's input schema
(``check_frame``) so a dict, a list or a word in a numeric feature is a 400, never a score.
"""

from __future__ import annotations

import io
import json

from raymaker.errors import SpecError

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"
PARQUET = "application/x-parquet"
MAX_ROWS = 100_000  # rows in one request (an endpoint answers rows; batch transform takes files)
EXTRA_COLUMNS = 64  # a CSV header may name this many columns beyond the model's
CONTENT_TYPES = (CSV, JSON, JSONLINES, NPY)
_ALIASES = {
    "text/plain": CSV,
    "application/csv": CSV,
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
    "application/x-ndjson": JSONLINES,
    "application/npy": NPY,
    "application/vnd.apache.parquet": PARQUET,
    "application/parquet": PARQUET,
}


def media_type(value: str | None, *, default: str | None = None) -> str | None:
    """``value`` without parameters (``; charset=...``), lower case, aliases resolved."""
    if not value:
        return default
    base = value.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def negotiate(accept: str | None, content_type: str) -> str:
    """The response type for an ``Accept`` header: its first supported type, else the request's.

    Raises SpecError (the server answers 406) when nothing acceptable is supported.
    """
    if not accept:
        return content_type if content_type in CONTENT_TYPES else JSON
    wanted = []
    for part in accept.split(","):
        kind = media_type(part)
        if not kind:
            continue
        q = 1.0
        for param in part.split(";")[1:]:
            key, _, val = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        wanted.append((q, kind))
    for q, kind in sorted(wanted, key=lambda pair: -pair[0]):
        if q <= 0:
            continue
        if kind in ("*/*", "application/*", "text/*"):
            return content_type if content_type in CONTENT_TYPES else JSON
        if kind in CONTENT_TYPES:
            return kind
    raise NotAcceptable(f"Accept {accept!r}: supported types are {', '.join(CONTENT_TYPES)}")


class NotAcceptable(SpecError):
    """No response type in ``Accept`` is supported (HTTP 406)."""

    http_status = 406


class UnsupportedType(SpecError):
    """The request's content type is not supported (HTTP 415)."""

    http_status = 415


# -- requests -----------------------------------------------------------------------------------
def decode_rows(body: bytes, content_type: str, columns: list[str]):
    """A request body as a DataFrame with ``columns`` (the model's raw inputs).

    Rows may be positional (values in ``columns`` order) or named (records, or a CSV header).
    Run ``check_shape`` on the body first. Raises SpecError naming the content type and the
    problem.
    """
    kind = media_type(content_type, default=CSV)
    if kind == CSV:
        return _csv_frame(body, columns)
    if kind == NPY:
        array = decode_npy(body, numeric=True)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise SpecError(f"{NPY}: a {array.ndim}-dimensional array; send rows (2 dimensions)")
        if len(array) > MAX_ROWS:
            raise SpecError(f"{NPY}: {len(array)} rows; at most {MAX_ROWS} a request")
        return _positional(array.tolist(), columns, kind)
    if kind == JSON:
        rows = _json_rows(load_json(body, kind))
    elif kind == JSONLINES:
        rows = load_json_lines(body)
    else:
        raise UnsupportedType(
            f"Content-Type {content_type!r} is not supported; use one of {', '.join(CONTENT_TYPES)}"
        )
    if not rows:
        raise SpecError(f"{kind}: the request has no rows")
    if len(rows) > MAX_ROWS:
        raise SpecError(f"{kind}: {len(rows)} rows; at most {MAX_ROWS} a request")
    return records_frame(rows, columns, kind)


def check_shape(body: bytes, content_type: str, columns: list[str]) -> None:
    """Refuse a body by its shape before anything parses it: a CSV whose first line is far
    wider than the model's columns, or more than ``MAX_ROWS`` lines. Costs a scan of bytes
    (~1 ms for 6 MB); raises SpecError."""
    kind = media_type(content_type, default=CSV)
    if kind not in (CSV, JSONLINES):
        return
    lines = body.count(b"\n") + 1
    if lines > MAX_ROWS + 1:
        raise SpecError(f"{kind}: {lines} lines; at most {MAX_ROWS} rows a request")
    if kind == CSV and columns:
        end = body.find(b"\n")
        width = body.count(b",", 0, end if end >= 0 else len(body)) + 1
        if width > len(columns) + EXTRA_COLUMNS:
            raise SpecError(
                f"{CSV}: the first row has {width} values, the model takes {len(columns)} "
                f"({_names(columns)})"
            )


def check_frame(frame, schema: dict[str, str], kind: str) -> None:
    """Raise SpecError naming the column and row of the first value that does not fit the
    model's input schema: a dict or list anywhere, a boolean or a word in a numeric column.
    Columns pandas already typed as numbers cost nothing; only object and boolean columns
    are looked at."""
    for name, dtype in zip(frame.columns, frame.dtypes, strict=True):
        want = str(schema.get(name, ""))
        numeric = want.startswith(_NUMERIC) and not want.startswith("bool")
        if dtype.kind in "iuf":
            continue
        if dtype.kind == "c":
            raise SpecError(f"{kind}: column {name!r} holds complex numbers")
        if dtype.kind == "b":
            if numeric:
                raise SpecError(f"{kind}: column {name!r} is {want}; row 0 sends a boolean")
            continue
        if dtype.kind != "O":
            continue
        for row, value in enumerate(frame[name].tolist()):
            if value is None or isinstance(value, float):
                continue
            if isinstance(value, (dict, list, tuple)):
                raise SpecError(
                    f"{kind}: column {name!r}, row {row}: a {type(value).__name__} where a "
                    "single value belongs"
                )
            if isinstance(value, complex):
                raise SpecError(f"{kind}: column {name!r}, row {row}: a complex number")
            if numeric and isinstance(value, bool):
                raise SpecError(f"{kind}: column {name!r} is {want}; row {row} sends a boolean")
            if numeric and isinstance(value, str) and value.strip():
                try:
                    float(value)
                except ValueError:
                    raise SpecError(
                        f"{kind}: column {name!r} is {want}; row {row} sends {value[:40]!r}"
                    ) from None


_NUMERIC = ("int", "uint", "float", "double", "halffloat", "decimal")


def _names(columns: list[str], most: int = 12) -> str:
    shown = ", ".join(columns[:most])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > most else "")


def records_frame(rows: list, columns: list[str], kind: str = JSONLINES):
    """Parsed JSON rows (objects by column name, or arrays in ``columns`` order) as a DataFrame.

    Raises SpecError naming what does not fit the model's columns.
    """
    import pandas as pd

    if all(isinstance(r, dict) for r in rows):
        rows = [r.get("features", r) if set(r) == {"features"} else r for r in rows]
    if all(isinstance(r, dict) for r in rows):
        missing = sorted({c for r in rows for c in columns if c not in r})
        if missing:
            raise SpecError(f"{kind}: records lack the columns {', '.join(missing)}")
        return pd.DataFrame([[r.get(c) for c in columns] for r in rows], columns=columns)
    if any(isinstance(r, dict) for r in rows):
        raise SpecError(f"{kind}: mix of records and arrays; send one or the other")
    return _positional(rows, columns, kind)


def decode_array(body: bytes, content_type: str):
    """A request body as a NumPy array (or a parsed JSON value): the default ``input_fn``."""
    import numpy as np

    kind = media_type(content_type, default=CSV)
    if kind == NPY:
        return decode_npy(body)
    if kind == CSV:
        try:
            return np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)
        except (ValueError, IndexError) as e:
            raise SpecError(f"{CSV}: {e}") from None
    if kind == JSON:
        data = load_json(body, kind)
        rows = _json_rows(data) if isinstance(data, dict) else data
        try:
            return np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError):
            return data
    if kind == JSONLINES:
        return np.asarray(load_json_lines(body), dtype=np.float32)
    raise UnsupportedType(
        f"Content-Type {content_type!r} is not supported; use one of {', '.join(CONTENT_TYPES)}"
    )


def decode_npy(body: bytes, numeric: bool = False):
    """A ``.npy`` body; object arrays (pickles) are refused, and with ``numeric`` anything but
    an array of at least one dimension of booleans, integers or reals."""
    import numpy as np

    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except ValueError as e:
        raise SpecError(f"{NPY}: not a plain .npy array ({e})") from None
    except Exception as e:  # noqa: BLE001 - numpy raises several types for a bad header
        raise SpecError(f"{NPY}: could not read the array ({type(e).__name__}: {e})") from None
    if numeric and array.dtype.kind not in "biuf":
        raise SpecError(f"{NPY}: the array holds {array.dtype} values; send integers or reals")
    if numeric and array.ndim == 0:
        raise SpecError(f"{NPY}: a 0-dimensional array (a scalar); send a row or rows")
    return array


def _csv_frame(body: bytes, columns: list[str]):
    import pandas as pd

    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise SpecError(f"{CSV}: the request has no rows")
    first = text.split("\n", 1)[0].strip().split(",")
    header = (
        [c.strip().strip('"') for c in first]
        if set(c.strip().strip('"') for c in first) >= set(columns)
        else None
    )
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=0 if header else None,
            skipinitialspace=True,
            keep_default_na=True,
            dtype=None,
        )
    except Exception as e:  # noqa: BLE001 - pandas' parser errors have no common base
        raise SpecError(f"{CSV}: {e}") from None
    if frame.empty:
        raise SpecError(f"{CSV}: the request has a header and no rows")
    if len(frame) > MAX_ROWS:
        raise SpecError(f"{CSV}: {len(frame)} rows; at most {MAX_ROWS} a request")
    if header:
        return frame[columns]
    if frame.shape[1] != len(columns):
        raise SpecError(
            f"{CSV}: rows have {frame.shape[1]} values, the model takes {len(columns)} "
            f"({', '.join(columns)})"
        )
    frame.columns = columns
    return frame


def _positional(rows: list, columns: list[str], kind: str):
    import pandas as pd

    for i, row in enumerate(rows):
        if not isinstance(row, list):
            row = rows[i] = [row] if len(columns) == 1 else row
        if not isinstance(row, list) or len(row) != len(columns):
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise SpecError(
                f"{kind}: row {i} has {got} values, the model takes {len(columns)} "
                f"({', '.join(columns)})"
            )
    return pd.DataFrame(rows, columns=columns)


MAX_JSON_DEPTH = 100  # TF Serving tensors are a handful deep; a body deeper than this is an attack


def load_json(body: bytes | str, kind: str = JSON):
    """Parse a JSON body, refusing one nested deeper than :data:`MAX_JSON_DEPTH` by our own
    count, so the answer does not depend on the process's recursion limit (libraries raise it)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"{kind}: body is not valid JSON ({e})") from None
    except RecursionError:
        raise SpecError(f"{kind}: the JSON is nested too deeply") from None
    opens = ("[", "{") if isinstance(body, str) else (b"[", b"{")
    if body.count(opens[0]) + body.count(opens[1]) > MAX_JSON_DEPTH and _too_deep(data):
        raise SpecError(f"{kind}: the JSON is nested too deeply (over {MAX_JSON_DEPTH} levels)")
    return data


def _too_deep(data) -> bool:
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return True
        nested = []
        for item in level:
            if isinstance(item, list):
                nested.extend(x for x in item if isinstance(x, (list, dict)))
            elif isinstance(item, dict):
                nested.extend(x for x in item.values() if isinstance(x, (list, dict)))
        level = nested
    return False


def _json_rows(data) -> list:
    if isinstance(data, dict):
        for key in ("instances", "inputs", "data"):
            if key in data:
                value = data[key]
                return value if isinstance(value, list) else [value]
        return [data]
    if isinstance(data, list):
        if data and not isinstance(data[0], (list, dict)):
            return [data]  # one row given as a flat array
        return data
    raise SpecError(f"{JSON}: expected an object or an array, got {type(data).__name__}")


def load_json_lines(body: bytes | str) -> list:
    """One value a non-blank line, each bounded like :func:`load_json`; errors name the line."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            rows.append(load_json(line, f"{JSONLINES}: line {n}"))
    return rows


# -- responses ----------------------------------------------------------------------------------
def encode_predictions(rows: list[dict], scores, accept: str) -> bytes:
    """Encode built-in predictions: ``rows`` (one dict a row) for JSON, ``scores`` otherwise."""
    import numpy as np

    if accept == JSON:
        return json.dumps({"predictions": rows}, separators=(",", ":")).encode()
    if accept == JSONLINES:
        return "".join(t + "\n" for t in json_texts(rows)).encode()
    if accept == NPY:
        return encode_npy(np.asarray(scores))
    if accept == CSV:
        return _csv_lines(scores)
    raise NotAcceptable(f"Accept {accept!r}: supported types are {', '.join(CONTENT_TYPES)}")


def encode_value(value, accept: str) -> bytes:
    """Encode any array-like or JSON-able value: the default ``output_fn``."""
    import numpy as np

    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if accept == NPY:
        return encode_npy(np.asarray(value))
    if accept == CSV:
        return _csv_lines(np.asarray(value))
    if hasattr(value, "tolist"):
        value = value.tolist()
    if accept == JSONLINES and isinstance(value, list):
        return "".join(json.dumps(v, default=str) + "\n" for v in value).encode()
    return json.dumps(value, default=str).encode()


def encode_npy(array) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


ARROW_FORMAT_MIN = 256  # values; below, Arrow's per-call cost (~140 us) outweighs its speed


def _csv_lines(scores) -> bytes:
    """CSV lines of predictions, newline-terminated: what a ``text/csv`` answer holds."""
    import numpy as np

    arr = np.asarray(scores)
    if arr.ndim <= 1 and arr.dtype.kind == "f" and arr.size >= ARROW_FORMAT_MIN:
        import pyarrow as pa
        import pyarrow.compute as pc

        lines = _repr_strings(arr.reshape(-1))
        whole = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines)
        return (pc.binary_join(whole, "\n")[0].as_py() + "\n").encode()
    texts = csv_texts(arr)
    return ("\n".join(texts) + "\n").encode() if texts else b""


def csv_texts(scores) -> list[str]:
    """One CSV line a prediction (no newline): the score, or a row's scores comma-separated.

    Numbers are ``repr``'s shortest round-trip form, whatever the path: plain ``repr`` for an
    endpoint's few rows (~1 us), Arrow for a batch's block (no GIL held, so transform lanes
    format in parallel).
    """
    import numpy as np

    arr = np.asarray(scores)
    if arr.ndim <= 1:
        flat = arr.reshape(-1)
        if flat.dtype.kind == "f":
            if flat.size >= ARROW_FORMAT_MIN:
                return _repr_strings(flat).to_pylist()
            return list(map(repr, flat.astype(np.float64).tolist()))
        return [_num(v) for v in flat.tolist()]
    return [",".join(_num(v) for v in row) for row in arr.tolist()]


def _repr_strings(values):
    """Arrow strings equal to ``repr(float(v))``: Arrow writes the same shortest digits, but
    not ``repr``'s layout for whole numbers (``1`` for ``1.0``), |v| < 1e-4 or >= 1e9, nan and
    inf; those few are written by ``repr``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.asarray(values, dtype=np.float64)
    strings = pc.cast(pa.array(x), pa.string())
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(x)
        odd = ~np.isfinite(x) | (x == np.floor(x)) | (magnitude < 1e-4) | (magnitude >= 1e9)
    if odd.any():
        fixed = pa.array([repr(v) for v in x[odd].tolist()], pa.string())
        strings = pc.replace_with_mask(strings, pa.array(odd), fixed)
    return strings


def json_texts(rows: list[dict]) -> list[str]:
    """One compact JSON object a prediction (no newline), as ``application/jsonlines`` has."""
    return [json.dumps(r, separators=(",", ":")) for r in rows]


def _num(v) -> str:
    return repr(float(v)) if isinstance(v, float) else str(v)
