"""``sagemaker.workflow.entities``: the pipeline variable every parameter, property, execution
variable and function is: a value known only when the pipeline runs, written into the
definition as its expression (``expr``)."""

from __future__ import annotations

from typing import Any


class PipelineVariable:
    """A value resolved at run time. ``expr`` is its expression in the definition."""

    @property
    def expr(self) -> dict:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    @property
    def _referenced_steps(self) -> list[str]:
        from raymaker.specs.pipeline_graph import step_references

        return sorted(step_references(self.expr))

    def to_string(self):
        """The variable as a string at run time (``Join`` of it alone), as SageMaker's."""
        from raymaker.sagemaker.workflow.functions import Join

        return Join(on="", values=[self])

    def __str__(self) -> str:
        raise TypeError(
            "a pipeline variable has no value until the pipeline runs: use .to_string() or "
            "Join(...) where text is needed"
        )

    def __add__(self, other):
        raise TypeError("pipeline variables cannot be added: use Join(on='', values=[...])")

    __radd__ = __add__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expr})"


Entity = PipelineVariable
Expression = dict


def is_pipeline_variable(value: Any) -> bool:
    return isinstance(value, PipelineVariable)


def to_expressions(value: Any) -> Any:
    """``value`` with every pipeline variable (and step/condition object) as its request:
    what goes into the definition."""
    if isinstance(value, PipelineVariable):
        return value.expr
    if hasattr(value, "to_request") and type(value).__module__.startswith(__package__ or "-"):
        return to_expressions(value.to_request())
    if isinstance(value, dict):
        return {k: to_expressions(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_expressions(v) for v in value]
    return value
