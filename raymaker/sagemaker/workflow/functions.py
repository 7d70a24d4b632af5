"""``sagemaker.workflow.functions``: ``Join`` and ``JsonGet``, evaluated when the pipeline runs."""

from __future__ import annotations

from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker.workflow.entities import PipelineVariable, to_expressions


class Join(PipelineVariable):
    """The values (text, numbers, pipeline variables) joined by ``on``."""

    def __init__(self, on: str = "", values: list[Any] | None = None):
        self.on = on
        self.values = list(values or [])

    @property
    def expr(self) -> dict:
        return {"Std:Join": {"On": self.on, "Values": [to_expressions(v) for v in self.values]}}


class JsonGet(PipelineVariable):
    """A value of a JSON file (a ``PropertyFile``) that a Processing step wrote."""

    def __init__(
        self, step_name: str | None = None, property_file=None, json_path: str = "", step=None
    ):
        if step is not None:
            step_name = step.name
        if not step_name or property_file is None or not json_path:
            raise SpecError("JsonGet needs step_name (or step), property_file and json_path")
        self.step_name = step_name
        self.property_file = property_file
        self.json_path = json_path

    @property
    def expr(self) -> dict:
        name = getattr(self.property_file, "name", self.property_file)
        return {
            "Std:JsonGet": {
                "PropertyFile": {"Get": f"Steps.{self.step_name}.PropertyFiles.{name}"},
                "Path": to_expressions(self.json_path),
            }
        }
