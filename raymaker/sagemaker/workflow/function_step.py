"""``sagemaker.workflow.function_step``: ``@step``, a plain Python function as a pipeline
step. Calling the decorated function returns a ``DelayedReturn``: pass it to other ``@step``
functions (their job gets the value itself), use it in conditions and other steps' arguments
(its JSON value, through ``JsonGet``), or list it in ``Pipeline(steps=[...])`` (the function
steps it depends on come with it).

    @step(instance_type="cpu.1")
    def prepare(n: int) -> list:
        return list(range(n))

    @step
    def total(values: list) -> int:
        return sum(values)

    Pipeline("sums", parameters=[n], steps=[total(prepare(n))])

The function and its constant arguments are pickled (cloudpickle) by your session into the
store when the pipeline is built; its job unpickles them, calls it and pickles its return
value, which ``execution.result(step_name)`` gives back in your session: the only pickles
involved are the ones your own code made.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker.workflow.entities import PipelineVariable
from raymaker.sagemaker.workflow.steps import ConfigurableRetryStep, StepTypeEnum

MARK = "__raymaker_marker__"
RESULT_FILE = "Result"


class _FunctionStep(ConfigurableRetryStep):
    step_type = StepTypeEnum.FUNCTION

    def __init__(self, name: str, func, args: tuple, kwargs: dict, *, display_name=None,
                 description=None, retry_policies=None, depends_on=None, instance_type=None,
                 environment_variables=None):  # fmt: skip
        super().__init__(name, self.step_type, display_name, description, depends_on,
                         retry_policies)  # fmt: skip
        self.func, self.args, self.kwargs = func, args, kwargs
        self.instance_type = instance_type
        self.environment_variables = dict(environment_variables or {})
        self.session = None  # the pipeline's, when it builds its definition

    def upstream(self) -> list[_FunctionStep]:
        """The function steps whose results this one's arguments take."""
        found: list[_FunctionStep] = []
        _walk((self.args, self.kwargs), lambda v: found.append(v.step)
              if isinstance(v, DelayedReturn) else None)  # fmt: skip
        return found

    @property
    def arguments(self) -> dict:
        import cloudpickle

        from raymaker.sagemaker.workflow.entities import to_expressions

        values: dict[str, Any] = {}
        results: dict[str, Any] = {}
        paths: dict[str, list] = {}

        def mark(value):
            if isinstance(value, DelayedReturn):
                key = f"r{len(results) + len(values)}"
                results[key] = value.step.properties.ProcessingOutputConfig.Outputs[
                    "result"].S3Output.S3Uri.expr  # fmt: skip
                paths[key] = list(value.path)
                return {MARK: key}
            if isinstance(value, PipelineVariable):
                key = f"v{len(results) + len(values)}"
                values[key] = to_expressions(value)
                return {MARK: key}
            if isinstance(value, list | tuple):
                return type(value)(mark(v) for v in value)
            if isinstance(value, dict):
                return {k: mark(v) for k, v in value.items()}
            return value

        with _by_value(self.func):
            payload = cloudpickle.dumps((self.func, mark(list(self.args)),
                                         mark(dict(self.kwargs))))  # fmt: skip
        digest = hashlib.sha256(payload).hexdigest()
        store = (self.session or _default_session()).store
        key = f"pipelines/_functions/{digest[:32]}/function.pkl"
        if not store.exists(key):
            store.write_bytes(key, payload)
        out = {"function": store.uri(key), "values": values, "results": results, "paths": paths}
        if self.instance_type is not None:
            out["instance_type"] = to_expressions(self.instance_type)
        if self.environment_variables:
            out["environment"] = to_expressions(self.environment_variables)
        return out

    def to_request(self) -> dict:
        out = super().to_request()
        out["PropertyFiles"] = [{"PropertyFileName": RESULT_FILE, "OutputName": "result",
                                 "FilePath": "result.json"}]  # fmt: skip
        return out


class DelayedReturn(PipelineVariable):
    """A function step's return value, known when it has run; ``[i]`` / ``["key"]`` read a
    part of it."""

    def __init__(self, step: _FunctionStep, path: tuple = ()):
        self.step = step
        self.path = tuple(path)

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def steps(self) -> list:
        """The function steps this value needs, upstream first (what ``Pipeline`` takes)."""
        ordered: list[_FunctionStep] = []

        def visit(s: _FunctionStep) -> None:
            for up in s.upstream():
                visit(up)
            if s not in ordered:
                ordered.append(s)

        visit(self.step)
        return ordered

    def __getitem__(self, key) -> DelayedReturn:
        return DelayedReturn(self.step, (*self.path, key))

    def __iter__(self):
        raise TypeError("a DelayedReturn is not iterable; index it: value[0], value['key']")

    @property
    def expr(self) -> dict:
        path = "Return" + "".join(f"[{k}]" if isinstance(k, int) else f"['{k}']"
                                  for k in self.path)  # fmt: skip
        return {"Std:JsonGet": {
            "PropertyFile": {"Get": f"Steps.{self.step.name}.PropertyFiles.{RESULT_FILE}"},
            "Path": path}}  # fmt: skip


def step(_func=None, *, name: str | None = None, display_name: str | None = None,
         description: str | None = None, retry_policies=None, instance_type=None,
         environment_variables=None, **ignored):  # fmt: skip
    """Make a function a pipeline step (SageMaker's ``@step``); SageMaker's job settings
    that mean nothing here (image_uri, role, dependencies, ...) are accepted and ignored."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs) -> DelayedReturn:
            s = _FunctionStep(name or func.__name__, func, args, kwargs,
                              display_name=display_name, description=description,
                              retry_policies=retry_policies,
                              instance_type=instance_type,
                              environment_variables=environment_variables)  # fmt: skip
            return DelayedReturn(s)

        return wrapper

    if _func is not None:
        return decorate(_func)
    return decorate


def load_result(store, uri: str) -> Any:
    """A function step's return value (its ``result.pkl``, which your own function wrote)."""
    import cloudpickle

    from raymaker.storage import join

    try:
        return cloudpickle.loads(store.read_bytes(join(store.key(uri), "result.pkl")))
    except Exception as exc:  # noqa: BLE001 - said plainly
        raise SpecError(f"cannot read the function step's result at {uri}: {exc}") from None


@contextlib.contextmanager
def _by_value(func):
    """Pickle the function's own module by value when it is your code (a notebook, a script,
    a module beside it), not an installed package the job can import too."""
    import sys
    import sysconfig

    import cloudpickle

    module = sys.modules.get(getattr(func, "__module__", "") or "")
    path = getattr(module, "__file__", None) or ""
    installed = any(path.startswith(p) for p in {sysconfig.get_paths()["purelib"],
                                                 sysconfig.get_paths()["stdlib"]} if p)  # fmt: skip
    registered = False
    if module is not None and module.__name__ != "__main__" and not installed:
        cloudpickle.register_pickle_by_value(module)
        registered = True
    try:
        yield
    finally:
        if registered:
            cloudpickle.unregister_pickle_by_value(module)


def _walk(value, fn) -> None:
    fn(value)
    if isinstance(value, list | tuple):
        for v in value:
            _walk(v, fn)
    elif isinstance(value, dict):
        for v in value.values():
            _walk(v, fn)


def _default_session():
    from raymaker.sagemaker.session import default_session

    return default_session()
