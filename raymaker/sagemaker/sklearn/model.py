"""``sagemaker.sklearn.model``: scikit-learn models and their predictor, with SageMaker's defaults
(NumPy in and out: ``predictor.NumpyPredictor``)."""

from __future__ import annotations

from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import NumpyPredictor


class SKLearnPredictor(NumpyPredictor):
    """SageMaker's ``SKLearnPredictor``: NumPy in, NumPy out."""


class SKLearnModel(Model):
    """A scikit-learn artifact and its handler script; ``deploy`` returns a SKLearnPredictor."""

    _framework = "sklearn"
    predictor_cls = SKLearnPredictor
