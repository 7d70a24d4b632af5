"""``sagemaker.workflow.clarify_check_step``: a Clarify analysis (data bias, model bias or
explainability) as a step (a ClarifyJob); its report and analysis are the step's properties.
Checking it against a supplied baseline's constraints is not done here: pass
``skip_check=True`` (the default check would fail the step before it runs)."""

from __future__ import annotations

from raymaker.errors import SpecError
from raymaker.sagemaker.workflow.steps import StepTypeEnum, _CheckStep


class ClarifyCheckConfig:
    analyses: list[str] = []

    def __init__(
        self,
        data_config,
        data_bias_config=None,
        model_config=None,
        model_predicted_label_config=None,
        explainability_config=None,
        methods="all",
    ):
        self.data_config, self.data_bias_config = data_config, data_bias_config
        self.model_config, self.predicted = model_config, model_predicted_label_config
        self.explainability_config, self.methods = explainability_config, methods

    def arguments(self) -> dict:
        from raymaker.sagemaker.clarify import clarify_job_spec

        spec = clarify_job_spec(
            self.analyses,
            self.data_config,
            self.data_bias_config,
            self.model_config,
            self.predicted,
            self.explainability_config,
            self.methods,
        )
        spec.pop("kind", None)
        return spec


class DataBiasCheckConfig(ClarifyCheckConfig):
    analyses = ["pre_training_bias"]

    def __init__(self, data_config, data_bias_config, methods="all", **_ignored):
        super().__init__(data_config, data_bias_config, methods=methods)


class ModelBiasCheckConfig(ClarifyCheckConfig):
    analyses = ["post_training_bias"]

    def __init__(
        self,
        data_config,
        data_bias_config,
        model_config,
        model_predicted_label_config=None,
        methods="all",
        **_ignored,
    ):
        super().__init__(
            data_config,
            data_bias_config,
            model_config,
            model_predicted_label_config,
            methods=methods,
        )


class ModelExplainabilityCheckConfig(ClarifyCheckConfig):
    analyses = ["explainability"]

    def __init__(self, data_config, model_config, explainability_config, **_ignored):
        super().__init__(
            data_config, model_config=model_config, explainability_config=explainability_config
        )


class ClarifyCheckStep(_CheckStep):
    step_type = StepTypeEnum.CLARIFY_CHECK
    _kind = "ClarifyJob"

    def __init__(
        self,
        name: str,
        clarify_check_config: ClarifyCheckConfig,
        check_job_config=None,
        skip_check: bool = False,
        fail_on_violation: bool = True,
        register_new_baseline: bool = False,
        model_package_group_name=None,
        supplied_baseline_constraints=None,
        display_name=None,
        description=None,
        cache_config=None,
        depends_on=None,
    ):
        if not skip_check and supplied_baseline_constraints is not None:
            raise SpecError(
                f"ClarifyCheckStep {name!r}: checking a Clarify analysis against "
                "supplied constraints is not supported; pass skip_check=True"
            )
        super().__init__(
            name, self.step_type, None, display_name, description, cache_config, depends_on, None
        )
        self.config = clarify_check_config
        self.check = {
            "CheckType": type(clarify_check_config).__name__.removesuffix("Config"),
            "SkipCheck": skip_check,
            "RegisterNewBaseline": register_new_baseline,
            "ModelPackageGroupName": model_package_group_name,
            "SuppliedBaselineConstraints": supplied_baseline_constraints,
        }
