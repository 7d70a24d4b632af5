"""``sagemaker.workflow.condition_step``: run ``if_steps`` or ``else_steps`` by a test."""

from __future__ import annotations

from raymaker.sagemaker.workflow.steps import Step, StepTypeEnum


class ConditionStep(Step):
    step_type = StepTypeEnum.CONDITION

    def __init__(
        self,
        name: str,
        depends_on=None,
        display_name=None,
        description=None,
        conditions=None,
        if_steps=None,
        else_steps=None,
    ):
        super().__init__(name, self.step_type, display_name, description, depends_on)
        self.conditions = list(conditions or [])
        self.if_steps = list(if_steps or [])
        self.else_steps = list(else_steps or [])

    @property
    def arguments(self) -> dict:
        return {
            "Conditions": [c.to_request() for c in self.conditions],
            "IfSteps": _requests(self.if_steps),
            "ElseSteps": _requests(self.else_steps),
        }


def _requests(steps: list) -> list:
    out = []
    for s in steps:
        members = getattr(s, "steps", None)  # a step collection (RegisterModel, ModelStep)
        out.extend(m.to_request() for m in (members if members is not None else [s]))
    return out
