"""``sagemaker.serverless``: serverless endpoints (scale to zero)."""

from raymaker.sagemaker.serverless.serverless_inference_config import ServerlessInferenceConfig

__all__ = ["ServerlessInferenceConfig"]
