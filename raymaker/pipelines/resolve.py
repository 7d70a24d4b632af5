"""Expressions resolved at run time, and a Condition step's conditions evaluated.

``Resolver`` turns a step's ``Arguments`` into plain values: parameters, execution variables,
the properties of the steps that ran, ``Std:Join`` and ``Std:JsonGet`` over a
``PropertyFile`` (read from the store where the step's output went).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from raymaker.errors import NotFound, SpecError
from raymaker.pipelines.properties import lookup
from raymaker.specs.pipeline_graph import COMPARISONS, is_expression, split_path


class Resolver:
    def __init__(
        self,
        parameters: dict,
        execution: dict,
        properties: dict[str, dict],
        read_file: Callable[[str, str], Any],
    ):
        """``read_file(step, property_file_name)``: the parsed JSON of a step's file."""
        self.parameters = parameters
        self.execution = execution
        self.properties = properties
        self.read_file = read_file

    def __call__(self, value: Any) -> Any:
        if is_expression(value):
            key, body = next(iter(value.items()))
            if key == "Get":
                return self.get(body)
            if key == "Std:Join":
                return self.join(body)
            return self.json_get(body)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def get(self, path: str) -> Any:
        parts = split_path(path)
        root, rest = parts[0], parts[1:]
        if root == "Parameters":
            return self.parameters[rest[0]]
        if root == "Execution":
            if rest[0] == "CurrentDateTime":
                return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return self.execution[rest[0]]
        step = str(rest[0])
        if step not in self.properties:
            raise SpecError(f"step {step} has not run: its properties are not there")
        return lookup(self.properties[step], rest[1:], step=step)

    def join(self, body: Any) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("Values"), list):
            raise SpecError(f"Std:Join takes On and Values (got {body!r})")
        # YAML 1.1 reads an unquoted On: as true (a spec file's "On" lands as True or "true")
        on = next((body[k] for k in ("On", True, "true") if k in body), "")
        return str(on).join(_text(self(v)) for v in body["Values"])

    def json_get(self, body: Any) -> Any:
        if not isinstance(body, dict) or "Path" not in body or "PropertyFile" not in body:
            raise SpecError(f"Std:JsonGet takes PropertyFile and Path (got {body!r})")
        ref = body["PropertyFile"]
        if is_expression(ref) and "Get" in ref:  # {"Get": "Steps.eval.PropertyFiles.Report"}
            parts = split_path(ref["Get"])
            if len(parts) != 4 or parts[0] != "Steps" or parts[2] != "PropertyFiles":
                raise SpecError(
                    f"Std:JsonGet: {ref['Get']!r} is not Steps.<step>.PropertyFiles.<name>"
                )
            step, name = str(parts[1]), str(parts[3])
        else:
            raise SpecError(
                f"Std:JsonGet: PropertyFile must be a Get of a step's file (got {ref!r})"
            )
        data = self.read_file(step, name)
        path = self(body["Path"])
        value: Any = data
        for part in split_path(str(path)):
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                raise SpecError(f"Std:JsonGet: {path!r} is not in {name} of step {step}") from None
        return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(condition: dict, resolve: Resolver) -> bool:
    """A condition's outcome. Raises SpecError for values that cannot be compared."""
    kind = condition["Type"]
    if kind == "Not":
        return not evaluate(condition["Expression"], resolve)
    if kind == "Or":
        return any(evaluate(c, resolve) for c in condition["Conditions"])
    if kind == "In":
        query = resolve(condition["QueryValue"])
        return any(_equal(query, resolve(v)) for v in condition["Values"])
    left, right = resolve(condition["LeftValue"]), resolve(condition["RightValue"])
    if kind == "Equals":
        return _equal(left, right)
    assert kind in COMPARISONS
    a, b = _comparable(left, right, kind)
    return {
        "GreaterThan": a > b,
        "GreaterThanOrEqualTo": a >= b,
        "LessThan": a < b,
        "LessThanOrEqualTo": a <= b,
    }[kind]


def _equal(a: Any, b: Any) -> bool:
    try:
        x, y = _comparable(a, b, "Equals")
    except SpecError:
        return a == b
    return x == y


def _comparable(a: Any, b: Any, kind: str) -> tuple:
    """Both as numbers when either is (a metric read from a JSON file may be text)."""
    if (
        isinstance(a, int | float)
        and not isinstance(a, bool)
        or isinstance(b, int | float)
        and not isinstance(b, bool)
    ):
        try:
            return float(a), float(b)
        except (TypeError, ValueError):
            raise SpecError(f"{kind}: cannot compare {a!r} with {b!r}") from None
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if type(a) is type(b):
        return a, b
    raise SpecError(f"{kind}: cannot compare {a!r} with {b!r}")


def read_property_file(store, definition_step, properties: dict) -> Callable:
    """The ``read_file`` of a Resolver: a step's PropertyFile from its output in the store."""
    from raymaker.storage import join

    def read(step: str, name: str) -> Any:
        spec = definition_step(step)
        files = {pf.property_file_name: pf for pf in spec.property_files}
        if name not in files:
            raise SpecError(f"step {step} declares no property file {name!r}")
        pf = files[name]
        if step not in properties:
            raise SpecError(f"step {step} has not run: its property file {name} is not there")
        base = lookup(
            properties[step],
            ["ProcessingOutputConfig", "Outputs", pf.output_name, "S3Output", "S3Uri"],
            step=step,
        )
        key = join(store.key(base), pf.file_path)
        try:
            return store.read_json(key)
        except NotFound:
            raise SpecError(
                f"step {step} wrote no {pf.file_path} into output "
                f"{pf.output_name} (property file {name})"
            ) from None
        except ValueError as exc:
            raise SpecError(f"property file {name} of step {step} is not JSON: {exc}") from None

    return read
