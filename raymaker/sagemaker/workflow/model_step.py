"""``sagemaker.workflow.model_step``: ``ModelStep`` over ``model.create()`` or
``model.register()`` under a PipelineSession; and SDK v2's older ``CreateModelStep``."""

from __future__ import annotations

from raymaker.errors import SpecError
from raymaker.sagemaker.workflow.pipeline_context import StepArguments, capture
from raymaker.sagemaker.workflow.steps import ConfigurableRetryStep, StepTypeEnum


class _ModelStep(ConfigurableRetryStep):
    def __init__(
        self,
        name,
        step_type,
        arguments: dict,
        display_name=None,
        description=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(name, step_type, display_name, description, depends_on, retry_policies)
        self._arguments = arguments

    @property
    def arguments(self) -> dict:
        return self._arguments


class ModelStep:
    """A step collection of one step: ``<name>-CreateModel`` or ``<name>-RegisterModel``;
    ``properties`` are that step's."""

    def __init__(
        self,
        name: str,
        step_args: StepArguments,
        depends_on=None,
        retry_policies=None,
        display_name=None,
        description=None,
        **_ignored,
    ):
        if not isinstance(step_args, StepArguments) or step_args.kind not in (
            "Model",
            "RegisterModel",
        ):
            raise SpecError(
                f"ModelStep {name!r}: step_args must be model.create() or "
                "model.register() under a PipelineSession"
            )
        if isinstance(retry_policies, dict):  # SageMaker's per-step form
            retry_policies = retry_policies.get(
                "register_model_retry_policies"
            ) or retry_policies.get("create_model_retry_policies")
        kind = step_args.kind
        suffix = "RegisterModel" if kind == "RegisterModel" else "CreateModel"
        step_type = (
            StepTypeEnum.REGISTER_MODEL if kind == "RegisterModel" else StepTypeEnum.CREATE_MODEL
        )
        self.name = name
        self.steps = [
            _ModelStep(
                f"{name}-{suffix}",
                step_type,
                dict(step_args.arguments),
                display_name,
                description,
                depends_on,
                retry_policies,
            )
        ]

    @property
    def properties(self):
        return self.steps[-1].properties

    def __repr__(self) -> str:
        return f"ModelStep({self.name!r})"


class CreateModelStep(_ModelStep):
    """SDK v2's older form: ``CreateModelStep(name, model=model)``."""

    step_type = StepTypeEnum.CREATE_MODEL

    def __init__(
        self,
        name: str,
        step_args=None,
        model=None,
        inputs=None,
        depends_on=None,
        retry_policies=None,
        display_name=None,
        description=None,
    ):
        if step_args is None:
            if model is None:
                raise SpecError(f"CreateModelStep {name!r}: give step_args or model")
            with capture():
                step_args = model.create()
        super().__init__(
            name,
            self.step_type,
            dict(step_args.arguments),
            display_name,
            description,
            depends_on,
            retry_policies,
        )
