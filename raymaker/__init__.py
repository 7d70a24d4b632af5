"""raymaker: an open-source SageMaker on one Ray cluster.

Everything public is importable from here. Importing raymaker does not import Ray, torch or
the engines: each name is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # session, settings, cluster
    "Session": "raymaker.session",
    "Settings": "raymaker.settings",
    "LocalCluster": "raymaker.cluster",
    # errors
    "RaymakerError": "raymaker.errors",
    "SpecError": "raymaker.errors",
    "InvalidKey": "raymaker.errors",
    "NotFound": "raymaker.errors",
    "Conflict": "raymaker.errors",
    "AuthError": "raymaker.errors",
    "MissingDependency": "raymaker.errors",
    "JobFailed": "raymaker.errors",
    "JobStopped": "raymaker.errors",
    "WaitTimeout": "raymaker.errors",
    "ClusterError": "raymaker.errors",
    "DataError": "raymaker.errors",
    # specs
    "ProcessingJob": "raymaker.specs.jobs",
    "ProcessingInput": "raymaker.specs.jobs",
    "ProcessingOutput": "raymaker.specs.jobs",
    "TrainingJob": "raymaker.specs.jobs",
    "TuningJob": "raymaker.specs.jobs",
    "TransformJob": "raymaker.specs.jobs",
    "Endpoint": "raymaker.specs.endpoint",
    "load_spec": "raymaker.specs",
    "parse_spec": "raymaker.specs",
    "dump_spec": "raymaker.specs",
    # jobs
    "JobsClient": "raymaker.jobs.client",
    "JobHandle": "raymaker.jobs.client",
    "JobRecord": "raymaker.jobs.records",
    "JobStatus": "raymaker.jobs.records",
    "run_spec": "raymaker.jobs.runner",
    # data preparation
    "Recipe": "raymaker.data.recipe",
    "FittedRecipe": "raymaker.data.recipe",
    "load_recipe": "raymaker.data.recipe",
    "SplitSpec": "raymaker.specs.jobs",
    "split_frame": "raymaker.data.splits",
    "profile": "raymaker.data.profile",
    # training
    "Estimator": "raymaker.train.estimator",
    "XGBoost": "raymaker.train.estimator",
    "LightGBM": "raymaker.train.estimator",
    "PyTorch": "raymaker.train.estimator",
    "SKLearn": "raymaker.train.estimator",
    "TrainingInput": "raymaker.train.estimator",
    "report_metrics": "raymaker.train.metrics",
    # tuning
    "HyperparameterTuner": "raymaker.tuning.tuner",
    "ContinuousParameter": "raymaker.tuning.tuner",
    "IntegerParameter": "raymaker.tuning.tuner",
    "CategoricalParameter": "raymaker.tuning.tuner",
    "WarmStartConfig": "raymaker.tuning.tuner",
    "WarmStartTypes": "raymaker.tuning.tuner",
    "StrategyConfig": "raymaker.tuning.tuner",
    "HyperbandStrategyConfig": "raymaker.tuning.tuner",
    "TuningJobCompletionCriteriaConfig": "raymaker.tuning.tuner",
    "HyperparameterTuningJobAnalytics": "raymaker.tuning.tuner",
    # endpoints
    "Model": "raymaker.serve.model",
    "Predictor": "raymaker.serve.model",
    "ProductionVariant": "raymaker.serve.model",
    "AutoscalingConfig": "raymaker.serve.model",
    "ServerlessInferenceConfig": "raymaker.serve.model",
    "DataCaptureConfig": "raymaker.serve.model",
    "CSVSerializer": "raymaker.serve.serializers",
    "JSONSerializer": "raymaker.serve.serializers",
    "JSONLinesSerializer": "raymaker.serve.serializers",
    "NumpySerializer": "raymaker.serve.serializers",
    "IdentitySerializer": "raymaker.serve.serializers",
    "CSVDeserializer": "raymaker.serve.serializers",
    "JSONDeserializer": "raymaker.serve.serializers",
    "NumpyDeserializer": "raymaker.serve.serializers",
    "BytesDeserializer": "raymaker.serve.serializers",
    "StringDeserializer": "raymaker.serve.serializers",
    # batch transform
    "Transformer": "raymaker.batch.transformer",
    # model registry
    "ModelRegistry": "raymaker.registry.registry",
    "ModelVersion": "raymaker.registry.registry",
    # storage
    "Store": "raymaker.storage.store",
    "open_store": "raymaker.storage.store",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'raymaker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from raymaker.batch.transformer import Transformer
    from raymaker.cluster import LocalCluster
    from raymaker.data.profile import profile
    from raymaker.data.recipe import FittedRecipe, Recipe, load_recipe
    from raymaker.data.splits import split_frame
    from raymaker.errors import (
        AuthError,
        ClusterError,
        Conflict,
        DataError,
        InvalidKey,
        JobFailed,
        JobStopped,
        MissingDependency,
        NotFound,
        RaymakerError,
        SpecError,
        WaitTimeout,
    )
    from raymaker.jobs.client import JobHandle, JobsClient
    from raymaker.jobs.records import JobRecord, JobStatus
    from raymaker.jobs.runner import run_spec
    from raymaker.registry.registry import ModelRegistry, ModelVersion
    from raymaker.serve.model import (
        AutoscalingConfig,
        DataCaptureConfig,
        Model,
        Predictor,
        ProductionVariant,
        ServerlessInferenceConfig,
    )
    from raymaker.serve.serializers import (
        BytesDeserializer,
        CSVDeserializer,
        CSVSerializer,
        IdentitySerializer,
        JSONDeserializer,
        JSONLinesSerializer,
        JSONSerializer,
        NumpyDeserializer,
        NumpySerializer,
        StringDeserializer,
    )
    from raymaker.session import Session
    from raymaker.settings import Settings
    from raymaker.specs import dump_spec, load_spec, parse_spec
    from raymaker.specs.endpoint import Endpoint
    from raymaker.specs.jobs import (
        ProcessingInput,
        ProcessingJob,
        ProcessingOutput,
        SplitSpec,
        TrainingJob,
        TransformJob,
        TuningJob,
    )
    from raymaker.storage.store import Store, open_store
    from raymaker.train.estimator import (
        Estimator,
        LightGBM,
        PyTorch,
        SKLearn,
        TrainingInput,
        XGBoost,
    )
    from raymaker.train.metrics import report_metrics
    from raymaker.tuning.tuner import (
        CategoricalParameter,
        ContinuousParameter,
        HyperbandStrategyConfig,
        HyperparameterTuner,
        HyperparameterTuningJobAnalytics,
        IntegerParameter,
        StrategyConfig,
        TuningJobCompletionCriteriaConfig,
        WarmStartConfig,
        WarmStartTypes,
    )
