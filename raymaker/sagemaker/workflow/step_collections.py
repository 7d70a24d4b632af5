"""``sagemaker.workflow.step_collections``: ``RegisterModel``, the step collection that
registers a model version (one ``<name>-RegisterModel`` step here: raymaker's artifacts need
no repacking)."""

from __future__ import annotations

from raymaker.errors import SpecError
from raymaker.sagemaker.workflow.model_step import _ModelStep
from raymaker.sagemaker.workflow.pipeline_context import capture
from raymaker.sagemaker.workflow.steps import StepTypeEnum


class StepCollection:
    def __init__(self, name: str, steps: list | None = None, depends_on=None):
        self.name = name
        self.steps = list(steps or [])
        self.depends_on = depends_on

    @property
    def properties(self):
        return self.steps[-1].properties

    def request_dicts(self) -> list[dict]:
        return [s.to_request() for s in self.steps]


class RegisterModel(StepCollection):
    def __init__(
        self,
        name: str,
        content_types=None,
        response_types=None,
        inference_instances=None,
        transform_instances=None,
        estimator=None,
        model_data=None,
        depends_on=None,
        repack_model_step_retry_policies=None,
        register_model_step_retry_policies=None,
        model_package_group_name=None,
        model_metrics=None,
        approval_status=None,
        image_uri=None,
        compile_model_family=None,
        display_name=None,
        description=None,
        tags=None,
        model=None,
        drift_check_baselines=None,
        customer_metadata_properties=None,
        **_ignored,
    ):
        from raymaker.sagemaker.model import Model

        if model is None:
            if model_data is None and estimator is None:
                raise SpecError(f"RegisterModel {name!r}: give model, model_data or estimator")
            if model_data is None:
                raise SpecError(
                    f"RegisterModel {name!r}: give model_data (a TrainingStep's "
                    "properties.ModelArtifacts.S3ModelArtifacts)"
                )
            model = Model(
                model_data=model_data,
                entry_point=getattr(estimator, "entry_point", None),
                source_dir=getattr(estimator, "source_dir", None),
            )
        with capture():
            args = model.register(
                content_types,
                response_types,
                inference_instances,
                transform_instances,
                model_package_group_name,
                approval_status=approval_status,
                description=description,
                customer_metadata_properties=customer_metadata_properties,
            )
        step = _ModelStep(
            f"{name}-RegisterModel",
            StepTypeEnum.REGISTER_MODEL,
            dict(args.arguments),
            display_name,
            description,
            depends_on,
            register_model_step_retry_policies,
        )
        super().__init__(name, [step], depends_on)
