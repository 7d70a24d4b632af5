"""The rest of ``sagemaker.Session``'s public methods that notebooks call: S3 helpers on the
store, job waits, logs and stops by name, endpoint deletes and waits, and the account names.

A job's wait returns raymaker's job record (``JobRecord``), not DescribeTrainingJob's shape:
SageMaker's low-level API shapes come with the control-plane API (issue 26).
"""

from __future__ import annotations

import time

from raymaker.errors import RaymakerError, WaitTimeout

ACCOUNT_ID = "000000000000"


class SessionApi:
    """Mixed into ``Session`` (which gives ``store``, ``jobs``, ``endpoints``, ``_data_key``)."""

    # -- S3 on the store ---------------------------------------------------------------------
    def read_s3_file(self, bucket: str, key_prefix: str) -> str:
        """The text of the object at ``key_prefix`` in the (default) bucket."""
        return self.store.read_text(self._data_key(bucket, key_prefix))

    def list_s3_files(self, bucket: str, key_prefix: str) -> list[str]:
        """The keys of the objects under ``key_prefix`` in the (default) bucket."""
        return self.store.list(self._data_key(bucket, key_prefix), recursive=True)

    def upload_string_as_file_body(self, body: str, bucket: str, key: str,
                                   kms_key: str | None = None) -> str:  # fmt: skip
        """Write ``body`` at ``key`` in the (default) bucket; returns its ``s3://`` path."""
        self.store.write_text(self._data_key(bucket, key), body)
        return f"s3://{self.default_bucket()}/{key}"

    # -- the account -------------------------------------------------------------------------
    @property
    def boto_region_name(self) -> str:
        """``local``: raymaker runs where its Ray cluster is, in no AWS region."""
        return "local"

    def account_id(self) -> str:
        """A placeholder account id (there is no AWS account)."""
        return ACCOUNT_ID

    def expand_role(self, role: str) -> str:
        """A role's ARN, as SageMaker expands a bare role name (roles are ignored here)."""
        return role if role.startswith("arn:") else f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"

    def get_caller_identity_arn(self) -> str:
        from raymaker.sagemaker.session import EXECUTION_ROLE

        return EXECUTION_ROLE

    # -- jobs by name --------------------------------------------------------------------------
    def wait_for_job(self, job: str, poll: int = 5, timeout: float | None = None):
        """Wait for the job ``job`` (any kind) to end; its record. Raises JobFailed."""
        return self.jobs.get(job).wait(timeout=timeout)

    wait_for_processing_job = wait_for_transform_job = wait_for_tuning_job = wait_for_job

    def logs_for_job(self, job_name: str, wait: bool = False, poll: int = 10,
                     log_type: str = "All", timeout: float | None = None) -> None:  # fmt: skip
        """Print the job's logs; with ``wait``, follow them until it ends."""
        handle = self.jobs.get(job_name)
        if wait:
            handle.wait(timeout=timeout, logs=True)
        else:
            print(handle.logs(), end="")

    def logs_for_processing_job(self, job_name: str, wait: bool = False, poll: int = 10) -> None:
        self.logs_for_job(job_name, wait=wait, poll=poll)

    def logs_for_transform_job(self, job_name: str, wait: bool = False, poll: int = 10) -> None:
        self.logs_for_job(job_name, wait=wait, poll=poll)

    def stop_training_job(self, job_name: str) -> None:
        """Stop the job (any kind); its record says STOPPED."""
        self.jobs.get(job_name).stop()

    stop_processing_job = stop_transform_job = stop_tuning_job = stop_training_job
    logs_for_auto_ml_job = logs_for_processing_job

    # -- AutoML jobs ---------------------------------------------------------------------------
    def describe_auto_ml_job(self, job_name: str) -> dict:
        """DescribeAutoMLJob's answer: status, secondary status, best candidate, artifacts."""
        from raymaker.sagemaker.automl.describe import describe_auto_ml_job

        return describe_auto_ml_job(self.store, self._auto_ml_record(job_name))

    describe_auto_ml_job_v2 = describe_auto_ml_job

    def list_candidates(self, job_name: str, status_equals: str | None = None,
                        candidate_name: str | None = None, candidate_arn=None,
                        sort_order: str | None = None, sort_by: str | None = None,
                        max_results: int | None = None) -> dict:  # fmt: skip
        """ListCandidatesForAutoMLJob's answer: ``{"Candidates": [...]}``, best first."""
        from raymaker.sagemaker.automl.describe import list_candidates

        rows = list_candidates(self.store, self._auto_ml_record(job_name),
                               status_equals=status_equals, candidate_name=candidate_name,
                               sort_order=sort_order, sort_by=sort_by,
                               max_results=max_results)  # fmt: skip
        return {"Candidates": rows}

    def wait_for_auto_ml_job(self, job: str, poll: int = 5, timeout: float | None = None) -> dict:
        """Wait for the AutoML job to end; its description. Raises JobFailed."""
        self.jobs.get(job).wait(timeout=timeout)
        return self.describe_auto_ml_job(job)

    def stop_auto_ml_job(self, job_name: str) -> None:
        """Stop the AutoML job: it ends STOPPED with the candidates that finished."""
        self.jobs.get(job_name).stop()

    def _auto_ml_record(self, job_name: str):
        from raymaker.errors import NotFound

        record = self.jobs.get(job_name).describe()
        if record.kind != "AutoMLJob":
            raise NotFound(f"{job_name!r} is a {record.kind}, not an AutoML job")
        return record

    # -- endpoints and models ------------------------------------------------------------------
    def delete_endpoint(self, endpoint_name: str) -> None:
        self.endpoints.delete(endpoint_name)

    def delete_model(self, model_name: str) -> None:
        """SageMaker deletes a Model resource; raymaker has none apart from the artifact in the
        store (which stays, as SageMaker's S3 artifact does): nothing to do."""

    def wait_for_endpoint(self, endpoint: str, poll: int = 30,
                          timeout: float | None = None) -> dict:  # fmt: skip
        """Wait until ``endpoint`` is InService; its description. Raises RaymakerError when it
        failed, WaitTimeout."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            desc = self.endpoints.describe(endpoint)
            if desc["status"] == "InService":
                return desc
            if desc["status"] == "Failed":
                raise RaymakerError(
                    f"endpoint {endpoint!r} failed: {desc.get('failure_reason') or 'see logs'}"
                )
            if deadline and time.monotonic() > deadline:
                raise WaitTimeout(f"endpoint {endpoint!r} is still {desc['status']}")
            time.sleep(min(1.0, poll))

    # -- Model Monitor schedules -----------------------------------------------------------
    def describe_monitoring_schedule(self, monitoring_schedule_name: str) -> dict:
        """DescribeMonitoringSchedule's fields. Raises NotFound."""
        return self.monitors.describe(monitoring_schedule_name)

    def list_monitoring_schedules(self, endpoint_name: str | None = None, **_filters) -> dict:
        """``{"MonitoringScheduleSummaries": [...]}``, of one endpoint when named."""
        found = [s for s in self.monitors.list()
                 if endpoint_name is None or s["EndpointName"] == endpoint_name]  # fmt: skip
        return {"MonitoringScheduleSummaries": found}

    def list_monitoring_executions(self, monitoring_schedule_name: str, **_filters) -> dict:
        """``{"MonitoringExecutionSummaries": [...]}``, newest first as SageMaker sorts them."""
        found = self.monitors.executions(monitoring_schedule_name)
        return {"MonitoringExecutionSummaries": list(reversed(found))}

    def start_monitoring_schedule(self, monitoring_schedule_name: str) -> None:
        self.monitors.start(monitoring_schedule_name)

    def stop_monitoring_schedule(self, monitoring_schedule_name: str) -> None:
        self.monitors.stop(monitoring_schedule_name)

    def delete_monitoring_schedule(self, monitoring_schedule_name: str) -> None:
        self.monitors.delete(monitoring_schedule_name)
