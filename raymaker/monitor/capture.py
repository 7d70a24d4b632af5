"""Reading an endpoint's captured traffic (``raymaker.serve.capture``'s files) for a window.

The files of a window are found by their hour folders (``<endpoint>/<variant>/yyyy/mm/dd/hh``)
and their records kept by ``eventMetadata.inferenceTime``. A batch of files is parsed by
Arrow's JSON reader; the CSV bodies of its records are joined and parsed once by Arrow's CSV
reader, so a million records never become a million Python dicts. Columns are named by the
schedule's feature list (the baseline's, for CSV without a header): column roles are given,
never guessed from order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from raymaker.errors import DataError

FILES_PER_BATCH = 64
BATCH_BYTES = 32 << 20  # capture JSON read at once (a window's memory is about 4x this)
EVENT_ID, INFERENCE_ID, TIME = "eventId", "inferenceId", "inferenceTime"
META = (EVENT_ID, INFERENCE_ID, TIME)


def window_keys(store, prefix: str, start: float, end: float) -> list[str]:
    """The capture files under ``prefix`` (``capture/<endpoint>/<variant>``) whose hour
    folders overlap ``[start, end)`` (epoch seconds), oldest first."""
    keys: list[str] = []
    hour = datetime.fromtimestamp(start, UTC).replace(minute=0, second=0, microsecond=0)
    last = datetime.fromtimestamp(end, UTC)
    while hour <= last:
        folder = f"{prefix.rstrip('/')}/{hour:%Y/%m/%d/%H}"
        if store.exists(folder):
            keys.extend(k for k in store.list(folder) if k.endswith(".jsonl"))
        hour += timedelta(hours=1)
    return sorted(keys)


def variants(store, prefix: str) -> list[str]:
    """The variant folders an endpoint's capture has (``capture/<endpoint>/<variant>``)."""
    if not store.exists(prefix):
        return []
    return sorted(k for k in store.list(prefix) if not k.rsplit("/", 1)[-1].startswith("."))


def read_window(
    store,
    keys: list[str],
    start: float,
    end: float,
    features: list[str],
    *,
    output: str | None = "prediction",
    files_per_batch: int = FILES_PER_BATCH,
    batch_bytes: int = BATCH_BYTES,
) -> Iterator[pd.DataFrame]:
    """DataFrames of the window's rows, a batch of files (up to ``batch_bytes``) at a time,
    so memory is bounded by a batch: the request's features
    (named by ``features``), the answer as ``output`` (None: left out), and the record's
    ``eventId``, ``inferenceId`` and ``inferenceTime``."""
    batch: list[bytes] = []
    size = 0
    for i, key in enumerate(keys):
        data = store.read_bytes(key)
        batch.append(data if data.endswith(b"\n") else data + b"\n")
        size += len(data)
        if size < batch_bytes and len(batch) < files_per_batch and i + 1 < len(keys):
            continue
        text, batch, size = b"".join(batch), [], 0
        if not text.strip():
            continue
        frame = records_frame(text, start, end, features, output)
        if len(frame):
            yield frame


def records_frame(text: bytes, start: float, end: float, features: list[str],
                  output: str | None) -> pd.DataFrame:  # fmt: skip
    """The rows of capture records (JSON lines) inside ``[start, end)``."""
    import pyarrow as pa
    import pyarrow.json as pajson

    try:
        table = pajson.read_json(io.BytesIO(text))
    except Exception as e:  # noqa: BLE001 - Arrow's parse errors carry no file name
        raise DataError(f"capture records are not valid JSON lines: {e}") from None
    rec = table.flatten().flatten().flatten()
    names = set(rec.column_names)
    times = pd.to_datetime(
        rec.column("eventMetadata.inferenceTime").to_pandas(), utc=True, format="ISO8601"
    )
    epoch = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    keep = (epoch >= start) & (epoch < end)
    if not keep.any():
        return pd.DataFrame(columns=[*features])

    kept = rec.filter(pa.array(keep)) if not keep.all() else rec

    def col(name: str) -> np.ndarray | None:
        if name not in names:
            return None
        return kept.column(name).to_numpy(zero_copy_only=False)

    frame = _csv_fast(kept, "captureData.endpointInput", features, names)
    if frame is None:
        frame = _bodies(col, "captureData.endpointInput", features)
    rows = frame.attrs.pop("rows")
    if output:
        # a CSV or list answer is the ``output`` column; a JSON object's keys are columns too
        answers = _bodies(col, "captureData.endpointOutput", [output])
        if len(answers) == len(frame):
            for name in answers.columns:
                if name not in frame.columns:
                    frame[name] = answers[name].to_numpy()
    frame[EVENT_ID] = np.repeat(col("eventMetadata.eventId"), rows)
    inference = col("eventMetadata.inferenceId")
    if inference is not None:
        frame[INFERENCE_ID] = np.repeat(inference, rows)
    frame[TIME] = np.repeat(epoch[keep], rows)
    return frame


def _csv_fast(rec, prefix: str, names: list[str], columns: set) -> pd.DataFrame | None:
    """The common case, in Arrow: every body is CSV text (None otherwise). One row a record
    is counted without Python; bodies of several rows are counted by their newlines."""
    import pyarrow.compute as pc

    if f"{prefix}.encoding" not in columns or not len(rec):
        return None
    encoding = rec.column(f"{prefix}.encoding")
    ctype = pc.utf8_lower(rec.column(f"{prefix}.observedContentType").fill_null(""))
    if (
        not pc.all(pc.equal(encoding, "CSV")).as_py()
        or pc.any(pc.match_substring(ctype, "json")).as_py()
    ):
        return None
    data = pc.utf8_trim(rec.column(f"{prefix}.data").fill_null(""), "\r\n")
    if pc.any(pc.equal(pc.utf8_length(data), 0)).as_py():
        return None  # an empty body: the general path keeps the record's row count right
    bodies = data.to_pylist() if hasattr(data, "to_pylist") else list(data)
    return _csv(bodies, names)


def _bodies(col, prefix: str, names: list[str]) -> pd.DataFrame:
    """The records' bodies (CSV, JSON or base64 of either) as one frame; ``attrs["rows"]``
    says how many rows each record gave."""
    import base64

    data = col(f"{prefix}.data")
    encoding = col(f"{prefix}.encoding")
    ctype = col(f"{prefix}.observedContentType")
    texts, kinds = [], []
    for body, enc, ct in zip(data, encoding, ctype, strict=True):
        text = base64.b64decode(body).decode("utf-8", "replace") if enc == "BASE64" else body
        kinds.append("json" if "json" in (ct or "") else "csv")
        texts.append(text or "")
    if all(k == "csv" for k in kinds):
        try:
            return _csv(texts, names)
        except DataError:
            pass  # bodies of different widths: one at a time below
    frames = [
        _csv([t], names) if k == "csv" else _json(t, names)
        for t, k in zip(texts, kinds, strict=True)
    ]
    rows = [len(f) for f in frames]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names)
    return _with_rows(out, rows)


def _with_rows(frame: pd.DataFrame, rows) -> pd.DataFrame:
    frame.attrs["rows"] = np.asarray(rows, dtype="int64")
    return frame


def _csv(texts: list[str], names: list[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bodies = [t.strip("\r\n") for t in texts]
    rows = np.array([b.count("\n") + 1 if b else 0 for b in bodies], dtype="int64")
    joined = "\n".join(b for b in bodies if b).encode()
    if not joined:
        return _with_rows(pd.DataFrame(columns=names), rows)
    width = joined.split(b"\n", 1)[0].count(b",") + 1
    try:
        table = pacsv.read_csv(
            io.BytesIO(joined),
            read_options=pacsv.ReadOptions(column_names=_names(names, width)),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as e:
        raise DataError(f"captured CSV bodies do not parse: {e}") from None
    return _with_rows(table.to_pandas(), rows)


def _json(text: str, names: list[str]) -> pd.DataFrame:
    """One JSON body: ``{"instances": [...]}``, ``{"predictions": [...]}``, a list of rows
    (lists or objects), one object, or one number."""
    try:
        value = json.loads(text)
    except ValueError:
        return pd.DataFrame(columns=names)
    if isinstance(value, dict):
        for key in ("instances", "predictions", "inputs", "data", "features"):
            if key in value:
                value = value[key]
                break
        else:
            return pd.DataFrame([value])
    if not isinstance(value, list):
        value = [value]
    if value and all(isinstance(v, dict) for v in value):
        return pd.DataFrame(value)
    rows = [v if isinstance(v, list) else [v] for v in value]
    width = max((len(r) for r in rows), default=len(names))
    return pd.DataFrame(rows, columns=_names(names, width))


def _names(names: list[str], width: int) -> list[str]:
    """``names`` fitted to ``width`` columns: extra columns are ``_c<i>`` (SageMaker's names
    for unnamed CSV columns), so a column the baseline lacks is reported, not dropped."""
    return [names[i] if i < len(names) else f"_c{i}" for i in range(width)]


def read_ground_truth(store, prefix: str, start: float, end: float) -> pd.DataFrame:
    """Ground truth records (SageMaker's ``groundTruthData`` + ``eventMetadata.eventId``
    JSON lines under ``<prefix>/yyyy/mm/dd/hh/``) whose folders fall in ``[start, end]``:
    a frame of ``eventId`` and ``label`` (the latest record of an id wins)."""
    import base64

    keys = window_keys(store, prefix, start, end)
    ids, labels = [], []
    for key in keys:
        for line in store.read_text(key).splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                data = rec["groundTruthData"]
                text = data["data"]
                if data.get("encoding") == "BASE64":
                    text = base64.b64decode(text).decode()
                ids.append(str(rec["eventMetadata"]["eventId"]))
                labels.append(text.strip())
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(
                    f"ground truth record in {key} is not SageMaker's shape "
                    f"(groundTruthData.data, eventMetadata.eventId): {e}"
                ) from None
    frame = pd.DataFrame({EVENT_ID: ids, "label": labels})
    return frame.drop_duplicates(EVENT_ID, keep="last")
