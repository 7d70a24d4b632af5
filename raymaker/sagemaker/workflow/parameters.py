"""``sagemaker.workflow.parameters``: ``ParameterString``, ``ParameterInteger``,
``ParameterFloat``, ``ParameterBoolean``: values given when an execution starts."""

from __future__ import annotations

from enum import Enum
from typing import Any

from raymaker.sagemaker.workflow.entities import PipelineVariable


class ParameterTypeEnum(Enum):
    STRING = "String"
    INTEGER = "Integer"
    BOOLEAN = "Boolean"
    FLOAT = "Float"


class Parameter(PipelineVariable):
    def __init__(
        self,
        name: str,
        parameter_type: ParameterTypeEnum = ParameterTypeEnum.STRING,
        default_value: Any = None,
    ):
        self.name = name
        self.parameter_type = ParameterTypeEnum(parameter_type)
        self.default_value = default_value

    @property
    def expr(self) -> dict:
        return {"Get": f"Parameters.{self.name}"}

    def to_request(self) -> dict:
        out = {"Name": self.name, "Type": self.parameter_type.value}
        if self.default_value is not None:
            out["DefaultValue"] = self.default_value
        return out


class ParameterString(Parameter):
    def __init__(
        self, name: str, default_value: str | None = None, enum_values: list[str] | None = None
    ):
        super().__init__(name, ParameterTypeEnum.STRING, default_value)
        self.enum_values = enum_values

    def to_request(self) -> dict:
        out = super().to_request()
        if self.enum_values:
            out["EnumValues"] = list(self.enum_values)
        return out


class ParameterInteger(Parameter):
    def __init__(self, name: str, default_value: int | None = None):
        super().__init__(name, ParameterTypeEnum.INTEGER, default_value)


class ParameterFloat(Parameter):
    def __init__(self, name: str, default_value: float | None = None):
        super().__init__(name, ParameterTypeEnum.FLOAT, default_value)


class ParameterBoolean(Parameter):
    def __init__(self, name: str, default_value: bool | None = None):
        super().__init__(name, ParameterTypeEnum.BOOLEAN, default_value)
