"""Mergeable statistics shared by recipes, splits and profiles.

Each is computed per batch, merged across batches and finished on the driver: order-statistic
sketches (medians, quantiles, histograms), category counts, and the canonical pandas form of a
batch so that every path (pandas, Arrow, Ray Data) sees the same dtypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SKETCH_SIZE = 1001  # order statistics kept per batch for medians and quantiles


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with Arrow-backed columns (as Ray Data hands out) converted the way
    ``pyarrow.Table.to_pandas`` converts them, so batch and online inputs look alike."""
    arrow = [c for c, t in df.dtypes.items() if isinstance(t, pd.ArrowDtype)]
    if not arrow:
        return df
    import pyarrow as pa

    converted = pa.table({c: pa.array(df[c]) for c in arrow}).to_pandas()
    converted.index = df.index
    out = df.copy()
    for col in arrow:
        out[col] = converted[col]
    return out


def sketch(values: np.ndarray) -> list[list[float]]:
    """Evenly spaced order statistics of ``values`` with their weights (mergeable)."""
    values = np.sort(values[~np.isnan(values)])
    if not len(values):
        return []
    if len(values) <= SKETCH_SIZE:
        return [[float(v), 1.0] for v in values]
    idx = np.linspace(0, len(values) - 1, SKETCH_SIZE).round().astype(int)
    weight = len(values) / SKETCH_SIZE
    return [[float(values[i]), weight] for i in idx]


def quantile(sketch: list[list[float]], q: float) -> float:
    if not sketch:
        return float("nan")
    pairs = sorted(sketch)
    values = np.array([p[0] for p in pairs])
    cum = np.cumsum([p[1] for p in pairs])
    return float(values[np.searchsorted(cum, q * cum[-1], side="left").clip(0, len(values) - 1)])


def numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def category_codes(series: pd.Series, categories: list[str]) -> np.ndarray:
    """Each value's position in ``categories`` (compared as strings), -1 when absent or missing.

    Arrow's hash lookup: ~6x faster than comparing the strings once per category.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(series.astype("string"), type=pa.string())
    found = pc.index_in(values, value_set=pa.array(categories, type=pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False)


def counts(series: pd.Series) -> list[list]:
    if isinstance(series.dtype, pd.StringDtype):  # Arrow counts strings without Python objects
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.value_counts(pa.array(series, type=pa.string()).drop_null())
        return [[v["values"], int(v["counts"])] for v in found.to_pylist()]
    counts = series.dropna().astype(str).value_counts()
    return [[k, int(v)] for k, v in counts.items()]


def top_keys(counts: list[list], k: int) -> list[str]:
    """The ``k`` most frequent keys (ties broken by key), in sorted order."""
    top = sorted(counts, key=lambda kv: (-kv[1], kv[0]))[:k]
    return sorted(key for key, _ in top)


def merge_counts(a: list[list], b: list[list]) -> list[list]:
    total: dict[str, int] = {}
    for key, n in [*a, *b]:
        total[key] = total.get(key, 0) + n
    return [[k, v] for k, v in total.items()]


def collect(ds, fn) -> list:
    """``fn(batch)`` for every batch of a Ray Dataset, gathered on the driver.

    ``fn`` returns something JSON-able (a mergeable partial); one streaming pass.
    """
    import json

    rows = ds.map_batches(
        lambda b: pd.DataFrame({"p": [json.dumps(fn(b))]}), batch_format="pandas", batch_size=None
    ).take_all()
    return [json.loads(row["p"]) for row in rows]
