"""Built-in algorithms: name -> "module:class". Each is an ``Algorithm`` (see base.py)."""

from __future__ import annotations

import importlib

from raymaker.errors import SpecError

ALGORITHMS = {
    "xgboost": "raymaker.train.algorithms.gbdt:XGBoostAlgorithm",
    "lightgbm": "raymaker.train.algorithms.gbdt:LightGBMAlgorithm",
    "mlp": "raymaker.train.algorithms.torch_nets:MLPAlgorithm",
    "image": "raymaker.train.algorithms.torch_nets:ImageAlgorithm",
    "text": "raymaker.train.algorithms.torch_nets:TextAlgorithm",
    "forecast": "raymaker.train.algorithms.forecast:ForecastAlgorithm",
}


def algorithm_for(name: str):
    """The algorithm named ``name``. Raises SpecError listing the built-ins."""
    target = ALGORITHMS.get(name)
    if target is None:
        raise SpecError(
            f"algorithm {name!r} is not a built-in; allowed: {', '.join(sorted(ALGORITHMS))}"
        )
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)()
