"""``sagemaker.pytorch.model``: PyTorch models and predictors, with SageMaker's defaults.

``PyTorchPredictor`` sends and reads NumPy arrays (``application/x-npy``), as SageMaker's does, so
a notebook's ``predictor.predict(ndarray)`` gets an ndarray back; ``PyTorchModel`` deploys to one.
"""

from __future__ import annotations

from raymaker.sagemaker.deserializers import NumpyDeserializer
from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import Predictor
from raymaker.sagemaker.serializers import NumpySerializer


class PyTorchPredictor(Predictor):
    """A Predictor whose defaults are NumPy in, NumPy out."""

    default_serializer = NumpySerializer
    default_deserializer = NumpyDeserializer


class PyTorchModel(Model):
    """A PyTorch model artifact and its handler script; ``deploy`` returns a PyTorchPredictor."""

    predictor_cls = PyTorchPredictor
