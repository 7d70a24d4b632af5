"""``sagemaker.workflow.parallelism_config``."""

from raymaker.sagemaker.workflow.pipeline import ParallelismConfiguration

__all__ = ["ParallelismConfiguration"]
