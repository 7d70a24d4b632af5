"""``sagemaker.pytorch.model``: PyTorch models and their predictor, with SageMaker's defaults
(NumPy in and out: ``predictor.NumpyPredictor``)."""

from __future__ import annotations

from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import NumpyPredictor


class PyTorchPredictor(NumpyPredictor):
    """SageMaker's ``PyTorchPredictor``: NumPy in, NumPy out."""


class PyTorchModel(Model):
    """A PyTorch artifact and its handler script; ``deploy`` returns a PyTorchPredictor."""

    _framework = "pytorch"
    predictor_cls = PyTorchPredictor
