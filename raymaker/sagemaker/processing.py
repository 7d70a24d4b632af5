"""``sagemaker.processing``: ``ScriptProcessor`` and its ``ProcessingInput`` / ``ProcessingOutput``.

``run`` builds a ``kind: ProcessingJob`` spec and submits it through the job layer, the path
``raymaker submit processing.yaml`` takes; the script gets SageMaker's processing contract
(``/opt/ml/processing/input/<name>`` and ``output/<name>`` mapped into the job's folder).
"""

from __future__ import annotations

from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker.session import UsesSession
from raymaker.sagemaker.utils import name_from_base


class ProcessingInput:
    """Data copied in before the script starts (SageMaker's argument names)."""

    def __init__(self, source: str, destination: str | None = None,
                 input_name: str | None = None, **_ignored: Any):  # fmt: skip
        self.source = source
        self.destination = destination
        self.input_name = input_name

    def to_spec(self, index: int) -> dict:
        spec = {"name": self.input_name or f"input-{index + 1}", "source": self.source}
        return {**spec, "destination": self.destination} if self.destination else spec


class ProcessingOutput:
    """A folder the script writes, published to the store after it succeeds."""

    def __init__(self, source: str | None = None, destination: str | None = None,
                 output_name: str | None = None, **_ignored: Any):  # fmt: skip
        self.source = source
        self.destination = destination
        self.output_name = output_name

    def to_spec(self, index: int) -> dict:
        spec = {"name": self.output_name or f"output-{index + 1}"}
        if self.source:
            spec["source"] = self.source
        return {**spec, "destination": self.destination} if self.destination else spec


class ScriptProcessor(UsesSession):
    """Run a script as a processing job (``command`` is its interpreter, ``["python3"]``)."""

    def __init__(
        self,
        role: str | None = None,
        image_uri: str | None = None,
        command: list[str] | None = None,
        instance_count: int = 1,
        instance_type: str = "cpu.1",
        *,
        env: dict[str, str] | None = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session=None,
        session=None,
        **_ignored: Any,
    ):
        self.role = role  # accepted for SageMaker scripts; raymaker has no IAM
        self.image_uri = image_uri  # accepted; there are no images
        self.command = list(command or ["python3"])
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.env = dict(env or {})
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.session = session or sagemaker_session
        self.latest_job = None

    def processing_job_spec(
        self, code: str, inputs=None, outputs=None, arguments=None,
        job_name: str | None = None, source_dir: str | None = None,
        experiment_config: dict | None = None,
    ):  # fmt: skip
        """The ``ProcessingJob`` spec ``run`` would submit. Raises SpecError."""
        from raymaker.sagemaker.experiments.run import experiment_config_for

        body = {
            "kind": "ProcessingJob",
            "name": job_name or name_from_base(self.base_job_name),
            "code": code,
            "source_dir": source_dir,
            "command": self.command,
            "arguments": [a if hasattr(a, "expr") else str(a) for a in arguments or []],
            "inputs": [_item(i, n, ProcessingInput) for n, i in enumerate(inputs or [])],
            "outputs": [_item(o, n, ProcessingOutput) for n, o in enumerate(outputs or [])],
            "environment": self.env,
            "instance_count": self.instance_count,
            "instance_type": self.instance_type,
            "max_runtime_in_seconds": self.max_runtime_in_seconds,
            "experiment_config": experiment_config_for(experiment_config),
        }
        return self._spec(body, "run")

    def run(self, code: str, inputs=None, outputs=None, arguments=None, wait: bool = True,
            logs: bool = True, job_name: str | None = None,
            experiment_config: dict | None = None, *, source_dir: str | None = None,
            **_ignored: Any):  # fmt: skip
        """Submit the processing job; with ``wait``, raises JobFailed with the script's own
        traceback when it fails. ``experiment_config`` names its MLflow experiment and run.
        Under a PipelineSession, returns the ProcessingStep's arguments and runs nothing."""
        spec = self.processing_job_spec(code, inputs, outputs, arguments, job_name, source_dir,
                                        experiment_config)  # fmt: skip
        if not hasattr(spec, "model_fields"):
            return spec  # a pipeline step's arguments
        handle = self._session().jobs.submit(spec, name=spec.name)
        self.latest_job = handle
        if wait:
            handle.wait(logs=logs)
        return handle


def _item(value, index: int, cls) -> dict:
    if isinstance(value, cls):
        return value.to_spec(index)
    if isinstance(value, dict):
        return dict(value)
    raise SpecError(f"expected a {cls.__name__} or a mapping, got {value!r}")
