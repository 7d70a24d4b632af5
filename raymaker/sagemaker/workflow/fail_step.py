"""``sagemaker.workflow.fail_step``: end the execution Failed with a message."""

from __future__ import annotations

from raymaker.sagemaker.workflow.steps import Step, StepTypeEnum


class FailStep(Step):
    step_type = StepTypeEnum.FAIL

    def __init__(
        self, name: str, error_message=None, display_name=None, description=None, depends_on=None
    ):
        super().__init__(name, self.step_type, display_name, description, depends_on)
        self.error_message = error_message if error_message is not None else ""

    @property
    def arguments(self) -> dict:
        return {"ErrorMessage": self.error_message}
