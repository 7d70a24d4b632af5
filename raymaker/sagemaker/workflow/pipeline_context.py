"""``sagemaker.workflow.pipeline_context``: ``PipelineSession``. Under it the SDK's verbs
(``estimator.fit``, ``processor.run``, ``transformer.transform``, ``tuner.fit``,
``model.create``, ``model.register``, ``automl.fit``) run nothing: they return the step's
arguments, which a step takes as ``step_args``.

    session = PipelineSession()
    est = rm.XGBoost(..., sagemaker_session=session)
    TrainingStep("train", step_args=est.fit({"train": prep.properties...}))
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Any

from raymaker.sagemaker.session import Session

_CAPTURING = contextvars.ContextVar("raymaker_pipeline_capture", default=False)


class PipelineSession(Session):
    """A Session whose verbs return step arguments instead of running jobs."""

    captures_steps = True


class StepArguments:
    """What a verb would have run: its job kind and arguments (SageMaker's ``_StepArguments``),
    pipeline variables kept as their expressions."""

    def __init__(self, kind: str, arguments: dict, caller: Any = None):
        self.kind = kind
        self.arguments = arguments
        self.caller = caller
        self.name = None

    def model_dump(self, **_: Any) -> dict:
        return {"kind": self.kind, **self.arguments}

    def __repr__(self) -> str:
        return f"StepArguments({self.kind}, {sorted(self.arguments)})"


def capturing(session) -> bool:
    return _CAPTURING.get() or bool(getattr(session, "captures_steps", False))


@contextmanager
def capture():
    """Within it, every verb returns its step arguments (old-style steps build theirs so)."""
    token = _CAPTURING.set(True)
    try:
        yield
    finally:
        _CAPTURING.reset(token)


def build_spec(session, body: dict, source: str = "spec"):
    """A door's spec: parsed, or under a PipelineSession its StepArguments, checked with the
    variables standing in (a problem at a variable waits for run time). Raises SpecError."""
    from raymaker.specs import parse_spec

    if not capturing(session):
        return parse_spec(body, source=source)
    from raymaker.errors import SpecError
    from raymaker.pipelines.definition import check_arguments
    from raymaker.sagemaker.workflow.entities import to_expressions

    args = to_expressions(body)
    kind = args.pop("kind")
    args.pop("name", None)  # a step's job is named by its execution
    problems = check_arguments(kind, args, where=source)
    if problems:
        raise SpecError("invalid spec:\n  " + "\n  ".join(problems))
    return StepArguments(kind, args)


def is_step_arguments(value: Any) -> bool:
    return isinstance(value, StepArguments)
