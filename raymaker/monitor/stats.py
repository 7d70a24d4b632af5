"""Dataset statistics in Model Monitor's ``statistics.json`` shape, built batch by batch.

Each column has a ``Column`` accumulator: counts of present, missing, integral, fractional
and string values; for numbers, the moments, the range and a KLL sketch (Apache DataSketches,
k=2048 as SageMaker's analyzer); for strings, exact value counts up to ``MAX_VALUES`` distinct
values. Accumulators merge, so a window is read a batch at a time (memory bounded by the
batch) or in parallel on Ray Data and merged on the driver.

A feature's KLL sketch is written as SageMaker writes it: its retained items by compactor
level (an item on level ``i`` weighs ``2**i``), so a baseline made by SageMaker and one made
here are read the same way, and the weighted items are what the drift methods compare.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KLL_K = 2048
KLL_C = 0.64
BUCKETS = 10
MAX_VALUES = 10_000  # distinct string values counted exactly; beyond them, the rest is "other"
FEW_NUMBERS = 50  # a numeric column with at most this many distinct values is also counted
MAX_BUCKETS_SHOWN = 200  # categorical buckets written to statistics.json
INTEGRAL, FRACTIONAL, STRING, UNKNOWN = "Integral", "Fractional", "String", "Unknown"


@dataclass
class Column:
    """The mergeable statistics of one column."""

    present: int = 0
    missing: int = 0
    types: dict[str, int] = field(default_factory=lambda: {INTEGRAL: 0, FRACTIONAL: 0, STRING: 0})
    total: float = 0.0
    total_sq: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    sketch: bytes | None = None  # a serialized KLL sketch (picklable between processes)
    values: dict[str, int] = field(default_factory=dict)
    other: int = 0  # string values beyond MAX_VALUES distinct ones
    many_numbers: bool = False  # numbers only, more than FEW_NUMBERS distinct: not counted

    def add(self, series: pd.Series) -> None:
        """Count one batch of the column's values."""
        present = series.notna()
        if not pd.api.types.is_numeric_dtype(series.dtype):
            present &= series.astype(str) != ""  # an empty CSV field is missing
        n_present = int(present.sum())
        self.present += n_present
        self.missing += len(series) - n_present
        series = series[present]
        if not n_present:
            return
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype(str)
        numbers = (
            series.astype("float64")
            if pd.api.types.is_numeric_dtype(series.dtype)
            else pd.to_numeric(series, errors="coerce")
        )
        is_number = numbers.notna().to_numpy()
        numeric = numbers.to_numpy(dtype="float64")[is_number]
        whole = np.isfinite(numeric) & (numeric == np.round(numeric))
        n_strings = len(series) - len(numeric)
        self.types[INTEGRAL] += int(whole.sum())
        self.types[FRACTIONAL] += int(len(numeric) - whole.sum())
        self.types[STRING] += n_strings
        if len(numeric):
            finite = numeric[np.isfinite(numeric)]
            self.total += float(finite.sum())
            self.total_sq += float(np.square(finite).sum())
            if len(finite):
                self.low = min(self.low, float(finite.min()))
                self.high = max(self.high, float(finite.max()))
                self._sketch_update(finite)
        if not n_strings:
            self._count_numbers(numeric)
            return
        self._count(_number_text(series) if len(numeric) else series.astype(str))

    def _count_numbers(self, numeric: np.ndarray) -> None:
        """Count a numbers-only batch by value while a column has few (``np.unique`` on the
        floats: only the distinct values become text)."""
        if self.many_numbers:
            self.other += len(numeric)
            return
        values, counts = np.unique(numeric, return_counts=True)
        if len(values) + len(self.values) > FEW_NUMBERS and not self.types[STRING]:
            # a numeric column of many values: its distribution is the sketch's, not counts
            self.many_numbers = True
            self.other += sum(self.values.values()) + len(numeric)
            self.values = {}
            return
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            key = str(int(value)) if float(value).is_integer() else str(value)
            self.values[key] = self.values.get(key, 0) + count

    def _count(self, text: pd.Series) -> None:
        for value, count in text.value_counts(sort=False).items():
            if value in self.values or len(self.values) < MAX_VALUES:
                self.values[value] = self.values.get(value, 0) + int(count)
            else:
                self.other += int(count)

    def _sketch_update(self, values: np.ndarray) -> None:
        import datasketches

        sketch = (
            datasketches.kll_doubles_sketch.deserialize(self.sketch)
            if self.sketch
            else datasketches.kll_doubles_sketch(KLL_K)
        )
        sketch.update(values)
        self.sketch = sketch.serialize()

    def merge(self, other: Column) -> Column:
        """This column with ``other``'s counts added (both from the same column)."""
        import datasketches

        self.present += other.present
        self.missing += other.missing
        for key, n in other.types.items():
            self.types[key] += n
        self.total += other.total
        self.total_sq += other.total_sq
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        if other.sketch:
            if self.sketch is None:
                self.sketch = other.sketch
            else:
                mine = datasketches.kll_doubles_sketch.deserialize(self.sketch)
                mine.merge(datasketches.kll_doubles_sketch.deserialize(other.sketch))
                self.sketch = mine.serialize()
        if other.many_numbers and not self.many_numbers and not self.types[STRING]:
            self.many_numbers, self.other = True, self.other + sum(self.values.values())
            self.values = {}
        if self.many_numbers and not other.types[STRING]:
            self.other += other.other + sum(other.values.values())
            return self
        for value, count in other.values.items():
            if value in self.values or len(self.values) < MAX_VALUES:
                self.values[value] = self.values.get(value, 0) + count
            else:
                self.other += count
        self.other += other.other
        return self

    @property
    def inferred_type(self) -> str:
        """SageMaker's type: String if any present value is not a number, Fractional if any
        number has a fraction, else Integral (Unknown: nothing present)."""
        if not self.present:
            return UNKNOWN
        if self.types[STRING]:
            return STRING
        return FRACTIONAL if self.types[FRACTIONAL] else INTEGRAL

    def feature(self, name: str, inferred_type: str | None = None) -> dict:
        """This column as one ``features`` entry of statistics.json (typed as
        ``inferred_type`` when given: a current window is described in its baseline's types)."""
        kind = inferred_type or self.inferred_type
        common = {"num_present": self.present, "num_missing": self.missing}
        out: dict = {"name": name, "inferred_type": kind, "type_counts": dict(self.types)}
        numbers = self.types[INTEGRAL] + self.types[FRACTIONAL]
        if kind in (INTEGRAL, FRACTIONAL) or (kind == UNKNOWN and numbers):
            n = max(numbers, 1)
            mean = self.total / n
            var = max(self.total_sq / n - mean * mean, 0.0)
            out["numerical_statistics"] = {
                "common": common,
                "mean": mean,
                "sum": self.total,
                "std_dev": math.sqrt(var),
                "min": self.low if numbers else 0.0,
                "max": self.high if numbers else 0.0,
                "distribution": {"kll": self._kll()},
            }
            if self.values and not self.many_numbers:  # few distinct numbers: counted too
                out["value_counts"] = {"values": dict(self.values), "other": self.other}
        else:
            buckets = sorted(self.values.items(), key=lambda kv: (-kv[1], kv[0]))
            out["string_statistics"] = {
                "common": common,
                "distinct_count": float(len(self.values) + (1 if self.other else 0)),
                "distribution": {
                    "categorical": {
                        "buckets": [
                            {"value": v, "count": c} for v, c in buckets[:MAX_BUCKETS_SHOWN]
                        ]
                    }
                },
            }
            if len(buckets) > MAX_BUCKETS_SHOWN or self.other:
                # the exact counts the drift methods compare, beyond the buckets shown
                out["value_counts"] = {
                    "values": dict(buckets),
                    "other": self.other,
                }
        return out

    def _kll(self) -> dict:
        """The KLL distribution: ``BUCKETS`` equal-width buckets and the sketch's levels."""
        import datasketches

        if not self.sketch:
            return {"buckets": [], "sketch": {"parameters": {"c": KLL_C, "k": float(KLL_K)},
                                              "data": []}}  # fmt: skip
        sketch = datasketches.kll_doubles_sketch.deserialize(self.sketch)
        levels: dict[int, list[float]] = {}
        for item, weight in sketch:
            levels.setdefault(int(round(math.log2(weight))), []).append(item)
        data = [sorted(levels.get(i, [])) for i in range(max(levels) + 1)] if levels else []
        low, high = sketch.get_min_value(), sketch.get_max_value()
        edges = np.linspace(low, high, BUCKETS + 1) if high > low else np.array([low, high])
        if high > low:
            pmf = sketch.get_pmf(list(edges[1:-1]))
            counts = [p * sketch.n for p in pmf]
        else:
            counts = [float(sketch.n)]
        buckets = [
            {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": c}
            for i, c in enumerate(counts)
        ]
        return {
            "buckets": buckets,
            "sketch": {
                "parameters": {"c": KLL_C, "k": float(KLL_K)},
                "data": data,
                "serialized": base64.b64encode(self.sketch).decode(),
            },
        }


def _number_text(series: pd.Series) -> pd.Series:
    """Numbers as their text (``3`` not ``3.0`` for whole numbers), to count as categories."""
    numbers = pd.to_numeric(series, errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round())
    text = series.astype(str)
    text[whole] = numbers[whole].astype("int64").astype(str)
    return text


class Statistics:
    """The accumulators of every column of a dataset, in column order."""

    def __init__(self):
        self.columns: dict[str, Column] = {}
        self.items = 0

    def add(self, df: pd.DataFrame) -> Statistics:
        """Count one batch."""
        self.items += len(df)
        for name in df.columns:
            col = self.columns.get(str(name))
            if col is None:
                col = self.columns[str(name)] = Column()
                col.missing = self.items - len(df)  # rows before the column appeared
            col.add(df[name])
        for name, col in self.columns.items():
            if name not in df.columns:
                col.missing += len(df)
        return self

    def merge(self, other: Statistics) -> Statistics:
        """This dataset's statistics with ``other``'s (another batch of it) added."""
        for name, col in other.columns.items():
            mine = self.columns.get(name)
            if mine is None:
                mine = self.columns[name] = Column(missing=self.items)
            mine.merge(col)
        for name, col in self.columns.items():
            if name not in other.columns:
                col.missing += other.items
        self.items += other.items
        return self

    def to_json(self, types: dict[str, str] | None = None) -> dict:
        """statistics.json (``types``: each feature's type as its baseline has it)."""
        types = types or {}
        return {
            "version": 0.0,
            "dataset": {"item_count": self.items},
            "features": [col.feature(name, types.get(name)) for name, col in self.columns.items()],
        }


def weighted_items(feature: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """A numerical feature's distribution as sorted items and weights: from the sketch's
    levels (SageMaker's and ours alike), else from the buckets' midpoints. None if empty."""
    kll = feature.get("numerical_statistics", {}).get("distribution", {}).get("kll", {})
    data = (kll.get("sketch") or {}).get("data") or []
    items, weights = [], []
    for level, values in enumerate(data):
        items.extend(values)
        weights.extend([2.0**level] * len(values))
    if not items:
        for b in kll.get("buckets") or []:
            if b.get("count"):
                items.append((b["lower_bound"] + b["upper_bound"]) / 2)
                weights.append(b["count"])
    if not items:
        return None
    order = np.argsort(items, kind="stable")
    return np.asarray(items, dtype="float64")[order], np.asarray(weights, dtype="float64")[order]


def category_counts(feature: dict) -> dict[str, float]:
    """A string feature's value counts (exact where kept, else the buckets written)."""
    exact = feature.get("value_counts")
    if exact:
        counts = dict(exact["values"])
        if exact.get("other"):
            counts["\x00other"] = exact["other"]
        return counts
    buckets = (
        feature.get("string_statistics", {})
        .get("distribution", {})
        .get("categorical", {})
        .get("buckets", [])
    )
    return {str(b["value"]): b["count"] for b in buckets}


def common(feature: dict) -> dict:
    """A feature's ``common`` counts, whichever statistics it has."""
    for key in ("numerical_statistics", "string_statistics"):
        if key in feature:
            return feature[key]["common"]
    return {"num_present": 0, "num_missing": 0}
