"""``sagemaker.tensorflow``: TensorFlow on raymaker (``pip install "raymaker[tensorflow]"``)."""

from raymaker.sagemaker.tensorflow.estimator import TensorFlow
from raymaker.sagemaker.tensorflow.model import TensorFlowModel, TensorFlowPredictor

__all__ = ["TensorFlow", "TensorFlowModel", "TensorFlowPredictor"]
