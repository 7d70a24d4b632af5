"""The job layer: records, the runner (``raymaker run``) and the client over Ray Jobs."""

from raymaker.jobs.client import JobHandle, JobsClient
from raymaker.jobs.records import JobRecord, JobStatus

__all__ = ["JobHandle", "JobRecord", "JobStatus", "JobsClient"]
