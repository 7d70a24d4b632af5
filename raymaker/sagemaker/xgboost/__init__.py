"""``sagemaker.xgboost``: XGBoost on raymaker."""

from raymaker.sagemaker.xgboost.estimator import XGBoost
from raymaker.sagemaker.xgboost.model import XGBoostModel, XGBoostPredictor

__all__ = ["XGBoost", "XGBoostModel", "XGBoostPredictor"]
