"""``sagemaker.workflow.retry``: retry a step's failed attempts (which failures each type
names in raymaker: ``raymaker.pipelines.steps``)."""

from __future__ import annotations

from enum import Enum

from raymaker.errors import SpecError


class StepExceptionTypeEnum(Enum):
    SERVICE_FAULT = "Step.SERVICE_FAULT"
    THROTTLING = "Step.THROTTLING"


class SageMakerJobExceptionTypeEnum(Enum):
    INTERNAL_ERROR = "SageMaker.JOB_INTERNAL_ERROR"
    CAPACITY_ERROR = "SageMaker.CAPACITY_ERROR"
    RESOURCE_LIMIT = "SageMaker.RESOURCE_LIMIT"


class RetryPolicy:
    def __init__(
        self,
        backoff_rate: float = 2.0,
        interval_seconds: int = 1,
        max_attempts: int | None = None,
        expire_after_mins: int | None = None,
    ):
        if (max_attempts is None) == (expire_after_mins is None):
            raise SpecError("give exactly one of max_attempts or expire_after_mins")
        self.backoff_rate = backoff_rate
        self.interval_seconds = interval_seconds
        self.max_attempts = max_attempts
        self.expire_after_mins = expire_after_mins
        self.exception_types: list = []

    def to_request(self) -> dict:
        out = {"BackoffRate": self.backoff_rate, "IntervalSeconds": self.interval_seconds}
        if self.max_attempts is not None:
            out["MaxAttempts"] = self.max_attempts
        if self.expire_after_mins is not None:
            out["ExpireAfterMin"] = self.expire_after_mins
        out["ExceptionType"] = [e.value for e in self.exception_types]
        return out


class StepRetryPolicy(RetryPolicy):
    def __init__(
        self,
        exception_types: list[StepExceptionTypeEnum],
        backoff_rate: float = 2.0,
        interval_seconds: int = 1,
        max_attempts: int | None = None,
        expire_after_mins: int | None = None,
    ):
        super().__init__(backoff_rate, interval_seconds, max_attempts, expire_after_mins)
        for e in exception_types:
            if not isinstance(e, StepExceptionTypeEnum):
                raise SpecError(f"{e!r} is not a StepExceptionTypeEnum")
        self.exception_types = list(exception_types)


class SageMakerJobStepRetryPolicy(RetryPolicy):
    def __init__(
        self,
        exception_types: list | None = None,
        failure_reason_types: list | None = None,
        backoff_rate: float = 2.0,
        interval_seconds: int = 1,
        max_attempts: int | None = None,
        expire_after_mins: int | None = None,
    ):
        super().__init__(backoff_rate, interval_seconds, max_attempts, expire_after_mins)
        types = list(exception_types or []) + list(failure_reason_types or [])
        if not types:
            raise SpecError("give exception_types or failure_reason_types")
        for e in types:
            if not isinstance(e, SageMakerJobExceptionTypeEnum):
                raise SpecError(f"{e!r} is not a SageMakerJobExceptionTypeEnum")
        self.exception_types = types
