"""``sagemaker.workflow``: SageMaker Pipelines, run by raymaker's job layer (an execution is a
job whose driver runs each step as the raymaker job it is). ``raymaker.pipelines`` is the
engine; this package is SDK v2's shape over it."""

from raymaker.sagemaker.workflow.entities import PipelineVariable, is_pipeline_variable

__all__ = ["PipelineVariable", "is_pipeline_variable"]
