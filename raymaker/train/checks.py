"""What a training job's submit would refuse, found from the spec alone (no Ray, no data):
the built-in algorithm's name, every hyperparameter (names and types) and the channels it
reads. ``raymaker validate`` and every submit call it through the kind table (``check``), and
the job's driver runs the same checks first, so both say the same thing."""

from __future__ import annotations

from raymaker.errors import SpecError
from raymaker.specs.base import did_you_mean

BUILTIN_CHANNELS = ("train", "validation")


def check_training(spec, where: str = "") -> list[str]:
    """Every problem of a TrainingJob spec, each a line naming its field (``where`` prefixes
    the paths, e.g. ``training.`` in a tuning job)."""
    if not spec.algorithm:
        return []  # a script takes any hyperparameters and channels
    from raymaker.train.algorithms import ALGORITHMS, algorithm_for

    if spec.algorithm not in ALGORITHMS:
        return [
            f"{where}algorithm: {spec.algorithm!r} is not a built-in"
            f"{did_you_mean(spec.algorithm, ALGORITHMS)}; allowed: {', '.join(sorted(ALGORITHMS))}"
        ]
    algo = algorithm_for(spec.algorithm)
    problems = []
    try:
        algo.parse_hyperparameters(spec.hyperparameters)
    except SpecError as exc:
        problems.extend(problem_lines(exc, where))
    for channel in sorted(set(spec.inputs) - set(BUILTIN_CHANNELS)):
        problems.append(
            f"{where}inputs.{channel}: not a channel of {spec.algorithm}"
            f"{did_you_mean(channel, BUILTIN_CHANNELS)}; allowed: {', '.join(BUILTIN_CHANNELS)}"
        )
    for channel in algo.required_channels:
        if channel not in spec.inputs:
            given = ", ".join(sorted(spec.inputs)) or "none"
            problems.append(f"{where}inputs: channel {channel!r} is required (given: {given})")
    return problems


def problem_lines(exc: SpecError, where: str) -> list[str]:
    """The problem lines of a SpecError (a validation error lists one a line)."""
    text = str(exc).removeprefix("invalid spec:\n")
    return [f"{where}{line.strip()}" for line in text.splitlines() if line.strip()]
