"""``sagemaker.workflow.automl_step``: ``AutoMLStep(name, step_args=automl.fit(...))``; its
``get_best_auto_ml_model`` is the best candidate's artifact."""

from __future__ import annotations

from raymaker.sagemaker.workflow.steps import StepTypeEnum, _JobStep


class AutoMLStep(_JobStep):
    step_type = StepTypeEnum.AUTOML
    _kind = "AutoMLJob"

    def __init__(
        self,
        name: str,
        step_args,
        display_name=None,
        description=None,
        cache_config=None,
        depends_on=None,
        retry_policies=None,
    ):
        super().__init__(
            name,
            self.step_type,
            step_args,
            display_name,
            description,
            cache_config,
            depends_on,
            retry_policies,
        )

    def get_best_auto_ml_model(self, role=None, sagemaker_session=None):
        """A Model of the best candidate (its artifact, known when the step has run)."""
        from raymaker.sagemaker.model import Model

        uri = self.properties.BestCandidate.InferenceContainers[0].ModelDataUrl
        return Model(model_data=uri, sagemaker_session=sagemaker_session)
