"""What a tuning job's submit would refuse, found from the spec alone: its training template
(``train.checks``) and, for a built-in algorithm, every range's name and every value a range
can give, each error naming its range."""

from __future__ import annotations

from raymaker.errors import SpecError
from raymaker.specs.base import did_you_mean
from raymaker.train.checks import check_training, problem_lines


def check_tuning(spec) -> list[str]:
    """Every problem of a TuningJob spec, each a line naming its field."""
    template = spec.training
    problems = check_training(template, "training.")
    if not template.algorithm or any(p.startswith("training.algorithm") for p in problems):
        return problems
    from raymaker.train.algorithms import algorithm_for

    algo = algorithm_for(template.algorithm)
    names = algo.hyperparameters.model_fields
    for key, r in spec.hyperparameter_ranges.items():
        if key not in names:
            problems.append(
                f"hyperparameter_ranges.{key}: not a hyperparameter of {template.algorithm}"
                f"{did_you_mean(key, names)}; allowed: {', '.join(sorted(names))}"
            )
            continue
        for value in _values(r):
            try:
                algo.parse_hyperparameters({**template.hyperparameters, key: value})
            except SpecError as exc:
                mine = [line for line in problem_lines(exc, "") if f".{key}:" in line]
                problems.extend(
                    f"hyperparameter_ranges.{key}: the value {value!r} is refused: "
                    + line.split(": ", 1)[-1]
                    for line in mine
                )  # fmt: skip
                if mine:
                    break
    return problems


def _values(r) -> list:
    """The values a range can give that bound what it gives: both ends, or every choice."""
    if r.type == "Categorical":
        return list(r.values)
    if r.type == "Integer":
        return [int(r.min_value), int(r.max_value)]
    return [r.min_value, r.max_value]
