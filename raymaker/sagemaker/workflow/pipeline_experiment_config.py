"""``sagemaker.workflow.pipeline_experiment_config``: the experiment an execution's jobs are
tracked in (defaults: the pipeline's name and the execution's id)."""

from __future__ import annotations

from raymaker.sagemaker.workflow.execution_variables import ExecutionVariable


class PipelineExperimentConfig:
    def __init__(self, experiment_name, trial_name):
        self.experiment_name = experiment_name
        self.trial_name = trial_name

    def to_request(self) -> dict:
        return {"ExperimentName": self.experiment_name, "TrialName": self.trial_name}


class PipelineExperimentConfigProperties:
    EXPERIMENT_NAME = ExecutionVariable("PipelineName")
    TRIAL_NAME = ExecutionVariable("PipelineExecutionId")
