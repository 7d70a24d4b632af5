"""Recipe steps: each is a strict model (its YAML form) plus partial/merge/finish/apply.

A step that learns from data computes a mergeable ``partial`` per batch, ``merge``s them and
``finish``es into a JSON-able ``state``; ``apply`` is a pure pandas function of a batch and
the state. The same code fits on pandas or on a Ray Dataset and applies online or offline,
which is why a fitted recipe gives identical output everywhere.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from raymaker.data.stats import (
    category_codes,
    counts,
    merge_counts,
    numeric,
    quantile,
    sketch,
    top_keys,
)
from raymaker.errors import SpecError
from raymaker.specs.base import SpecModel

Columns = Annotated[list[str], Field(min_length=1, description="Columns the step works on.")]
TOKEN = re.compile(r"[a-z0-9]+")


class Step(SpecModel):
    """Base of every step. Steps without ``fit`` learn nothing."""

    op: str
    fits: ClassVar[bool] = False
    training_only: ClassVar[bool] = False  # skipped when transforming single requests

    def inputs(self) -> list[str]:
        return list(getattr(self, "columns", None) or [])

    def check(self, df: pd.DataFrame, index: int) -> None:
        missing = [c for c in self.inputs() if c not in df.columns]
        if missing:
            raise SpecError(
                f"recipe step {index} ({self.op}): column(s) {', '.join(map(repr, missing))} "
                f"not found; available columns: {', '.join(map(str, df.columns))}"
            )

    def partial(self, df: pd.DataFrame) -> Any:
        return None

    def merge(self, a: Any, b: Any) -> Any:
        return None

    def finish(self, merged: Any) -> dict:
        return {}

    def apply(self, df: pd.DataFrame, state: dict) -> pd.DataFrame:
        raise NotImplementedError


# -- column plumbing ----------------------------------------------------------------------------
class Select(Step):
    op: Literal["select"]
    columns: Columns

    def apply(self, df, state):
        return df[self.columns]


class Drop(Step):
    op: Literal["drop"]
    columns: Columns

    def apply(self, df, state):
        return df.drop(columns=self.columns)


class Rename(Step):
    op: Literal["rename"]
    mapping: dict[str, str] = Field(min_length=1, description="Old name -> new name.")

    def inputs(self):
        return list(self.mapping)

    def apply(self, df, state):
        return df.rename(columns=self.mapping)


CAST_TYPES = {
    "int": "Int64",
    "float": "float64",
    "str": "string",
    "bool": "boolean",
    "category": "string",
}


def _to_datetime(series: pd.Series) -> pd.Series:
    """Parse dates written in mixed ISO-like forms; unparseable values become NaT."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, errors="coerce", format="mixed")


class Cast(Step):
    op: Literal["cast"]
    types: dict[str, Literal["int", "float", "str", "bool", "category", "datetime"]] = Field(
        min_length=1, description="Column -> type."
    )

    def inputs(self):
        return list(self.types)

    def apply(self, df, state):
        df = df.copy()
        for col, kind in self.types.items():
            if kind == "datetime":
                df[col] = _to_datetime(df[col])
            elif kind == "float":
                df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
            elif kind == "int":
                df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
            else:
                df[col] = df[col].astype(CAST_TYPES[kind])
        return df


# -- learned steps ------------------------------------------------------------------------------
class Impute(Step):
    op: Literal["impute"]
    columns: Columns
    strategy: Literal["mean", "median", "most_frequent", "constant"] = "mean"
    value: str | float | int | None = Field(None, description="The fill value for constant.")
    fits: ClassVar[bool] = True

    def partial(self, df):
        out = {}
        for col in self.columns:
            if self.strategy == "mean":
                x = numeric(df, col)
                ok = ~np.isnan(x)
                out[col] = [float(x[ok].sum()), int(ok.sum())]
            elif self.strategy == "median":
                out[col] = sketch(numeric(df, col))
            elif self.strategy == "most_frequent":
                out[col] = counts(df[col])
        return out

    def merge(self, a, b):
        if self.strategy == "mean":
            return {c: [a[c][0] + b[c][0], a[c][1] + b[c][1]] for c in a}
        if self.strategy == "median":
            return {c: a[c] + b[c] for c in a}
        if self.strategy == "most_frequent":
            return {c: merge_counts(a[c], b[c]) for c in a}
        return {}

    def finish(self, merged):
        if self.strategy == "constant":
            if self.value is None:
                raise SpecError("impute with strategy constant needs a value")
            return {"fill": {c: self.value for c in self.columns}}
        fill = {}
        for col in self.columns:
            if self.strategy == "mean":
                total, n = merged[col]
                fill[col] = total / n if n else 0.0
            elif self.strategy == "median":
                fill[col] = quantile(merged[col], 0.5) if merged[col] else 0.0
            else:
                counts = sorted(merged[col], key=lambda kv: (-kv[1], kv[0]))
                fill[col] = counts[0][0] if counts else ""
        return {"fill": fill}

    def apply(self, df, state):
        df = df.copy(deep=False)  # columns are replaced, never written into
        for col, value in state["fill"].items():
            if self.strategy == "most_frequent" and df[col].dtype.kind in "iufb":
                value = pd.Series([value]).astype(df[col].dtype).iloc[0]
            df[col] = df[col].fillna(value)
        return df


def pick(fn, u, v):
    """``fn`` of the values that are not None (None if both are)."""
    present = [x for x in (u, v) if x is not None]
    return fn(present) if present else None


class Scale(Step):
    op: Literal["scale"]
    columns: Columns
    method: Literal["standard", "minmax", "robust"] = "standard"
    fits: ClassVar[bool] = True

    def partial(self, df):
        out = {}
        for col in self.columns:
            x = numeric(df, col)
            ok = x[~np.isnan(x)]
            if self.method == "standard":
                out[col] = [int(len(ok)), float(ok.sum()), float((ok * ok).sum()), int(len(x))]
            elif self.method == "minmax":
                lo, hi = (float(ok.min()), float(ok.max())) if len(ok) else (None, None)
                out[col] = [lo, hi, int(len(ok)), int(len(x))]
            else:
                out[col] = sketch(x)
        return out

    def merge(self, a, b):
        if self.method == "standard":
            return {c: [a[c][i] + b[c][i] for i in range(4)] for c in a}
        if self.method == "minmax":
            return {
                c: [pick(min, a[c][0], b[c][0]), pick(max, a[c][1], b[c][1]),
                    a[c][2] + b[c][2], a[c][3] + b[c][3]]
                for c in a
            }  # fmt: skip
        return {c: a[c] + b[c] for c in a}

    def finish(self, merged, fills: dict | None = None):
        """The state; ``fills`` are values an earlier impute step put into the missing cells
        of the data these partials saw raw (fitting both in one pass: see recipe._stage)."""
        fills = fills or {}
        center, scale = {}, {}
        for col in self.columns:
            if self.method == "standard":
                n, s, ss, rows = merged[col]
                if col in fills:
                    f, missing = float(fills[col]), rows - n
                    n, s, ss = rows, s + missing * f, ss + missing * f * f
                mean = s / n if n else 0.0
                var = max(ss / n - mean * mean, 0.0) if n else 0.0
                center[col], scale[col] = mean, float(np.sqrt(var))
            elif self.method == "minmax":
                lo, hi, n, rows = merged[col]
                if col in fills and rows > n:
                    f = float(fills[col])
                    lo, hi = pick(min, lo, f), pick(max, hi, f)
                center[col], scale[col] = lo or 0.0, (hi - lo) if lo is not None else 0.0
            else:
                q1, q2, q3 = (quantile(merged[col], q) for q in (0.25, 0.5, 0.75))
                center[col], scale[col] = q2, q3 - q1
            if not scale[col] or np.isnan(scale[col]):
                scale[col] = 1.0  # a constant column maps to 0, not to NaN
        return {"center": center, "scale": scale}

    def apply(self, df, state):
        df = df.copy(deep=False)  # columns are replaced, never written into
        for col in self.columns:
            df[col] = (numeric(df, col) - state["center"][col]) / state["scale"][col]
        return df


class _Categorical(Step):
    """Steps that learn each column's categories from their counts."""

    fits: ClassVar[bool] = True

    def partial(self, df):
        return {c: counts(df[c]) for c in self.columns}

    def merge(self, a, b):
        return {c: merge_counts(a[c], b[c]) for c in a}


class OneHot(_Categorical):
    op: Literal["onehot"]
    columns: Columns
    max_categories: int = Field(50, ge=1, le=10_000, description="Most frequent kept.")

    def finish(self, merged):
        return {"categories": {c: top_keys(merged[c], self.max_categories) for c in self.columns}}

    def apply(self, df, state):
        names = [f"{col}_{cat}" for col in self.columns for cat in state["categories"][col]]
        rest = df.drop(columns=self.columns)
        if not names:
            return rest
        # one (columns x rows) block, filled a category row at a time: no per-column frames
        block, row = np.empty((len(names), len(df)), dtype=bool), 0
        for col in self.columns:
            codes = category_codes(df[col], state["categories"][col])
            for i in range(len(state["categories"][col])):
                np.equal(codes, i, out=block[row])
                row += 1
        new = pd.DataFrame(block.view(np.int8).T, index=df.index, columns=names, copy=False)
        return pd.concat([rest, new], axis=1)


class Ordinal(_Categorical):
    op: Literal["ordinal"]
    columns: Columns
    unknown_value: int = Field(-1, description="Code for categories not seen when fitting.")

    def finish(self, merged):
        return {"categories": {c: sorted(k for k, _ in merged[c]) for c in self.columns}}

    def apply(self, df, state):
        df = df.copy(deep=False)  # columns are replaced, never written into
        for col in self.columns:
            codes = category_codes(df[col], state["categories"][col])
            df[col] = np.where(codes < 0, self.unknown_value, codes).astype("int64")
        return df


DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute", "quarter")


class DatetimeParts(Step):
    op: Literal["datetime_parts"]
    columns: Columns
    parts: list[Literal[DATE_PARTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["year", "month", "day", "dayofweek"]
    )
    drop: bool = Field(True, description="Drop the original column.")

    def apply(self, df, state):
        df = df.copy()
        for col in self.columns:
            when = _to_datetime(df[col])
            for part in self.parts:
                df[f"{col}_{part}"] = getattr(when.dt, part).astype("Int64")
        return df.drop(columns=self.columns) if self.drop else df


def _tokens(text) -> list[str]:
    return TOKEN.findall(str(text).lower()) if isinstance(text, str) else []


class HashText(Step):
    op: Literal["hash_text"]
    columns: Columns
    n_features: int = Field(64, ge=2, le=1 << 20)
    drop: bool = True

    def apply(self, df, state):
        df = df.copy()
        for col in self.columns:
            counts = np.zeros((len(df), self.n_features), dtype="int32")
            for row, text in enumerate(df[col].tolist()):
                for token in _tokens(text):
                    digest = hashlib.md5(token.encode(), usedforsecurity=False).digest()
                    counts[row, int.from_bytes(digest[:4], "little") % self.n_features] += 1
            names = [f"{col}_h{i}" for i in range(self.n_features)]
            df = pd.concat([df, pd.DataFrame(counts, columns=names, index=df.index)], axis=1)
        return df.drop(columns=self.columns) if self.drop else df


class CountText(Step):
    op: Literal["count_text"]
    columns: Columns
    max_features: int = Field(100, ge=1, le=100_000)
    drop: bool = True
    fits: ClassVar[bool] = True

    def partial(self, df):
        out = {}
        for col in self.columns:
            counts: dict[str, int] = {}
            for text in df[col].tolist():
                for token in _tokens(text):
                    counts[token] = counts.get(token, 0) + 1
            out[col] = [[k, v] for k, v in counts.items()]
        return out

    def merge(self, a, b):
        return {c: merge_counts(a[c], b[c]) for c in a}

    def finish(self, merged):
        return {"vocabulary": {c: top_keys(merged[c], self.max_features) for c in self.columns}}

    def apply(self, df, state):
        df = df.copy()
        for col in self.columns:
            vocab = {t: i for i, t in enumerate(state["vocabulary"][col])}
            counts = np.zeros((len(df), len(vocab)), dtype="int32")
            for row, text in enumerate(df[col].tolist()):
                for token in _tokens(text):
                    if token in vocab:
                        counts[row, vocab[token]] += 1
            names = [f"{col}_{t}" for t in state["vocabulary"][col]]
            df = pd.concat([df, pd.DataFrame(counts, columns=names, index=df.index)], axis=1)
        return df.drop(columns=self.columns) if self.drop else df


# -- row steps (training only) ------------------------------------------------------------------
class Filter(Step):
    op: Literal["filter"]
    expr: str = Field(min_length=1, description="A pandas query expression, e.g. 'age >= 18'.")
    training_only: ClassVar[bool] = True

    def apply(self, df, state):
        try:
            return df.query(self.expr, engine="python")
        except Exception as exc:  # pandas raises many kinds
            raise SpecError(
                f"filter {self.expr!r} failed: {exc}; columns: {', '.join(map(str, df.columns))}"
            ) from None


class Dedupe(Step):
    op: Literal["dedupe"]
    columns: list[str] | None = Field(None, description="Key columns; default all columns.")
    training_only: ClassVar[bool] = True

    def apply(self, df, state):
        return df.drop_duplicates(subset=self.columns)


class Custom(Step):
    """A user function ``pandas.DataFrame -> pandas.DataFrame``: ``module:fn`` or ``file.py:fn``.

    A function from a file travels inside the fitted recipe as source text (never pickled).
    """

    op: Literal["custom"]
    function: str = Field(
        pattern=r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$", description="module:fn or file.py:fn"
    )
    source: str | None = Field(None, description="The file's code, when shipped inline.")
    fits: ClassVar[bool] = True  # "fitting" captures the file's source

    def partial(self, df):
        return None

    def finish(self, merged):
        target, _, name = self.function.rpartition(":")
        if self.source is not None:
            self._load({"source": self.source, "name": name})
            return {"source": self.source, "name": name}
        if target.endswith(".py"):
            try:
                with open(target, encoding="utf-8") as f:
                    return {"source": f.read(), "name": name}
            except OSError as exc:
                raise SpecError(f"custom step: cannot read {target!r}: {exc}") from None
        self._load({"module": target, "name": name})
        return {"module": target, "name": name}

    @staticmethod
    def _load(state):
        if "source" in state:
            namespace: dict[str, Any] = {"__name__": "raymaker_custom_step"}
            exec(compile(state["source"], "<recipe custom step>", "exec"), namespace)  # noqa: S102
            fn = namespace.get(state["name"])
        else:
            try:
                fn = getattr(importlib.import_module(state["module"]), state["name"], None)
            except ImportError as exc:
                raise SpecError(f"custom step: cannot import {state['module']!r}: {exc}") from None
        if not callable(fn):
            raise SpecError(f"custom step: {state['name']!r} is not a function")
        return fn

    def apply(self, df, state):
        out = self._load(state)(df.copy())
        if not isinstance(out, pd.DataFrame):
            raise SpecError(
                f"custom step {self.function} returned {type(out).__name__}, not a DataFrame"
            )
        return out


STEPS: dict[str, type[Step]] = {
    cls.model_fields["op"].annotation.__args__[0]: cls
    for cls in (
        Select, Drop, Rename, Cast, Impute, Scale, OneHot, Ordinal, DatetimeParts, HashText,
        CountText, Filter, Dedupe, Custom,
    )
}  # fmt: skip
