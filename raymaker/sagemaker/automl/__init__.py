"""``sagemaker.automl``: Autopilot's SDK classes (``AutoML``, ``AutoMLV2`` and their inputs)."""

from raymaker.sagemaker.automl.automl import AutoML, AutoMLInput
from raymaker.sagemaker.automl.automlv2 import AutoMLDataChannel, AutoMLTabularConfig, AutoMLV2

__all__ = ["AutoML", "AutoMLDataChannel", "AutoMLInput", "AutoMLTabularConfig", "AutoMLV2"]
