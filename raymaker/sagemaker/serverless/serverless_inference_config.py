"""``sagemaker.serverless.serverless_inference_config``."""

from __future__ import annotations

from typing import Any


class ServerlessInferenceConfig:
    """Serverless: scale to zero after ``idle_timeout_s``, at most ``max_concurrency`` in flight."""

    def __init__(
        self,
        memory_size_in_mb: int = 2048,
        max_concurrency: int = 5,
        idle_timeout_s: float = 300.0,
        **_ignored: Any,
    ):
        self.memory_size_in_mb = memory_size_in_mb
        self.max_concurrency = max_concurrency
        self.idle_timeout_s = idle_timeout_s

    def to_spec(self) -> dict:
        return dict(vars(self))
