"""``sagemaker.xgboost``: XGBoost on raymaker."""

from raymaker.sagemaker.xgboost.estimator import XGBoost

__all__ = ["XGBoost"]
