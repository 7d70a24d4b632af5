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
    framework: str | None = None  # the built-in's framework (from the manifest)

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
    where: str = "model_data",
) -> ModelRef:
    """The ``ModelRef`` of ``model_data`` (a URI or ``registry://`` reference), checked.

    A registered version's own handler is taken when ``entry_point`` names none. A model with
    no handler must be a raymaker built-in of a framework this version serves. ``where`` (the
    spec field) prefixes every message. Raises SpecError, NotFound, DataError.
    """
    from raymaker.inference.builtin import check_builtin
    from raymaker.registry.registry import is_reference, resolve_model

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
    if entry_point:
        if code_uri and not store.exists(join(store.key(code_uri), entry_point)):
            raise SpecError(f"{where}: entry_point {entry_point!r} is not in {code_uri}")
    elif manifest is None:
        raise SpecError(
            f"{where}: not a raymaker model (no raymaker-model.json beside it); give an "
            "entry_point with model_fn to load it"
        )
    else:
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
        framework=(manifest or {}).get("framework"),
        **base,
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
    artifacts.download(store, ref.uri, model_dir, expected_sha256=ref.sha256)
    code_dir = None
    if ref.code_uri:
        code_dir = artifacts.fetch_code(
            store, ref.code_uri, os.path.join(workdir, "code"), expected_sha256=ref.code_sha256
        )
    return Handler.load(model_dir, code_dir, ref.entry_point, **handler_options)
