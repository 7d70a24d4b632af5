"""``sagemaker.sklearn.processing``: ``SKLearnProcessor`` runs a Python script."""

from __future__ import annotations

from typing import Any

from raymaker.sagemaker.processing import ScriptProcessor


class SKLearnProcessor(ScriptProcessor):
    """A scikit-learn processing job (``framework_version`` accepted; the installed one runs)."""

    def __init__(self, framework_version: str | None = None, role: str | None = None,
                 instance_type: str = "cpu.1", instance_count: int = 1, **kwargs: Any):  # fmt: skip
        self.framework_version = framework_version
        super().__init__(
            role=role, command=kwargs.pop("command", None), instance_count=instance_count,
            instance_type=instance_type, **kwargs,
        )  # fmt: skip
