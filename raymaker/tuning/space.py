"""A tuning job's search space: SageMaker's ranges as Ray Tune domains, and back.

Tune (and Optuna behind it) sees *internal* values; trials, records and the leaderboard see the
user's. The two differ only for ReverseLogarithmic ranges, searched as ``1 - x`` on a log
scale so that values near 1 (0.99, 0.999) are explored as finely as values near 0 are on a
log scale.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

AUTO_LOG_RATIO = 100  # Auto scaling searches a positive range this wide on a log scale


def scaling_of(spec_range) -> str | None:
    """Linear, Logarithmic or ReverseLogarithmic (None for Categorical): Auto resolved."""
    if spec_range.type == "Categorical":
        return None
    if spec_range.scaling_type != "Auto":
        return spec_range.scaling_type
    lo, hi = spec_range.min_value, spec_range.max_value
    return "Logarithmic" if lo > 0 and hi / lo >= AUTO_LOG_RATIO else "Linear"


class SearchSpace:
    """The ranges of a TuningJob spec, converted both ways."""

    def __init__(self, ranges: dict):
        self.ranges = dict(ranges)

    def tune_space(self) -> dict[str, Any]:
        """Ray Tune domains over internal values."""
        from ray import tune

        space: dict[str, Any] = {}
        for name, r in self.ranges.items():
            scaling = scaling_of(r)
            if r.type == "Categorical":
                space[name] = tune.choice(list(r.values))
            elif r.type == "Integer":
                lo, hi = int(r.min_value), int(r.max_value)
                space[name] = (
                    tune.lograndint(lo, hi + 1) if scaling == "Logarithmic"
                    else tune.randint(lo, hi + 1)
                )  # fmt: skip
            elif scaling == "Logarithmic":
                space[name] = tune.loguniform(r.min_value, r.max_value)
            elif scaling == "ReverseLogarithmic":
                space[name] = tune.loguniform(1 - r.max_value, 1 - r.min_value)
            else:
                space[name] = tune.uniform(r.min_value, r.max_value)
        return space

    def to_hyperparameters(self, config: dict) -> dict[str, Any]:
        """The user's values (plain Python scalars) for a trial's internal config."""
        out: dict[str, Any] = {}
        for name, r in self.ranges.items():
            value = _plain(config[name])
            if r.type == "Integer":
                value = int(round(value))
            elif r.type == "Continuous":
                value = float(value)
                if scaling_of(r) == "ReverseLogarithmic":
                    value = 1 - value
            out[name] = value
        return out

    def to_internal(self, hyperparameters: dict) -> dict[str, Any] | None:
        """Internal values for the user's, or None when one is missing or outside its range."""
        out: dict[str, Any] = {}
        for name, r in self.ranges.items():
            if name not in hyperparameters:
                return None
            value = hyperparameters[name]
            if r.type == "Categorical":
                match = [v for v in r.values if _same(v, value)]
                if not match:
                    return None
                out[name] = match[0]
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                return None
            if not (r.min_value <= number <= r.max_value) or math.isnan(number):
                return None
            if r.type == "Integer":
                if not number.is_integer():
                    return None
                out[name] = int(number)
            elif scaling_of(r) == "ReverseLogarithmic":
                out[name] = 1 - number
            else:
                out[name] = number
        return out

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of Categorical values, in the order the ranges are listed."""
        names = list(self.ranges)
        values = [list(self.ranges[n].values) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def _plain(value):
    """A numpy scalar as a Python one."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _same(a, b) -> bool:
    """Categorical values compare as text too: '0.1' from a YAML file equals 0.1."""
    return a == b or str(a) == str(b)
