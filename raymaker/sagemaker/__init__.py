"""The SageMaker-shaped SDK, laid out like the SageMaker Python SDK v2's module paths.

A notebook migrates by its import lines::

    import raymaker.sagemaker as sagemaker
    from raymaker.sagemaker.xgboost import XGBoost
    from raymaker.sagemaker.tuner import HyperparameterTuner, ContinuousParameter

This is a door: it builds specs and calls the engines (``raymaker.train``, ``serve``,
``batch``, ``tuning``, ``registry``, ``jobs``), which never import it. Names load on first use,
so importing it imports no Ray, torch or xgboost.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it (the names ``import sagemaker`` offers at its top)
_EXPORTS = {
    "Session": "raymaker.sagemaker.session",
    "get_execution_role": "raymaker.sagemaker.session",
    "Estimator": "raymaker.sagemaker.estimator",
    "TrainingInput": "raymaker.sagemaker.inputs",
    "Model": "raymaker.sagemaker.model",
    "Predictor": "raymaker.sagemaker.predictor",
    "Transformer": "raymaker.sagemaker.transformer",
    "HyperparameterTuner": "raymaker.sagemaker.tuner",
    "ContinuousParameter": "raymaker.sagemaker.parameter",
    "IntegerParameter": "raymaker.sagemaker.parameter",
    "CategoricalParameter": "raymaker.sagemaker.parameter",
    "ProcessingInput": "raymaker.sagemaker.processing",
    "ProcessingOutput": "raymaker.sagemaker.processing",
    "ScriptProcessor": "raymaker.sagemaker.processing",
    "AutoML": "raymaker.sagemaker.automl",
    "AutoMLInput": "raymaker.sagemaker.automl",
    "AutoMLV2": "raymaker.sagemaker.automl",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'raymaker.sagemaker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
