"""``sagemaker.parameter``: the hyperparameter ranges a tuner searches."""

from __future__ import annotations


class _Range:
    type = ""

    def __init__(self, min_value, max_value, scaling_type: str = "Auto"):
        self.min_value, self.max_value, self.scaling_type = min_value, max_value, scaling_type

    def as_range(self) -> dict:
        return {
            "type": self.type,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "scaling_type": self.scaling_type,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.min_value!r}, {self.max_value!r})"


class ContinuousParameter(_Range):
    """A real-valued range; ``scaling_type`` Auto, Linear, Logarithmic or ReverseLogarithmic."""

    type = "Continuous"


class IntegerParameter(_Range):
    """An integer range (both bounds included); ``scaling_type`` Auto, Linear or Logarithmic."""

    type = "Integer"


class CategoricalParameter:
    """A choice among ``values``."""

    type = "Categorical"

    def __init__(self, values):
        self.values = list(values) if isinstance(values, list | tuple) else [values]

    def as_range(self) -> dict:
        return {"type": "Categorical", "values": self.values}

    def __repr__(self) -> str:
        return f"CategoricalParameter({self.values!r})"
