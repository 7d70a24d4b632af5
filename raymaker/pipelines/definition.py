"""A pipeline's job steps as the job specs they are: checked before anything runs, and their
local files staged into the store once, when the pipeline is saved or submitted.

An expression in a step's arguments stands as a placeholder while its job spec is checked: a
problem at a placeholder's own field waits for run time (its value is not known yet); every
other problem is reported at once, naming the step and the field.
"""

from __future__ import annotations

import secrets
from typing import Any

from raymaker.errors import SpecError
from raymaker.specs import parse_spec
from raymaker.specs.pipeline import JOB_STEPS
from raymaker.specs.pipeline_graph import flatten, is_expression

_MARK = "__raymaker_expression_{}__"


def _placeholders(value: Any, found: dict, path: tuple = ()) -> Any:
    if is_expression(value):
        mark = _MARK.format(len(found))
        found[mark] = (value, path)
        return mark
    if isinstance(value, dict):
        return {k: _placeholders(v, found, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, found, (*path, i)) for i, v in enumerate(value)]
    return value


def _restore(value: Any, found: dict) -> Any:
    if isinstance(value, str) and value in found:
        return found[value][0]
    if isinstance(value, dict):
        return {k: _restore(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, found) for v in value]
    return value


def job_spec(step, arguments: dict | None = None):
    """``(spec or None, problems, placeholders)``: the step's job spec with its expressions
    as placeholders. None with no problems: a placeholder's field refused its stand-in, and
    the spec is checked when the step runs."""
    args = step.arguments if arguments is None else arguments
    return kind_spec(JOB_STEPS[step.type], args, source=f"step {step.name}.Arguments")


def check_arguments(kind: str, arguments: dict, *, where: str = "spec") -> list[str]:
    """The problems of a job's arguments holding expressions (the SDK's step arguments)."""
    return kind_spec(kind, arguments, source=where)[1]


def kind_spec(kind: str, arguments: dict, *, source: str):
    from pydantic import ValidationError

    from raymaker.specs import spec_class
    from raymaker.specs.base import format_validation_error

    found: dict = {}
    args = _placeholders(dict(arguments), found)
    args.pop("kind", None)
    args.pop("name", None)
    cls = spec_class(kind)
    try:
        return cls.model_validate({"kind": kind, **args}), [], found
    except ValidationError as exc:
        marked = {path for _, path in found.values()}
        own = [e for e in exc.errors() if not _at_placeholder(tuple(e.get("loc", ())), marked)]
        if not own:
            return None, [], found
        text = format_validation_error(exc, model=cls, source=source)
        lines = [line.strip() for line in text.splitlines()[1:]]
        kept = [line for e, line in zip(exc.errors(), lines, strict=False) if e in own]
        return None, kept, found


def _at_placeholder(loc: tuple, marked: set) -> bool:
    return any(loc[: len(p)] == p for p in marked if p)


def check_pipeline(spec) -> list[str]:
    """Every problem a start would meet (the kind table's ``check``): each job step's
    arguments against its kind's spec, and the execution's parameter values."""
    from raymaker.kinds import KINDS, load

    out = []
    for name, node in flatten(spec).items():
        if node.step.type in JOB_STEPS and node.step.type != "Function":
            job, problems, found = job_spec(node.step)
            out.extend(problems)
            row = KINDS[job.kind] if job is not None else None
            if row is not None and row.check and not found:  # its values are all known
                out.extend(f"step {name}: {p}" for p in load(row.check)(job))
    try:
        parameter_values(spec)
    except SpecError as exc:
        out.append(str(exc))
    return out


def parameter_values(spec, given: dict | None = None) -> dict:
    """Every parameter's value for an execution: ``given`` (default ``spec.start``) over the
    defaults, each as its type. Raises SpecError naming the parameter."""
    from raymaker.specs.base import did_you_mean

    given = spec.start.parameters if given is None else given
    declared = {p.name: p for p in spec.parameters}
    problems = []
    for name in given:
        if name not in declared:
            problems.append(
                f"no parameter {name!r} in pipeline {spec.name}"
                f"{did_you_mean(name, declared)}; its parameters: "
                f"{', '.join(declared) or 'none'}"
            )
    out = {}
    for name, p in declared.items():
        value = given.get(name, p.default_value)
        if value is None:
            problems.append(f"parameter {name} has no default: give its value")
            continue
        try:
            out[name] = p.coerce(value)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise SpecError("invalid parameters:\n  " + "\n  ".join(problems))
    return out


def stage_pipeline(spec, store, name: str, base_dir: str | None):
    """The spec with each job step's local files uploaded (the kind table's ``stage``)."""
    from raymaker.jobs.staging import stage

    folder = f"{spec.name}-pipeline/{secrets.token_hex(4)}"
    staged_steps = {}
    for step_name, node in flatten(spec).items():
        step = node.step
        if step.type not in JOB_STEPS or step.type == "Function":
            continue  # a function step's pickle is in the store already
        job, problems, found = job_spec(step)
        if problems:
            raise SpecError("invalid spec:\n  " + "\n  ".join(problems))
        if job is None:
            continue
        staged = stage(job, store, f"{folder}/{step_name}", base_dir)
        before = job.model_dump(mode="json", exclude_defaults=True)
        dumped = _in_store_kept(
            before, staged.model_dump(mode="json", exclude_defaults=True), store
        )
        if dumped == before:
            continue  # nothing local: the saved definition stays as it was
        dumped.pop("kind", None)
        staged_steps[step_name] = _restore(dumped, found)
    if not staged_steps:
        return spec
    return _with_arguments(spec, staged_steps)


def _in_store_kept(before, after, store):
    """``after`` with each value that was already a URI in the store put back (staging copies
    a ``file://`` path again; the copy is the same content under a new name)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return {k: _in_store_kept(before.get(k), v, store) for k, v in after.items()}
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [_in_store_kept(b, a, store) for b, a in zip(before, after, strict=True)]
    if isinstance(before, str) and before != after and "://" in before:
        try:
            if store.exists(store.key(before)) or store.list(store.key(before)):
                return before
        except Exception:  # noqa: BLE001 - not the store's: the staged value stands
            return after
    return after


def _with_arguments(spec, arguments: dict[str, dict]):
    """A copy of ``spec`` whose steps named in ``arguments`` (branches included) take them."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)

    def swap(step: dict) -> dict:
        if step["Name"] in arguments:
            step = {**step, "Arguments": arguments[step["Name"]]}
        if step.get("Type") == "Condition":
            args = dict(step.get("Arguments") or {})
            for branch in ("IfSteps", "ElseSteps"):
                args[branch] = [
                    swap(s) if isinstance(s, dict) else s for s in args.get(branch) or []
                ]
            step = {**step, "Arguments": args}
        return step

    data["Steps"] = [swap(s) for s in data["Steps"]]
    return parse_spec(data)
