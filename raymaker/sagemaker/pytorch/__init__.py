"""``sagemaker.pytorch``: PyTorch on raymaker."""

from raymaker.sagemaker.pytorch.estimator import PyTorch

__all__ = ["PyTorch"]
