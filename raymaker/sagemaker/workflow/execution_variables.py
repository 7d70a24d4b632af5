"""``sagemaker.workflow.execution_variables``: what an execution knows about itself."""

from __future__ import annotations

from raymaker.sagemaker.workflow.entities import PipelineVariable


class ExecutionVariable(PipelineVariable):
    def __init__(self, name: str):
        self.name = name

    @property
    def expr(self) -> dict:
        return {"Get": f"Execution.{self.name}"}


class ExecutionVariables:
    START_DATETIME = ExecutionVariable("StartDateTime")
    CURRENT_DATETIME = ExecutionVariable("CurrentDateTime")
    PIPELINE_NAME = ExecutionVariable("PipelineName")
    PIPELINE_ARN = ExecutionVariable("PipelineArn")
    PIPELINE_EXECUTION_ID = ExecutionVariable("PipelineExecutionId")
    PIPELINE_EXECUTION_ARN = ExecutionVariable("PipelineExecutionArn")
