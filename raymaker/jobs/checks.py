"""What a submit would find wrong with a spec, found before anything is submitted.

``check(spec, settings)`` walks the spec for every ``instance_type`` (a training job's, a
tuning job's template, a transform's, each endpoint variant's) and resolves it as a job would,
then runs the kind's own ``check`` (the kind table's: hyperparameters per algorithm, channels,
tuning ranges), so every problem is reported at once, each with its field and a "did you
mean", and no FAILED job is left behind. ``raymaker validate`` and ``JobsClient.submit`` both
call it.
"""

from __future__ import annotations

from pydantic import BaseModel

from raymaker.errors import SpecError


def check(spec, settings) -> None:
    """Raise SpecError listing every problem: instance types that do not resolve and what the
    kind's own check finds."""
    from raymaker.kinds import KINDS, load

    problems = []
    for path, value in _instance_types(spec, ""):
        try:
            settings.resources_for(value)
        except SpecError as exc:
            problems.append(f"{path}: {exc}")
    row = KINDS.get(spec.kind)
    if row is not None and row.check:
        problems.extend(load(row.check)(spec))
    if len(problems) == 1:
        raise SpecError(problems[0])
    if problems:
        raise SpecError(f"{len(problems)} problems:\n  " + "\n  ".join(problems))


def _instance_types(value, path: str):
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            child = getattr(value, name)
            where = f"{path}.{name}" if path else name
            if name == "instance_type" and isinstance(child, str):
                yield where, child
            else:
                yield from _instance_types(child, where)
    elif isinstance(value, (list, tuple)):
        for i, child in enumerate(value):
            yield from _instance_types(child, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _instance_types(child, f"{path}.{key}")
