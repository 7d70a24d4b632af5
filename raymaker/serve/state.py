"""An endpoint's state in the store, typed: what was asked for (the spec) and what runs (each
variant's model, handler and Serve application).

    endpoints/<name>/state.json        EndpointState as JSON
    endpoints/<name>/code/<variant>-g<generation>/   the handler code a variant runs

The store is the source of truth: a restarted head (or ``cluster up``) can bring every
endpoint back from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from raymaker.errors import NotFound
from raymaker.inference.reference import ModelRef
from raymaker.storage import join, layout

Status = Literal["Creating", "Updating", "InService", "Failed", "Deleting"]


class VariantState(BaseModel):
    """One variant as it runs: its model (resolved and pinned), placement and Serve app."""

    model_config = ConfigDict(extra="ignore")

    name: str
    model_data: str = Field(description="The artifact's URI (a registry reference resolved).")
    model_sha256: str | None = Field(None, description="The registered manifest's hash.")
    content_sha256: str | None = Field(
        None, description="A model made elsewhere: the sha256 of what was deployed."
    )
    registry: str | None = Field(None, description="registry://group/<n>, when deployed so.")
    code_uri: str | None = None
    code_sha256: str | None = None
    entry_point: str | None = None
    framework: str | None = None
    weight: float = 1.0
    shadow: bool = False
    instance_count: int = 1
    instance_type: str = "cpu.1"
    multi_model: bool = False
    environment: dict[str, str] = Field(default_factory=dict)
    app: str = Field("", description="The Serve application serving this variant.")
    key: str = Field("", repr=False, description="The data plane's shared key.")

    @classmethod
    def of(cls, name: str, ref: ModelRef, **placement: Any) -> VariantState:
        return cls(
            name=name, model_data=ref.uri, model_sha256=ref.sha256, registry=ref.registry,
            code_uri=ref.code_uri, code_sha256=ref.code_sha256, entry_point=ref.entry_point,
            framework=ref.framework, content_sha256=ref.content_sha256,
            environment=ref.environment, **placement,
        )  # fmt: skip

    def model_ref(self, store_env: dict[str, str]) -> ModelRef:
        """What a replica (or a spare) of this variant loads."""
        return ModelRef(
            uri=self.model_data, sha256=self.model_sha256, registry=self.registry,
            entry_point=self.entry_point, code_uri=self.code_uri, code_sha256=self.code_sha256,
            environment=dict(self.environment), store_env=dict(store_env),
            framework=self.framework, content_sha256=self.content_sha256,
        )  # fmt: skip

    def same_replicas(self, other: VariantState | None) -> bool:
        """Whether ``other``'s replicas serve exactly what this variant asks for."""
        fields = ("model_data", "content_sha256", "framework", "code_uri", "entry_point",
                  "instance_count", "instance_type", "multi_model", "environment")  # fmt: skip
        return other is not None and all(getattr(self, f) == getattr(other, f) for f in fields)


class EndpointState(BaseModel):
    """The whole endpoint: its desired spec, its status and its variants."""

    model_config = ConfigDict(extra="ignore")

    name: str
    spec: dict[str, Any] = Field(description="The Endpoint spec last applied (JSON).")
    status: Status = "Creating"
    generation: int = 0
    variants: list[VariantState] = Field(default_factory=list)
    scaling: dict[str, Any] = Field(default_factory=dict)
    created_at: float | None = None
    updated_at: float | None = None
    failure_reason: str | None = None
    url: str | None = None
    deploy_seconds: float | None = None

    def apps(self) -> list[str]:
        return [v.app for v in self.variants]


def state_key(name: str) -> str:
    return join(layout.ENDPOINTS, name, "state.json")


def exists(store, name: str) -> bool:
    return store.exists(state_key(name))


def read_state(store, name: str) -> EndpointState:
    """The stored state of ``name``. Raises NotFound."""
    key = state_key(name)
    if not store.exists(key):
        raise NotFound(f"endpoint {name!r} does not exist")
    return EndpointState.model_validate(store.read_json(key))


def write_state(store, state: EndpointState) -> None:
    store.write_json(state_key(state.name), state.model_dump(mode="json"))


def list_states(store) -> list[EndpointState]:
    """Every endpoint's state, by name."""
    out = []
    for key in store.list(layout.ENDPOINTS):
        name = key.rstrip("/").rsplit("/", 1)[-1]
        if exists(store, name):
            out.append(read_state(store, name))
    return sorted(out, key=lambda s: s.name)
