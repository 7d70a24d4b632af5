"""Train/validation/test splits that stream: random, stratified and time-ordered.

Every row gets a split name from its own content (a seeded hash), so a split is
deterministic, needs no shuffle, and puts duplicate rows on the same side. Stratified
splits rank those hashes within each label; time splits cut at quantiles of the time column.
The same functions label pandas frames and Ray Dataset batches, so both agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raymaker.data.stats import canonical, collect, numeric, quantile, sketch
from raymaker.errors import SpecError

SPLIT_COLUMN = "__split"


def names(spec) -> list[str]:
    """The split names a spec produces, in order."""
    return ["train", *(["validation"] if spec.validation_fraction else []), "test"]


def _uniform(df: pd.DataFrame, seed: int) -> np.ndarray:
    hashes = pd.util.hash_pandas_object(df, index=False, hash_key=f"{seed:016d}"[:16]).to_numpy()
    return (hashes >> np.uint64(11)).astype("float64") / float(1 << 53)


def _by_fraction(u: np.ndarray, spec) -> np.ndarray:
    out = np.full(len(u), "train", dtype=object)
    out[u < spec.test_fraction + spec.validation_fraction] = "validation"
    out[u < spec.test_fraction] = "test"
    return out


def _check(df: pd.DataFrame, column: str | None) -> None:
    if column and column not in df.columns:
        available = ", ".join(map(str, df.columns))
        raise SpecError(f"split column {column!r} not found; available columns: {available}")


def label_frame(df: pd.DataFrame, spec, thresholds: list[float] | None = None) -> pd.DataFrame:
    """``df`` with a ``__split`` column. Time splits need ``thresholds`` (see ``time_cuts``)."""
    df = canonical(df)  # hashes must not depend on how the batch was typed
    df = df.copy()
    if spec.method == "random":
        df[SPLIT_COLUMN] = _by_fraction(_uniform(df, spec.seed), spec)
    elif spec.method == "stratified":
        _check(df, spec.label)
        u = _uniform(df, spec.seed)
        labels = df[spec.label].astype(str).to_numpy()
        out = np.full(len(df), "train", dtype=object)
        for label, (test_cut, valid_cut) in thresholds.items():
            mine = labels == label
            out[mine & (u < valid_cut)] = "validation"
            out[mine & (u < test_cut)] = "test"
        df[SPLIT_COLUMN] = out
    else:
        _check(df, spec.time_column)
        t = _time_values(df[spec.time_column])
        train_end, valid_end = thresholds
        out = np.full(len(df), "test", dtype=object)
        out[t <= valid_end] = "validation"
        out[t <= train_end] = "train"
        df[SPLIT_COLUMN] = out
    return df


def _time_values(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series):
        return numeric(series.to_frame("t"), "t")
    when = pd.to_datetime(series, errors="coerce", format="mixed")
    return when.astype("int64").where(when.notna(), np.nan).to_numpy(dtype="float64")


def time_cuts(sketch: list[list[float]], spec) -> list[float]:
    """Time values at which train ends and validation ends."""
    train = 1 - spec.test_fraction - spec.validation_fraction
    return [quantile(sketch, train), quantile(sketch, 1 - spec.test_fraction)]


def time_sketch(df: pd.DataFrame, spec) -> list[list[float]]:
    _check(df, spec.time_column)
    return sketch(_time_values(canonical(df)[spec.time_column]))


def label_sketches(df: pd.DataFrame, spec) -> dict[str, list[list[float]]]:
    """Per label, a sketch of the rows' hash values (for exact-ish per-label proportions)."""
    _check(df, spec.label)
    df = canonical(df)
    u = _uniform(df, spec.seed)
    labels = df[spec.label].astype(str).to_numpy()
    return {label: sketch(u[labels == label]) for label in np.unique(labels)}


def label_cuts(sketches: dict[str, list[list[float]]], spec) -> dict[str, tuple[float, float]]:
    """Per label, the hash values below which rows go to test and to validation."""
    test, valid = spec.test_fraction, spec.test_fraction + spec.validation_fraction
    return {
        label: (_cut(sk, test), _cut(sk, valid) if spec.validation_fraction else _cut(sk, test))
        for label, sk in sketches.items()
    }


def _cut(sketch: list[list[float]], q: float) -> float:
    """The value v such that about a fraction q of the sketch lies below v."""
    pairs = sorted(sketch)
    total = sum(w for _, w in pairs)
    seen = 0.0
    for value, weight in pairs:
        if seen + weight / 2 > q * total:
            return value
        seen += weight
    return 2.0  # everything


def split_frame(df: pd.DataFrame, spec) -> dict[str, pd.DataFrame]:
    """Split a DataFrame: ``{"train": ..., ["validation": ...,] "test": ...}``."""
    labelled = label_frame(df, spec, _thresholds_frame(df, spec))
    return {
        name: labelled[labelled[SPLIT_COLUMN] == name].drop(columns=SPLIT_COLUMN)
        for name in names(spec)
    }


def _thresholds_frame(df: pd.DataFrame, spec):
    if spec.method == "time":
        return time_cuts(time_sketch(df, spec), spec)
    if spec.method == "stratified":
        return label_cuts(label_sketches(df, spec), spec)
    return None


def label_dataset(ds, spec):
    """A Ray Dataset with a ``__split`` column: no shuffle; time and stratified splits take one
    extra streaming pass to find their cut points."""
    cuts = None
    if spec.method == "time":
        parts = collect(ds, lambda b: time_sketch(b, spec))
        cuts = time_cuts([pair for part in parts for pair in part], spec)
    elif spec.method == "stratified":
        merged: dict[str, list] = {}
        for part in collect(ds, lambda b: label_sketches(b, spec)):
            for label, sk in part.items():
                merged.setdefault(label, []).extend(sk)
        cuts = label_cuts(merged, spec)
    return ds.map_batches(
        lambda b: label_frame(b, spec, cuts), batch_format="pandas", batch_size=None
    )
