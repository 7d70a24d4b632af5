"""One owner for "which model, and how to load it": a typed ``ModelRef``.

``resolve`` turns what a user names (a URI, a ``registry://`` reference, a handler's
``entry_point`` and code) into a ``ModelRef`` and checks it before anything starts: the
registered artifact's hash, the built-in framework, the handler file. ``load`` turns a
``ModelRef`` into a ready ``Handler`` in a model process: it fetches the artifact and code into
a work folder, verifies both against their hashes and loads them. Endpoints' replicas and
spares, transform workers and the RayService app all call these two; the ``ModelRef`` travels
between them as a plain dict (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from raymaker.errors import DataError, NotFound, SpecError
from raymaker.storage import join
from raymaker.storage.artifacts import read_manifest


@dataclass(frozen=True)
class ModelRef:
    """A model to load: its artifact, its handler code, and how to open the store."""

    uri: str  # the artifact in the store: a model folder, model.tar.gz, or a multi-model prefix
    sha256: str | None = None  # the registered manifest's hash, checked on load
    registry: str | None = None  # registry://group/<n> when resolved from a reference
    entry_point: str | None = None  # the handler module (model_fn, input_fn, ...)
    code_uri: str | None = None  # the folder holding entry_point, in the store
    code_sha256: str | None = None  # the registered code's hash, checked on load
    environment: dict[str, str] = field(default_factory=dict)  # the handler's own variables
    store_env: dict[str, str] = field(default_factory=dict)  # Settings.job_env() of the store
    framework: str | None = None  # the manifest's framework, or the one a deploy named
    content_sha256: str | None = None  # a model made elsewhere: its bytes' pin, checked on load

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRef:
        return cls(**data)

    def child(self, model_id: str) -> ModelRef:
        """One model of a multi-model prefix (``<uri>/<model_id>``), the same handler."""
        return ModelRef(**{**self.to_dict(), "uri": self.uri.rstrip("/") + "/" + model_id})


def resolve(
    store,
    model_data: str,
    *,
    entry_point: str | None = None,
    code_uri: str | None = None,
    environment: dict[str, str] | None = None,
    store_env: dict[str, str] | None = None,
    multi_model: bool = False,
    framework: str | None = None,
    where: str = "model_data",
) -> ModelRef:
    """The ``ModelRef`` of ``model_data`` (a URI or ``registry://`` reference), checked.

    A registered version's own handler is taken when ``entry_point`` names none. A model with
    no handler must be a raymaker built-in of a framework this version serves, or a model whose
    framework's SageMaker container loads it with no ``model_fn`` (``inference.frameworks``).
    A model with no raymaker manifest (made elsewhere) is served as ``framework``'s container
    serves it, pinned by the sha256 of what is deployed. ``where`` (the spec field) prefixes
    every message. Raises SpecError, NotFound, DataError.
    """
    from raymaker.inference import frameworks
    from raymaker.inference.builtin import check_builtin, container_serves
    from raymaker.registry.registry import is_reference, resolve_model
    from raymaker.storage.artifacts import content_sha256

    base = {"environment": dict(environment or {}), "store_env": dict(store_env or {})}
    if multi_model:
        if is_reference(model_data):
            raise SpecError(
                f"{where}: a multi-model endpoint takes a prefix of models, not a registry "
                "reference"
            )
        key = store.key(model_data)
        if not store.list(key):
            raise NotFound(f"{where}: no models under {model_data}")
        return ModelRef(uri=store.uri(key), entry_point=entry_point, code_uri=code_uri, **base)
    try:
        uri, sha256, version = resolve_model(store, model_data)
        manifest = read_manifest(store, uri)
    except (NotFound, SpecError, DataError) as e:
        raise type(e)(f"{where}: {e}") from None
    code_sha256 = None
    if version is not None and version.inference and not entry_point:  # registered hooks
        entry_point = version.inference["entry_point"]
        code_uri = version.inference.get("source_dir")
        code_sha256 = version.inference.get("code_sha256")
    if entry_point and code_uri and not store.exists(join(store.key(code_uri), entry_point)):
        raise SpecError(f"{where}: entry_point {entry_point!r} is not in {code_uri}")
    pin = None
    if manifest is None:  # made elsewhere: its framework's container serves it
        if not entry_point and not frameworks.has_model_fn(framework):
            raise SpecError(
                f"{where}: {model_data} is not a raymaker model (no raymaker-model.json beside "
                f"it): {_foreign_hint(framework)}"
            )
        pin = content_sha256(store, uri)
    elif not entry_point:
        framework = manifest.get("framework")
        if not (container_serves(manifest) and frameworks.has_model_fn(framework)):
            try:
                check_builtin(manifest)
            except SpecError as e:
                raise SpecError(f"{where}: {e}") from None
    return ModelRef(
        uri=uri,
        sha256=sha256,
        registry=version.ref if version else None,
        entry_point=entry_point,
        code_uri=code_uri,
        code_sha256=code_sha256,
        framework=(manifest or {}).get("framework") or framework,
        content_sha256=pin,
        **base,
    )


def _foreign_hint(framework: str | None) -> str:
    from raymaker.inference import frameworks

    if framework in frameworks.FRAMEWORKS:
        return (
            f"SageMaker's {framework} container has no default model_fn, so give an "
            "entry_point with model_fn"
        )
    served = [f for f in frameworks.FRAMEWORKS if frameworks.has_model_fn(f)]
    return (
        f"say its framework (one of {', '.join(frameworks.FRAMEWORKS)}; {', '.join(served)} "
        "load with no model_fn), e.g. XGBoostModel(model_data=...), or give an entry_point "
        "with model_fn"
    )


def load(ref: ModelRef, workdir: str, **handler_options):
    """Fetch ``ref``'s artifact and code into ``workdir``, verify them, and load its Handler.

    ``handler_options`` go to ``Handler.load`` (``endpoint``, ``variant``). Raises NotFound,
    DataError (a file does not match its hash), SpecError.
    """
    from raymaker.inference.handler import Handler
    from raymaker.storage import artifacts
    from raymaker.storage.store import store_from_env

    store = store_from_env(ref.store_env)
    model_dir = os.path.join(workdir, "model")
    if ref.content_sha256:
        artifacts.download_pinned(store, ref.uri, model_dir, ref.content_sha256)
    else:
        artifacts.download(store, ref.uri, model_dir, expected_sha256=ref.sha256)
    code_dir = None
    if ref.code_uri:
        code_dir = artifacts.fetch_code(
            store, ref.code_uri, os.path.join(workdir, "code"), expected_sha256=ref.code_sha256
        )
    return Handler.load(
        model_dir, code_dir, ref.entry_point, framework=ref.framework, **handler_options
    )
