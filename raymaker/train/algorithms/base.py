"""The base of every built-in algorithm.

An algorithm has a strict hyperparameter model (unknown names are SpecErrors before any worker
starts), a driver-side ``prepare`` that checks the data and decides everything the workers
must agree on (features, classes, objective), and a module-level worker function that trains
on one shard, checkpoints to the store and, on rank 0, writes the model files.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError

from raymaker.errors import SpecError
from raymaker.specs.base import SpecModel, format_validation_error


class Hyperparameters(SpecModel):
    """Base of a built-in's hyperparameters (strict: unknown names are errors)."""


class Algorithm:
    """A built-in algorithm: hyperparameters, a driver-side plan and a worker function."""

    name: ClassVar[str]
    framework: ClassVar[str]
    backend: ClassVar[str | None] = None  # the Ray Train backend its workers need
    hyperparameters: ClassVar[type[Hyperparameters]] = Hyperparameters
    required_channels: ClassVar[tuple[str, ...]] = ("train",)
    # the hyperparameter counting training steps (rounds, epochs): Hyperband's resource
    resource: ClassVar[str | None] = None

    def parse_hyperparameters(self, raw: dict[str, Any]) -> Hyperparameters:
        """Validated hyperparameters. Raises SpecError naming the field and allowed names."""
        try:
            return self.hyperparameters.model_validate(raw)
        except ValidationError as exc:
            raise SpecError(
                format_validation_error(
                    exc, model=self.hyperparameters, source=f"hyperparameters ({self.name})"
                )
            ) from None

    def prepare(self, spec, hps: Hyperparameters, data) -> dict:
        """Check the data (``TabularData`` or similar) and return the workers' config."""
        raise NotImplementedError

    # module:function of the worker function, so it pickles by reference
    worker: ClassVar[str]
