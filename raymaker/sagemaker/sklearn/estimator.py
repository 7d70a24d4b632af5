"""``sagemaker.sklearn.estimator``: the scikit-learn estimator."""

from __future__ import annotations

from raymaker.sagemaker.estimator import Estimator


class SKLearn(Estimator):
    """A scikit-learn script (script mode; one worker)."""

    _framework = "sklearn"
    _script_model = "raymaker.sagemaker.sklearn.model:SKLearnModel"
