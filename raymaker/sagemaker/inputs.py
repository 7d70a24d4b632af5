"""SageMaker SDK v2's ``sagemaker.inputs``: what a training channel reads."""

from __future__ import annotations

from typing import Any


class TrainingInput:
    """A channel's data (SageMaker's ``TrainingInput``): a URI and an optional content type."""

    def __init__(self, s3_data: str, content_type: str | None = None, **_ignored: Any):
        self.s3_data = s3_data
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"TrainingInput({self.s3_data!r})"
