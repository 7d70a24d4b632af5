"""``sagemaker.model_monitor.data_capture_config``."""

from __future__ import annotations

from typing import Any


class DataCaptureConfig:
    """Capture ``sampling_percentage`` of requests and responses under ``destination_uri``."""

    def __init__(
        self,
        enable_capture: bool = True,
        sampling_percentage: float = 20,
        destination_s3_uri: str | None = None,
        *,
        destination_uri: str | None = None,
        **_ignored: Any,
    ):
        self.enable_capture = enable_capture
        self.sampling_percentage = sampling_percentage
        self.destination_uri = destination_uri or destination_s3_uri

    def to_spec(self) -> dict | None:
        if not self.enable_capture:
            return None
        return {
            "sampling_percentage": self.sampling_percentage,
            "destination_uri": self.destination_uri,
        }
