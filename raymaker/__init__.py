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
    # session (the SDK layer, raymaker.sagemaker), settings, cluster
    "Session": "raymaker.sagemaker.session",
    "get_execution_role": "raymaker.sagemaker.session",
    "Settings": "raymaker.settings",
    "LocalCluster": "raymaker.cluster",
    # errors
    "RaymakerError": "raymaker.errors",
    "SpecError": "raymaker.errors",
    "InvalidKey": "raymaker.errors",
    "NotFound": "raymaker.errors",
    "Conflict": "raymaker.errors",
    "AuthError": "raymaker.errors",
    "Forbidden": "raymaker.errors",
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
    "AutoMLJob": "raymaker.specs.automl",
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
    # Autopilot
    "AutoML": "raymaker.sagemaker.automl",
    "AutoMLInput": "raymaker.sagemaker.automl",
    "AutoMLV2": "raymaker.sagemaker.automl",
    "AutoMLTabularConfig": "raymaker.sagemaker.automl",
    "AutoMLDataChannel": "raymaker.sagemaker.automl",
    # experiments (MLflow)
    "Run": "raymaker.sagemaker.experiments",
    "load_run": "raymaker.sagemaker.experiments",
    "list_runs": "raymaker.sagemaker.experiments",
    "ExperimentAnalytics": "raymaker.sagemaker.analytics",
    # training
    "Estimator": "raymaker.sagemaker.estimator",
    "XGBoost": "raymaker.sagemaker.xgboost",
    "XGBoostModel": "raymaker.sagemaker.xgboost",
    "XGBoostPredictor": "raymaker.sagemaker.xgboost",
    "LightGBM": "raymaker.sagemaker.lightgbm",
    "PyTorch": "raymaker.sagemaker.pytorch",
    "PyTorchModel": "raymaker.sagemaker.pytorch",
    "PyTorchPredictor": "raymaker.sagemaker.pytorch",
    "SKLearn": "raymaker.sagemaker.sklearn",
    "SKLearnModel": "raymaker.sagemaker.sklearn",
    "SKLearnPredictor": "raymaker.sagemaker.sklearn",
    "TensorFlow": "raymaker.sagemaker.tensorflow",
    "TensorFlowModel": "raymaker.sagemaker.tensorflow",
    "TensorFlowPredictor": "raymaker.sagemaker.tensorflow",
    "TrainingInput": "raymaker.sagemaker.inputs",
    "report_metrics": "raymaker.train.metrics",
    # tuning
    "HyperparameterTuner": "raymaker.sagemaker.tuner",
    "ContinuousParameter": "raymaker.sagemaker.parameter",
    "IntegerParameter": "raymaker.sagemaker.parameter",
    "CategoricalParameter": "raymaker.sagemaker.parameter",
    "WarmStartConfig": "raymaker.sagemaker.tuner",
    "WarmStartTypes": "raymaker.sagemaker.tuner",
    "StrategyConfig": "raymaker.sagemaker.tuner",
    "HyperbandStrategyConfig": "raymaker.sagemaker.tuner",
    "TuningJobCompletionCriteriaConfig": "raymaker.sagemaker.tuner",
    "HyperparameterTuningJobAnalytics": "raymaker.sagemaker.tuner",
    # endpoints
    "Model": "raymaker.sagemaker.model",
    "Predictor": "raymaker.sagemaker.predictor",
    "ProductionVariant": "raymaker.sagemaker.model",
    "AutoscalingConfig": "raymaker.sagemaker.model",
    "ServerlessInferenceConfig": "raymaker.sagemaker.serverless",
    "DataCaptureConfig": "raymaker.sagemaker.model_monitor",
    # monitoring
    "DefaultModelMonitor": "raymaker.sagemaker.model_monitor",
    "ModelQualityMonitor": "raymaker.sagemaker.model_monitor",
    "ModelBiasMonitor": "raymaker.sagemaker.model_monitor",
    "ModelExplainabilityMonitor": "raymaker.sagemaker.model_monitor",
    "SageMakerClarifyProcessor": "raymaker.sagemaker.clarify",
    "CronExpressionGenerator": "raymaker.sagemaker.model_monitor",
    "DatasetFormat": "raymaker.sagemaker.model_monitor",
    "CSVSerializer": "raymaker.sagemaker.serializers",
    "JSONSerializer": "raymaker.sagemaker.serializers",
    "JSONLinesSerializer": "raymaker.sagemaker.serializers",
    "NumpySerializer": "raymaker.sagemaker.serializers",
    "IdentitySerializer": "raymaker.sagemaker.serializers",
    "CSVDeserializer": "raymaker.sagemaker.deserializers",
    "JSONDeserializer": "raymaker.sagemaker.deserializers",
    "NumpyDeserializer": "raymaker.sagemaker.deserializers",
    "BytesDeserializer": "raymaker.sagemaker.deserializers",
    "StringDeserializer": "raymaker.sagemaker.deserializers",
    # batch transform
    "Transformer": "raymaker.sagemaker.transformer",
    # model registry
    "ModelRegistry": "raymaker.sagemaker.model_registry",
    "ModelVersion": "raymaker.registry.registry",
    # pipelines (SageMaker Pipelines: raymaker.sagemaker.workflow)
    "Pipeline": "raymaker.sagemaker.workflow.pipeline",
    "PipelineSession": "raymaker.sagemaker.workflow.pipeline_context",
    "ParameterString": "raymaker.sagemaker.workflow.parameters",
    "ParameterInteger": "raymaker.sagemaker.workflow.parameters",
    "ParameterFloat": "raymaker.sagemaker.workflow.parameters",
    "ParameterBoolean": "raymaker.sagemaker.workflow.parameters",
    "ExecutionVariables": "raymaker.sagemaker.workflow.execution_variables",
    "Join": "raymaker.sagemaker.workflow.functions",
    "JsonGet": "raymaker.sagemaker.workflow.functions",
    "PropertyFile": "raymaker.sagemaker.workflow.properties",
    "CacheConfig": "raymaker.sagemaker.workflow.steps",
    "ProcessingStep": "raymaker.sagemaker.workflow.steps",
    "TrainingStep": "raymaker.sagemaker.workflow.steps",
    "TuningStep": "raymaker.sagemaker.workflow.steps",
    "TransformStep": "raymaker.sagemaker.workflow.steps",
    "ModelStep": "raymaker.sagemaker.workflow.model_step",
    "CreateModelStep": "raymaker.sagemaker.workflow.model_step",
    "RegisterModel": "raymaker.sagemaker.workflow.step_collections",
    "ConditionStep": "raymaker.sagemaker.workflow.condition_step",
    "FailStep": "raymaker.sagemaker.workflow.fail_step",
    "AutoMLStep": "raymaker.sagemaker.workflow.automl_step",
    "step": "raymaker.sagemaker.workflow.function_step",
    "DelayedReturn": "raymaker.sagemaker.workflow.function_step",
    "ConditionEquals": "raymaker.sagemaker.workflow.conditions",
    "ConditionGreaterThan": "raymaker.sagemaker.workflow.conditions",
    "ConditionGreaterThanOrEqualTo": "raymaker.sagemaker.workflow.conditions",
    "ConditionLessThan": "raymaker.sagemaker.workflow.conditions",
    "ConditionLessThanOrEqualTo": "raymaker.sagemaker.workflow.conditions",
    "ConditionIn": "raymaker.sagemaker.workflow.conditions",
    "ConditionNot": "raymaker.sagemaker.workflow.conditions",
    "ConditionOr": "raymaker.sagemaker.workflow.conditions",
    "StepRetryPolicy": "raymaker.sagemaker.workflow.retry",
    "SageMakerJobStepRetryPolicy": "raymaker.sagemaker.workflow.retry",
    "StepExceptionTypeEnum": "raymaker.sagemaker.workflow.retry",
    "SageMakerJobExceptionTypeEnum": "raymaker.sagemaker.workflow.retry",
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
    from raymaker.cluster import LocalCluster
    from raymaker.data.profile import profile
    from raymaker.data.recipe import (
        FittedRecipe,
        Recipe,
        load_recipe,
    )
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
    from raymaker.jobs.client import (
        JobHandle,
        JobsClient,
    )
    from raymaker.jobs.records import (
        JobRecord,
        JobStatus,
    )
    from raymaker.jobs.runner import run_spec
    from raymaker.registry.registry import ModelVersion
    from raymaker.sagemaker.clarify import SageMakerClarifyProcessor
    from raymaker.sagemaker.deserializers import (
        BytesDeserializer,
        CSVDeserializer,
        JSONDeserializer,
        NumpyDeserializer,
        StringDeserializer,
    )
    from raymaker.sagemaker.estimator import Estimator
    from raymaker.sagemaker.inputs import TrainingInput
    from raymaker.sagemaker.lightgbm import LightGBM
    from raymaker.sagemaker.model import (
        AutoscalingConfig,
        Model,
        ProductionVariant,
    )
    from raymaker.sagemaker.model_monitor import (
        CronExpressionGenerator,
        DataCaptureConfig,
        DatasetFormat,
        DefaultModelMonitor,
        ModelBiasMonitor,
        ModelExplainabilityMonitor,
        ModelQualityMonitor,
    )
    from raymaker.sagemaker.model_registry import ModelRegistry
    from raymaker.sagemaker.parameter import (
        CategoricalParameter,
        ContinuousParameter,
        IntegerParameter,
    )
    from raymaker.sagemaker.predictor import Predictor
    from raymaker.sagemaker.pytorch import PyTorch
    from raymaker.sagemaker.serializers import (
        CSVSerializer,
        IdentitySerializer,
        JSONLinesSerializer,
        JSONSerializer,
        NumpySerializer,
    )
    from raymaker.sagemaker.serverless import ServerlessInferenceConfig
    from raymaker.sagemaker.session import Session
    from raymaker.sagemaker.sklearn import SKLearn
    from raymaker.sagemaker.transformer import Transformer
    from raymaker.sagemaker.tuner import (
        HyperbandStrategyConfig,
        HyperparameterTuner,
        HyperparameterTuningJobAnalytics,
        StrategyConfig,
        TuningJobCompletionCriteriaConfig,
        WarmStartConfig,
        WarmStartTypes,
    )
    from raymaker.sagemaker.workflow.automl_step import (
        AutoMLStep,
    )
    from raymaker.sagemaker.workflow.condition_step import (
        ConditionStep,
    )
    from raymaker.sagemaker.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThan,
        ConditionGreaterThanOrEqualTo,
        ConditionIn,
        ConditionLessThan,
        ConditionLessThanOrEqualTo,
        ConditionNot,
        ConditionOr,
    )
    from raymaker.sagemaker.workflow.execution_variables import (
        ExecutionVariables,
    )
    from raymaker.sagemaker.workflow.fail_step import (
        FailStep,
    )
    from raymaker.sagemaker.workflow.function_step import (
        DelayedReturn,
        step,
    )
    from raymaker.sagemaker.workflow.functions import (
        Join,
        JsonGet,
    )
    from raymaker.sagemaker.workflow.model_step import (
        CreateModelStep,
        ModelStep,
    )
    from raymaker.sagemaker.workflow.parameters import (
        ParameterBoolean,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from raymaker.sagemaker.workflow.pipeline import (
        Pipeline,
    )
    from raymaker.sagemaker.workflow.pipeline_context import (
        PipelineSession,
    )
    from raymaker.sagemaker.workflow.properties import (
        PropertyFile,
    )
    from raymaker.sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from raymaker.sagemaker.workflow.step_collections import (
        RegisterModel,
    )
    from raymaker.sagemaker.workflow.steps import (
        CacheConfig,
        ProcessingStep,
        TrainingStep,
        TransformStep,
        TuningStep,
    )
    from raymaker.sagemaker.xgboost import XGBoost
    from raymaker.settings import Settings
    from raymaker.specs import (
        dump_spec,
        load_spec,
        parse_spec,
    )
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
    from raymaker.storage.store import (
        Store,
        open_store,
    )
    from raymaker.train.metrics import report_metrics
