"""The shape of a pipeline definition: its expressions, its steps (a Condition step's branches
included) and the graph they make. Pure functions over the spec, so a bad definition is refused
before anything runs, each problem naming the step and the field.

Expressions (SageMaker's definition language) are JSON objects with one key:

    {"Get": "Parameters.TrainData"}                    a parameter's value
    {"Get": "Execution.PipelineExecutionId"}           an execution variable
    {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}   a step's property
    {"Std:Join": {"On": "/", "Values": [...]}}         strings joined
    {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.eval.PropertyFiles.Report"},
                     "Path": "metrics.auc.value"}}     a value of a step's JSON file
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

EXECUTION_VARIABLES = (
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "PipelineName",
    "PipelineArn",
    "StartDateTime",
    "CurrentDateTime",
)
FUNCTIONS = ("Std:Join", "Std:JsonGet")
_TOKEN = re.compile(r"\.?([A-Za-z0-9_\-:]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def is_expression(value: Any) -> bool:
    """Whether ``value`` is one expression (a one-key object: Get, Std:Join, Std:JsonGet)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return (key == "Get" and isinstance(value[key], str)) or key in FUNCTIONS


def split_path(path: str) -> list[str | int]:
    """``Steps.s.Outputs['train'].S3Uri`` → ``["Steps", "s", "Outputs", "train", "S3Uri"]``.
    Raises ValueError."""
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the property path {path!r} at {path[pos:]!r}")
        name, index, key1, key2 = m.groups()
        if name is not None:
            out.append(name)
        elif index is not None:
            out.append(int(index))
        else:
            out.append(key1 if key1 is not None else key2)
        pos = m.end()
    return out


def references(value: Any) -> Iterator[tuple[str, list]]:
    """Each ``Get`` inside ``value``: ``("Parameters"|"Execution"|"Steps", rest-of-path)``."""
    if is_expression(value):
        key, body = next(iter(value.items()))
        if key == "Get":
            parts = split_path(body)
            yield str(parts[0]), parts[1:]
            return
        yield from references(body)
    elif isinstance(value, dict):
        for v in value.values():
            yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


def step_references(value: Any) -> set[str]:
    """The names of the steps whose properties ``value`` reads."""
    return {str(rest[0]) for root, rest in references(value) if root == "Steps" and rest}


def step_values(step) -> list:
    """Everything of a step that may hold expressions: its arguments and a check step's
    supplied baselines and model group."""
    return [
        step.arguments,
        step.supplied_baseline_statistics,
        step.supplied_baseline_constraints,
        step.model_package_group_name,
    ]


@dataclass
class Node:
    """A step in the graph: where it sits and what it waits for."""

    step: Any  # raymaker.specs.pipeline.Step
    upstream: set[str] = field(default_factory=set)  # steps that must end first
    gate: tuple[str, bool] | None = None  # (condition step, the outcome it runs on)


def flatten(spec) -> dict[str, Node]:
    """Every step by name, a Condition step's branches included, with its upstream steps
    (from property references and DependsOn) and its gate. Raises ValueError."""
    from raymaker.specs.pipeline import Step

    nodes: dict[str, Node] = {}

    def add(step, gate):
        if step.name in nodes:
            raise ValueError(f"step name {step.name!r} is used twice")
        node = Node(step=step, gate=gate)
        node.upstream = step_references(step_values(step)) | set(step.depends_on)
        node.upstream.discard(step.name)  # its own property files
        nodes[step.name] = node
        if step.type == "Condition":
            for branch, outcome in (("IfSteps", True), ("ElseSteps", False)):
                for i, raw in enumerate(step.arguments.get(branch) or []):
                    if isinstance(raw, str):  # a name: the step is defined at the top level
                        continue
                    try:
                        child = raw if isinstance(raw, Step) else Step.model_validate(raw)
                    except Exception as exc:  # noqa: BLE001 - reported with its place
                        raise ValueError(f"step {step.name}: {branch}[{i}]: {exc}") from None
                    add(child, (step.name, outcome))

    for step in spec.steps:
        add(step, None)
    for node in nodes.values():  # a branch named by reference at the top level is gated too
        if node.step.type == "Condition":
            for branch, outcome in (("IfSteps", True), ("ElseSteps", False)):
                for raw in node.step.arguments.get(branch) or []:
                    if isinstance(raw, str) and raw in nodes:
                        nodes[raw].gate = (node.step.name, outcome)
    for node in nodes.values():
        if node.gate:
            node.upstream.add(node.gate[0])
    return nodes


def problems(spec) -> list[str]:
    """Every problem of the definition, each naming its step and field: unknown steps or
    parameters referenced, cycles, a step type's required arguments."""
    from raymaker.specs.base import did_you_mean

    try:
        nodes = flatten(spec)
    except ValueError as exc:
        return [str(exc)]
    out: list[str] = []
    params = {p.name for p in spec.parameters}
    seen: set[str] = set()
    for p in spec.parameters:
        if p.name in seen:
            out.append(f"parameter {p.name!r} is declared twice")
        seen.add(p.name)
        if p.default_value is not None:
            try:
                p.coerce(p.default_value)
            except ValueError as exc:
                out.append(f"DefaultValue: {exc}")
    for name, node in nodes.items():
        step = node.step
        for dep in step.depends_on:
            if dep not in nodes:
                out.append(
                    f"step {name}: DependsOn names no step {dep!r}{did_you_mean(dep, nodes)}"
                )
        try:
            refs = list(references(step_values(step)))
        except ValueError as exc:
            out.append(f"step {name}: {exc}")
            continue
        for root, rest in refs:
            if root == "Parameters":
                p = str(rest[0]) if rest else ""
                if p not in params:
                    out.append(f"step {name}: no parameter {p!r}{did_you_mean(p, params)}")
            elif root == "Steps":
                s = str(rest[0]) if rest else ""
                if s not in nodes:
                    out.append(f"step {name}: refers to no step {s!r}{did_you_mean(s, nodes)}")
                elif s == name:
                    out.append(f"step {name}: refers to its own properties")
            elif root == "Execution":
                v = str(rest[0]) if rest else ""
                if v not in EXECUTION_VARIABLES:
                    out.append(
                        f"step {name}: no execution variable {v!r}; allowed: "
                        f"{', '.join(EXECUTION_VARIABLES)}{did_you_mean(v, EXECUTION_VARIABLES)}"
                    )
            else:
                out.append(
                    f"step {name}: 'Get' must start with Parameters., Steps. or Execution. "
                    f"(got {root!r})"
                )
        out.extend(f"step {name}: {p}" for p in _argument_problems(step))
    if not out:
        cycle = find_cycle(nodes)
        if cycle:
            out.append("the steps depend on each other in a cycle: " + " -> ".join(cycle))
    return out


def _argument_problems(step) -> list[str]:
    args = step.arguments
    if step.type == "Condition":
        out = []
        if not args.get("Conditions"):
            out.append("Arguments.Conditions: a Condition step needs at least one condition")
        for i, cond in enumerate(args.get("Conditions") or []):
            out.extend(f"Arguments.Conditions[{i}]: {p}" for p in condition_problems(cond))
        extra = sorted(set(args) - {"Conditions", "IfSteps", "ElseSteps"})
        if extra:
            out.append(
                f"Arguments: unknown field(s) {', '.join(extra)}; allowed: Conditions, "
                "IfSteps, ElseSteps"
            )
        return out
    if step.type == "Fail":
        extra = sorted(set(args) - {"ErrorMessage"})
        return (
            [f"Arguments: unknown field(s) {', '.join(extra)}; allowed: ErrorMessage"]
            if extra
            else []
        )
    if step.type in ("Model", "RegisterModel"):
        out = [] if args.get("model_data") else ["Arguments.model_data: field required"]
        if step.type == "RegisterModel" and not args.get("model_package_group_name"):
            out.append("Arguments.model_package_group_name: field required")
        allowed = MODEL_FIELDS if step.type == "Model" else REGISTER_FIELDS
        extra = sorted(set(args) - set(allowed))
        if extra:
            from raymaker.specs.base import did_you_mean

            out.append(
                f"Arguments: unknown field(s) {', '.join(extra)}"
                f"{did_you_mean(extra[0], allowed)}; allowed: {', '.join(allowed)}"
            )
        return out
    if step.type == "Function":
        missing = [k for k in ("function", "values", "results", "paths") if k not in args]
        return [f"Arguments.{k}: field required (a function step's, made by @step)"
                for k in missing]  # fmt: skip
    if step.property_files and step.type != "Processing":
        return ["PropertyFiles: only a Processing step writes property files"]
    return []


MODEL_FIELDS = ("model_data", "entry_point", "source_dir", "framework", "name", "environment")
REGISTER_FIELDS = (
    "model_data",
    "model_package_group_name",
    "approval_status",
    "description",
    "customer_metadata_properties",
    "metrics",
    "entry_point",
    "source_dir",
)
COMPARISONS = ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")
CONDITIONS = (*COMPARISONS, "In", "Not", "Or")


def condition_problems(cond: Any) -> list[str]:
    from raymaker.specs.base import did_you_mean

    if not isinstance(cond, dict):
        return [f"a condition is an object with Type (got {cond!r})"]
    kind = cond.get("Type")
    if kind in COMPARISONS:
        need = ("LeftValue", "RightValue")
    elif kind == "In":
        need = ("QueryValue", "Values")
    elif kind == "Not":
        return (
            condition_problems(cond.get("Expression"))
            if "Expression" in cond
            else ["Expression: field required"]
        )
    elif kind == "Or":
        subs = cond.get("Conditions")
        if not isinstance(subs, list) or not subs:
            return ["Conditions: an Or condition needs a list of conditions"]
        return [p for c in subs for p in condition_problems(c)]
    else:
        return [
            f"Type {kind!r} is not one of {', '.join(CONDITIONS)}"
            + did_you_mean(str(kind), CONDITIONS)
        ]
    return [f"{k}: field required" for k in need if k not in cond]


def find_cycle(nodes: dict[str, Node]) -> list[str] | None:
    """A cycle of step names (first repeated at the end), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for up in sorted(nodes[name].upstream):
            if up not in nodes:
                continue
            if state.get(up) == 1:
                return path[path.index(up) :] + [up]
            if up not in state:
                found = visit(up)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in nodes:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def levels(nodes: dict[str, Node]) -> dict[str, int]:
    """Each step's depth: 0 for steps that wait for nothing, else 1 + the deepest upstream."""
    out: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in out:
            ups = [u for u in nodes[name].upstream if u in nodes]
            out[name] = 1 + max(map(depth, ups)) if ups else 0
        return out[name]

    for name in nodes:
        depth(name)
    return out
