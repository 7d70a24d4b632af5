"""``sagemaker.lightgbm``: LightGBM on raymaker."""

from raymaker.sagemaker.lightgbm.estimator import LightGBM

__all__ = ["LightGBM"]
