"""``sagemaker.automl.automlv2``: ``AutoMLV2`` with ``AutoMLTabularConfig`` (CreateAutoMLJobV2's
shape), the same AutoML job as ``AutoML``; ``algorithms_config`` names the learners."""

from __future__ import annotations

from raymaker.errors import NotSupported, SpecError
from raymaker.sagemaker.automl.automl import AutoML, AutoMLInput


class AutoMLTabularConfig:
    """The tabular problem: target, problem type, learners and limits."""

    def __init__(self, target_attribute_name: str, algorithms_config: list[str] | None = None,
                 feature_specification_s3_uri=None, generate_candidate_definitions_only=False,
                 mode: str | None = None, problem_type: str | None = None,
                 sample_weight_attribute_name: str | None = None,
                 max_candidates: int | None = None,
                 max_runtime_per_training_job_in_seconds: int | None = None,
                 max_total_job_runtime_in_seconds: int | None = None):  # fmt: skip
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})


class AutoMLDataChannel:
    """One data channel: ``s3_uri`` (any URI or local path) and ``channel_type``."""

    def __init__(self, s3_data_type=None, s3_uri: str | None = None, channel_type=None,
                 compression_type=None, content_type=None):  # fmt: skip
        self.s3_uri, self.channel_type = s3_uri, channel_type


class AutoMLV2(AutoML):
    def __init__(self, problem_config: AutoMLTabularConfig, base_job_name: str | None = None,
                 output_path: str | None = None, job_objective=None,
                 validation_fraction: float | None = None, role: str | None = None,
                 sagemaker_session=None, output_kms_key=None, volume_kms_key=None,
                 encrypt_inter_container_traffic=None, vpc_config=None, tags=None,
                 auto_generate_endpoint_name=None, endpoint_name=None, *,
                 session=None):  # fmt: skip
        if not isinstance(problem_config, AutoMLTabularConfig):
            raise NotSupported(
                f"AutoMLV2: {type(problem_config).__name__} problems (text, image, time "
                "series, LLM fine-tuning) are not built; AutoMLTabularConfig is"
            )
        c = problem_config
        super().__init__(
            role=role, target_attribute_name=c.target_attribute_name, output_path=output_path,
            base_job_name=base_job_name, sagemaker_session=sagemaker_session,
            problem_type=c.problem_type, max_candidates=c.max_candidates,
            max_runtime_per_training_job_in_seconds=c.max_runtime_per_training_job_in_seconds,
            total_job_runtime_in_seconds=c.max_total_job_runtime_in_seconds,
            job_objective=job_objective,
            generate_candidate_definitions_only=c.generate_candidate_definitions_only,
            validation_fraction=validation_fraction, mode=c.mode,
            sample_weight_attribute_name=c.sample_weight_attribute_name,
            algorithms=c.algorithms_config, session=session, output_kms_key=output_kms_key,
            volume_kms_key=volume_kms_key,
            encrypt_inter_container_traffic=encrypt_inter_container_traffic,
            vpc_config=vpc_config, tags=tags,
            auto_generate_endpoint_name=auto_generate_endpoint_name, endpoint_name=endpoint_name,
            feature_specification_s3_uri=c.feature_specification_s3_uri,
        )  # fmt: skip
        self.problem_config = problem_config

    def fit(self, inputs=None, wait: bool = True, logs: bool = True,
            job_name: str | None = None, *, timeout: float | None = None) -> None:  # fmt: skip
        items = inputs if isinstance(inputs, list) else [inputs]
        converted = []
        for item in items:
            if isinstance(item, AutoMLDataChannel):
                if not item.s3_uri:
                    raise SpecError("AutoMLDataChannel: s3_uri is required")
                item = AutoMLInput(item.s3_uri, channel_type=item.channel_type)
            converted.append(item)
        super().fit(converted, wait=wait, logs=logs, job_name=job_name, timeout=timeout)
