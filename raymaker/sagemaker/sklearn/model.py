"""``sagemaker.sklearn.model``: scikit-learn models and predictors, with SageMaker's defaults.

``SKLearnPredictor`` sends and reads NumPy arrays (``application/x-npy``), as SageMaker's does, so
a notebook's ``predictor.predict(ndarray)`` gets an ndarray back; ``SKLearnModel`` deploys to one.
"""

from __future__ import annotations

from raymaker.sagemaker.deserializers import NumpyDeserializer
from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import Predictor
from raymaker.sagemaker.serializers import NumpySerializer


class SKLearnPredictor(Predictor):
    """A Predictor whose defaults are NumPy in, NumPy out."""

    default_serializer = NumpySerializer
    default_deserializer = NumpyDeserializer


class SKLearnModel(Model):
    """A scikit-learn artifact and its handler script; ``deploy`` returns a SKLearnPredictor."""

    predictor_cls = SKLearnPredictor
