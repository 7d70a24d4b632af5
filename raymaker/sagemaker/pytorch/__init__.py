"""``sagemaker.pytorch``: PyTorch on raymaker."""

from raymaker.sagemaker.pytorch.estimator import PyTorch
from raymaker.sagemaker.pytorch.model import PyTorchModel, PyTorchPredictor

__all__ = ["PyTorch", "PyTorchModel", "PyTorchPredictor"]
