"""``sagemaker.model_monitor``: what endpoints capture (monitors arrive with their issue)."""

from raymaker.sagemaker.model_monitor.data_capture_config import DataCaptureConfig

__all__ = ["DataCaptureConfig"]
