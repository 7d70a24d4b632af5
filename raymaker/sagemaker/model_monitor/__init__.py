"""``sagemaker.model_monitor``: data capture, baselines, monitoring schedules and their files."""

from raymaker.sagemaker.model_monitor.clarify_model_monitoring import (
    ModelBiasMonitor,
    ModelExplainabilityMonitor,
)
from raymaker.sagemaker.model_monitor.cron_expression_generator import CronExpressionGenerator
from raymaker.sagemaker.model_monitor.data_capture_config import DataCaptureConfig
from raymaker.sagemaker.model_monitor.dataset_format import DatasetFormat
from raymaker.sagemaker.model_monitor.model_monitoring import (
    BatchTransformInput,
    DefaultModelMonitor,
    EndpointInput,
    ModelMonitor,
    ModelQualityMonitor,
    MonitoringExecution,
)
from raymaker.sagemaker.model_monitor.monitoring_files import (
    Constraints,
    ConstraintViolations,
    Statistics,
)

__all__ = [
    "BatchTransformInput",
    "ConstraintViolations",
    "Constraints",
    "CronExpressionGenerator",
    "DataCaptureConfig",
    "DatasetFormat",
    "DefaultModelMonitor",
    "EndpointInput",
    "ModelBiasMonitor",
    "ModelExplainabilityMonitor",
    "ModelMonitor",
    "ModelQualityMonitor",
    "MonitoringExecution",
    "Statistics",
]
