"""What an AutoML job's submit would refuse, from the spec alone (no Ray, no data): the
objective against the problem type, and the instance type. ``raymaker validate`` and every
submit call it through the kind table (``check``); the driver runs it first too."""

from __future__ import annotations

from raymaker.automl.objectives import ALLOWED, PROBLEM_TYPES
from raymaker.specs.base import did_you_mean


def check_automl(spec) -> list[str]:
    problems = []
    if spec.objective is not None:
        types = [spec.problem_type] if spec.problem_type else list(PROBLEM_TYPES)
        allowed = sorted({m for t in types for m in ALLOWED[t]})
        if spec.objective not in allowed:
            what = f"a {spec.problem_type} problem" if spec.problem_type else "any problem type"
            problems.append(
                f"objective: {spec.objective!r} does not fit {what}"
                f"{did_you_mean(spec.objective, allowed)}; allowed: {', '.join(allowed)}"
            )
    weight = spec.sample_weight_attribute_name
    if weight and weight == spec.target_attribute_name:
        problems.append("sample_weight_attribute_name: it names the target column")
    return problems
