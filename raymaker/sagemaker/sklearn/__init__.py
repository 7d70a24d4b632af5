"""``sagemaker.sklearn``: scikit-learn on raymaker."""

from raymaker.sagemaker.sklearn.estimator import SKLearn
from raymaker.sagemaker.sklearn.model import SKLearnModel, SKLearnPredictor
from raymaker.sagemaker.sklearn.processing import SKLearnProcessor

__all__ = ["SKLearn", "SKLearnModel", "SKLearnPredictor", "SKLearnProcessor"]
