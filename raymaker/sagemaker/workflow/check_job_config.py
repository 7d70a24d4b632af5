"""``sagemaker.workflow.check_job_config``: where a check step's job runs."""

from __future__ import annotations


class CheckJobConfig:
    def __init__(
        self,
        role=None,
        instance_count: int = 1,
        instance_type: str = "cpu.1",
        volume_size_in_gb: int = 30,
        volume_kms_key=None,
        output_kms_key=None,
        max_runtime_in_seconds=None,
        base_job_name=None,
        sagemaker_session=None,
        env=None,
        tags=None,
        network_config=None,
    ):
        self.role = role  # accepted; raymaker has no IAM
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.base_job_name = base_job_name
        self.sagemaker_session = sagemaker_session
