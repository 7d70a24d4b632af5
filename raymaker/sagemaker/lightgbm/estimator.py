"""``sagemaker.lightgbm.estimator``: the LightGBM estimator."""

from __future__ import annotations

from raymaker.sagemaker.estimator import Estimator


class LightGBM(Estimator):
    """LightGBM: the built-in algorithm (no ``entry_point``) or a LightGBM script."""

    _framework = "lightgbm"
    _default_algorithm = "lightgbm"
