"""``sagemaker.tensorflow.model``: TensorFlow models and their predictor, with SageMaker's
defaults (JSON in and out, TensorFlow Serving's ``{"instances": ...}`` request shape)."""

from __future__ import annotations

from typing import Any

from raymaker.sagemaker.deserializers import JSONDeserializer
from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import Predictor
from raymaker.sagemaker.serializers import JSONSerializer


class TensorFlowPredictor(Predictor):
    """SageMaker's ``TensorFlowPredictor``: JSON in, JSON out. ``predict(list or ndarray)``
    sends the rows as TensorFlow Serving's instances and returns ``{"predictions": [...]}``."""

    default_serializer = JSONSerializer
    default_deserializer = JSONDeserializer

    def predict(self, data, initial_args: dict | None = None, **kwargs: Any):
        if hasattr(data, "tolist") and not hasattr(data, "to_dict"):
            data = data.tolist()  # an ndarray: rows as instances (the container wraps a list)
        return super().predict(data, initial_args, **kwargs)


class TensorFlowModel(Model):
    """A SavedModel (``model.tar.gz`` holding ``<version>/saved_model.pb``, or the folder);
    ``deploy`` serves it with TensorFlow Serving's REST shapes and returns a
    TensorFlowPredictor. An ``entry_point`` may add ``input_handler`` / ``output_handler``-style
    hooks as ``input_fn`` / ``output_fn``."""

    _framework = "tensorflow"
    predictor_cls = TensorFlowPredictor

    def __init__(self, model_data: str | None = None, role: str | None = None,
                 entry_point: str | None = None, framework_version: str | None = None,
                 **kwargs: Any):  # fmt: skip
        from raymaker.sagemaker.tensorflow.estimator import notice_version

        notice_version(framework_version)
        super().__init__(model_data=model_data, entry_point=entry_point, role=role,
                         framework_version=framework_version, **kwargs)  # fmt: skip
