"""The Endpoint spec: desired state of a real-time or serverless endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from raymaker.specs.base import Framework, Name, ResourceSpec, SpecModel, Uri


class AutoscalingSpec(SpecModel):
    min_replicas: int = Field(1, ge=0, description="Replicas kept when idle (0: scale to zero).")
    max_replicas: int = Field(1, ge=1, description="Upper bound on replicas.")
    target_concurrency: float = Field(2.0, gt=0, description="Requests in flight per replica.")

    @model_validator(mode="after")
    def _order(self):
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) must be >= min_replicas ({self.min_replicas})"
            )
        return self


class ServerlessSpec(SpecModel):
    max_concurrency: int = Field(5, ge=1, le=200, description="Requests in flight at most.")
    memory_size_in_mb: int = Field(2048, ge=128, le=65536)
    idle_timeout_s: float = Field(300.0, gt=0, description="Idle time before scaling to zero.")


class DataCaptureSpec(SpecModel):
    sampling_percentage: float = Field(100.0, ge=0, le=100)
    destination_uri: Uri | None = Field(None, description="Default: capture/<endpoint>/.")


class Variant(SpecModel):
    name: Name = Field("AllTraffic", description="Variant name.")
    model_data: Uri = Field(description="Model artifact URI or registry://group/version.")
    weight: float = Field(1.0, ge=0, description="Share of traffic, relative to the others.")
    instance_count: int = Field(1, ge=0)
    instance_type: str = Field("cpu.1", min_length=1)
    shadow: bool = Field(False, description="Gets a copy of traffic; answers are not returned.")
    entry_point: str | None = Field(
        None, description="Module with model_fn / input_fn / predict_fn / output_fn / transform_fn."
    )
    source_dir: Uri | None = Field(None, description="Folder holding entry_point.")
    framework: Framework | None = Field(
        None,
        description="A model made elsewhere (no raymaker manifest): served as this framework's "
        "SageMaker container serves it, its defaults standing in for missing hooks.",
    )
    multi_model: bool = Field(
        False, description="model_data is a prefix of many models, chosen per request."
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="Environment variables of the handler's process."
    )


class Endpoint(ResourceSpec):
    """A real-time endpoint (or serverless, with ``serverless``)."""

    kind: Literal["Endpoint"] = Field("Endpoint", description="The resource kind.")
    variants: list[Variant] = Field(min_length=1, description="Production (and shadow) variants.")
    autoscaling: AutoscalingSpec | None = None
    serverless: ServerlessSpec | None = None
    data_capture: DataCaptureSpec | None = None

    @model_validator(mode="after")
    def _variants(self):
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique (got {names})")
        if all(v.shadow for v in self.variants):
            raise ValueError("at least one variant must not be a shadow")
        if self.serverless and self.autoscaling:
            raise ValueError("give serverless or autoscaling, not both")
        return self
