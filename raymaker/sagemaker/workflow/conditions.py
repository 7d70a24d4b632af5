"""``sagemaker.workflow.conditions``: what a ConditionStep tests."""

from __future__ import annotations

from enum import Enum
from typing import Any

from raymaker.sagemaker.workflow.entities import to_expressions


class ConditionTypeEnum(Enum):
    EQ = "Equals"
    GT = "GreaterThan"
    GTE = "GreaterThanOrEqualTo"
    IN = "In"
    LT = "LessThan"
    LTE = "LessThanOrEqualTo"
    NOT = "Not"
    OR = "Or"


class Condition:
    condition_type: ConditionTypeEnum

    def to_request(self) -> dict:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    @property
    def _referenced_steps(self) -> list[str]:
        from raymaker.specs.pipeline_graph import step_references

        return sorted(step_references(self.to_request()))


class ConditionComparison(Condition):
    def __init__(self, condition_type: ConditionTypeEnum, left: Any, right: Any):
        self.condition_type, self.left, self.right = condition_type, left, right

    def to_request(self) -> dict:
        return {
            "Type": self.condition_type.value,
            "LeftValue": to_expressions(self.left),
            "RightValue": to_expressions(self.right),
        }


class ConditionEquals(ConditionComparison):
    def __init__(self, left: Any, right: Any):
        super().__init__(ConditionTypeEnum.EQ, left, right)


class ConditionGreaterThan(ConditionComparison):
    def __init__(self, left: Any, right: Any):
        super().__init__(ConditionTypeEnum.GT, left, right)


class ConditionGreaterThanOrEqualTo(ConditionComparison):
    def __init__(self, left: Any, right: Any):
        super().__init__(ConditionTypeEnum.GTE, left, right)


class ConditionLessThan(ConditionComparison):
    def __init__(self, left: Any, right: Any):
        super().__init__(ConditionTypeEnum.LT, left, right)


class ConditionLessThanOrEqualTo(ConditionComparison):
    def __init__(self, left: Any, right: Any):
        super().__init__(ConditionTypeEnum.LTE, left, right)


class ConditionIn(Condition):
    condition_type = ConditionTypeEnum.IN

    def __init__(self, value: Any, in_values: list[Any]):
        self.value, self.in_values = value, list(in_values)

    def to_request(self) -> dict:
        return {
            "Type": "In",
            "QueryValue": to_expressions(self.value),
            "Values": [to_expressions(v) for v in self.in_values],
        }


class ConditionNot(Condition):
    condition_type = ConditionTypeEnum.NOT

    def __init__(self, expression: Condition):
        self.expression = expression

    def to_request(self) -> dict:
        return {"Type": "Not", "Expression": self.expression.to_request()}


class ConditionOr(Condition):
    condition_type = ConditionTypeEnum.OR

    def __init__(self, conditions: list[Condition] | None = None):
        self.conditions = list(conditions or [])

    def to_request(self) -> dict:
        return {"Type": "Or", "Conditions": [c.to_request() for c in self.conditions]}
