"""The base of every spec: strict pydantic models and errors that name the field path."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from raymaker.errors import SpecError

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
NAME_RULE = "1-63 letters, digits and hyphens, starting and ending with a letter or digit"

Name = Annotated[str, Field(pattern=NAME_PATTERN, description=f"A resource name: {NAME_RULE}.")]
# What a SageMaker framework container serves: a model made elsewhere names one.
Framework = Literal["pytorch", "sklearn", "tensorflow", "xgboost"]
Uri = Annotated[str, Field(min_length=1, description="A store key, a local path or a URI.")]


class SpecModel(BaseModel):
    """A strict model: unknown fields are errors, fields are checked on assignment too."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, populate_by_name=True, defer_build=True
    )


class ResourceSpec(SpecModel):
    """The fields every resource kind shares."""

    name: Name | None = Field(
        None, description="Unique name; generated from the kind and time when omitted."
    )
    description: str | None = Field(None, description="Free text shown by describe.")
    tags: dict[str, str] = Field(default_factory=dict, description="Free-form labels.")


class ExperimentConfig(SpecModel):
    """SageMaker's ``experiment_config``: the MLflow experiment and run a job is tracked as."""

    experiment_name: str | None = Field(
        None, alias="ExperimentName", min_length=1, max_length=500,
        description="The MLflow experiment (default: 'raymaker').",
    )  # fmt: skip
    trial_name: str | None = Field(
        None, alias="TrialName", min_length=1, max_length=500,
        description="SageMaker's trial: a tag on the run (raymaker.trial).",
    )  # fmt: skip
    run_name: str | None = Field(
        None, alias="RunName", min_length=1, max_length=500,
        description="The run's name (default: the job's name).",
    )  # fmt: skip
    trial_component_display_name: str | None = Field(
        None, alias="TrialComponentDisplayName", max_length=500,
        description="SageMaker's older name for the run's name.",
    )  # fmt: skip


class Tracked(SpecModel):
    """A kind whose jobs are MLflow runs (``RAYMAKER_MLFLOW``)."""

    experiment_config: ExperimentConfig | None = Field(
        None, description="ExperimentName / TrialName / RunName, as SageMaker's fit() takes."
    )


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid resource name, else raise SpecError."""
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise SpecError(f"name {name!r} is invalid: use {NAME_RULE}")
    return name


def _allowed_fields(model: type[BaseModel] | None, loc: tuple) -> list[str] | None:
    """The field names of the model that holds ``loc``'s last part (best effort)."""
    import typing

    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            # a discriminated union tag ("TrainingJob") or a dict key
            return None
        info = fields.get(part)
        if info is None:
            return None
        current = _model_in(info.annotation, typing)
    fields = getattr(current, "model_fields", None)
    if not fields:
        return None
    return sorted({*fields, *(f.alias for f in fields.values() if f.alias)})  # SageMaker's keys


def _model_in(annotation: Any, typing) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg, typing)
        if found is not None:
            return found
    return None


def format_validation_error(
    exc: ValidationError,
    *,
    model: type[BaseModel] | None = None,
    source: str = "spec",
    tags: frozenset[str] = frozenset(),
) -> str:
    """One line per problem, each naming the field path, the problem and the value given.

    ``tags`` are discriminator values (like a recipe step's ``op``) left out of the path.
    """
    lines = []
    keys = _aliases(model) if model is not None else frozenset()
    _is_tag = lambda p: _is_tag_of(p) and p not in keys  # noqa: E731 - SageMaker's keys stay
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        if loc and kind not in ("union_tag_invalid", "model_type") and loc[-1] not in tags:
            # the field itself is never a union's tag (SageMaker's keys are capitalized too)
            shown = [p for p in loc[:-1] if not (_is_tag(p) or p in tags)] + [loc[-1]]
        else:
            shown = [p for p in loc if not (_is_tag(p) or p in tags)]
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in shown)
        path = path.replace(".[", "[") or "(top level)"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if kind == "extra_forbidden":
            allowed = _allowed_fields(
                model, tuple(p for p in loc[:-1] if not _is_tag(p)) + loc[-1:]
            )
            msg = "unknown field" + did_you_mean(str(shown[-1]) if shown else "", allowed or [])
            msg += f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        elif kind == "missing":
            msg = "field required"
        given = err.get("input")
        if kind not in ("missing", "extra_forbidden") and not isinstance(given, dict | list):
            msg = f"{msg} (got {given!r})"
        if kind == "literal_error" and isinstance(given, str):
            expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            msg += did_you_mean(given, expected)
        lines.append(f"{source}.{path}: {msg}" if path != "(top level)" else f"{source}: {msg}")
    return "invalid spec:\n  " + "\n  ".join(lines)


def did_you_mean(name: str, allowed) -> str:
    """``" (did you mean 'eta'?)"`` for the closest of ``allowed`` to a mistyped name, or ""."""
    import difflib

    allowed = [str(a) for a in allowed]
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if not close:  # 'f1' for 'F1': case alone
        lowered = {a.lower(): a for a in allowed}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=1)]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _aliases(model: Any, seen: set | None = None) -> frozenset[str]:
    """Every field alias in ``model`` and the models it holds (SageMaker's capitalized keys,
    which are paths, not union tags)."""
    import typing

    seen = set() if seen is None else seen
    fields = getattr(model, "model_fields", None)
    if not fields or model in seen:
        return frozenset()
    seen.add(model)
    out = {f.alias for f in fields.values() if f.alias}
    for f in fields.values():
        inner = _model_in(f.annotation, typing)
        if inner is not None:
            out |= _aliases(inner, seen)
    return frozenset(out)


def _is_tag_of(part: Any) -> bool:
    return isinstance(part, str) and part[:1].isupper()
