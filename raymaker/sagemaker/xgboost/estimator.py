"""``sagemaker.xgboost.estimator``: the XGBoost estimator."""

from __future__ import annotations

from raymaker.sagemaker.estimator import Estimator


class XGBoost(Estimator):
    """XGBoost: the built-in algorithm (no ``entry_point``) or an XGBoost script."""

    _framework = "xgboost"
    _default_algorithm = "xgboost"
    _script_model = "raymaker.sagemaker.xgboost.model:XGBoostModel"
