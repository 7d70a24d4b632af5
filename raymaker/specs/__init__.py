"""Specs: one pydantic model per resource kind, loaded from YAML/JSON/dicts, dumped to YAML.

``load_spec`` is the edge: the CLI and the client turn user input into a spec here, and
everything past this point trusts it.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from raymaker.errors import NotFound, SpecError
from raymaker.kinds import KINDS, load
from raymaker.specs.base import ResourceSpec, check_name, format_validation_error


def spec_class(kind: Any) -> type[ResourceSpec]:
    """The model class of ``kind``. Raises SpecError listing the known kinds."""
    row = KINDS.get(kind) if isinstance(kind, str) else None
    if row is None:
        import difflib

        allowed = ", ".join(KINDS)
        shown = "missing" if kind is None else repr(kind)
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1) if kind else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(
            f"invalid spec:\n  spec.kind: {shown} is not a known kind; allowed: {allowed}{hint}"
        )
    return load(row.spec)


def parse_spec(data: Any, *, source: str = "spec") -> ResourceSpec:
    """Validate a mapping (or an existing spec) into its kind's model. Raises SpecError."""
    if isinstance(data, ResourceSpec):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec must be a mapping, got {type(data).__name__}")
    cls = spec_class(data.get("kind"))
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, model=cls, source=source)) from None


def loads_spec(text: str, *, source: str = "spec") -> ResourceSpec:
    """Parse YAML (or JSON) text into a spec. Raises SpecError."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from None
    return parse_spec(data, source=source)


def load_spec(path: str | os.PathLike, *, store=None) -> ResourceSpec:
    """Load a spec from a local file, or from a store URI when ``store`` is given.

    Raises NotFound for a missing file and SpecError for an invalid spec.
    """
    path = os.fspath(path)
    if "://" in path and not path.startswith("file://"):
        if store is None:
            raise SpecError(f"cannot read {path!r} without a store")
        text = store.read_text(store.key(path))
    else:
        local = path[len("file://") :] if path.startswith("file://") else path
        try:
            with open(local, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise NotFound(f"no spec file at {path!r}") from None
    return loads_spec(text, source=os.path.basename(path) or "spec")


def dump_spec(spec: ResourceSpec) -> str:
    """The spec as YAML, with defaults left out so it reads like what the user wrote."""
    import yaml

    data = spec.model_dump(mode="json", exclude_defaults=True, by_alias=False)
    data = {"kind": spec.kind, **data}
    return yaml.safe_dump(data, sort_keys=False)


__all__ = [
    "KINDS",
    "check_name",
    "dump_spec",
    "load_spec",
    "loads_spec",
    "parse_spec",
    "spec_class",
]
