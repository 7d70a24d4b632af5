"""``sagemaker.xgboost.model``: XGBoost models and their predictor, with SageMaker's defaults
(LIBSVM in, CSV out)."""

from __future__ import annotations

from raymaker.sagemaker.deserializers import CSVDeserializer
from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import Predictor
from raymaker.sagemaker.serializers import LibSVMSerializer


class XGBoostPredictor(Predictor):
    """SageMaker's ``XGBoostPredictor``: LIBSVM in (``text/libsvm``), CSV out."""

    default_serializer = LibSVMSerializer
    default_deserializer = CSVDeserializer


class XGBoostModel(Model):
    """An XGBoost artifact (any ``model.tar.gz`` holding a booster file) and optionally its
    handler script; ``deploy`` returns an XGBoostPredictor."""

    _framework = "xgboost"
    predictor_cls = XGBoostPredictor
