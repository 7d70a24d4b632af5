"""``sagemaker.estimator``: the ``Estimator`` every framework's estimator extends (``XGBoost``,
``LightGBM``, ``PyTorch``, ``SKLearn`` live in their framework's package, as in SDK v2).
The constructor stores its arguments; ``fit`` builds a ``TrainingJob`` spec and submits it
through the job layer, the same path as ``raymaker submit``.

    est = rm.XGBoost(label="churn", hyperparameters={"num_round": 50}, instance_count=2)
    est.fit({"train": "s3://bucket/train/", "validation": "s3://bucket/val/"})
    est.model_data   # .../output/model.tar.gz
"""

from __future__ import annotations

from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker import surface
from raymaker.sagemaker.inputs import TrainingInput
from raymaker.sagemaker.session import UsesSession, default_session
from raymaker.sagemaker.utils import name_from_base


class Hyperparameters(dict):
    """An estimator's hyperparameters: a dict (``est.hyperparameters["eta"]``) that can also be
    called, as SageMaker's ``est.hyperparameters()`` is."""

    def __call__(self) -> dict[str, Any]:
        return dict(self)


FRAMEWORK_ESTIMATORS = {
    "xgboost": "raymaker.sagemaker.xgboost.estimator:XGBoost",
    "lightgbm": "raymaker.sagemaker.lightgbm.estimator:LightGBM",
    "pytorch": "raymaker.sagemaker.pytorch.estimator:PyTorch",
    "sklearn": "raymaker.sagemaker.sklearn.estimator:SKLearn",
    "tensorflow": "raymaker.sagemaker.tensorflow.estimator:TensorFlow",
}


class Estimator(UsesSession):
    """A training job to be: a built-in ``algorithm`` or the user's ``entry_point`` script."""

    _framework: str | None = None
    _default_algorithm: str | None = None
    _script_model: str | None = None  # "module:class" of the framework's Model, script mode
    _script_serves = True  # the training script is the inference handler (its model_fn...)

    def __init__(
        self,
        entry_point: str | None = None,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        instance_count: int = 1,
        instance_type: str = "cpu.1",
        environment: dict[str, str] | None = None,
        metric_definitions: list[dict[str, str]] | None = None,
        checkpoint_s3_uri: str | None = None,
        max_run: int | None = None,
        max_retry_attempts: int = 0,
        output_path: str | None = None,
        *,
        algorithm: str | None = None,
        label: str | None = None,
        recipe: str | None = None,
        base_job_name: str | None = None,
        use_gpu: bool | None = None,
        execution: str = "auto",
        checkpoint_interval_s: float | None = 30.0,
        sagemaker_session=None,
        session=None,
        role: str | None = None,
        framework_version: str | None = None,
        py_version: str | None = None,
        **kwargs: Any,
    ):
        unknown = sorted(set(kwargs) - _LEGACY_ARGS - surface.ignored_args("Estimator"))
        if unknown:
            raise SpecError(f"{type(self).__name__}: unknown argument(s): {', '.join(unknown)}")
        surface.ignored("Estimator", {"role": role, **kwargs})
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.hyperparameters = Hyperparameters(hyperparameters or {})
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.environment = dict(environment or {})
        self.metric_definitions = list(metric_definitions or [])
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.max_run = max_run
        self.max_retry_attempts = max_retry_attempts
        self.output_path = output_path
        self.algorithm = algorithm
        self.label = label
        self.recipe = recipe
        self.base_job_name = base_job_name
        self.use_gpu = use_gpu
        self.execution = execution
        self.checkpoint_interval_s = checkpoint_interval_s
        self.session = session or sagemaker_session
        self.role = role  # accepted for SageMaker scripts; raymaker has no IAM
        self.framework_version = framework_version
        self.py_version = py_version
        self.latest_training_job = None

    def set_hyperparameters(self, **kwargs: Any) -> None:
        """Set (or change) hyperparameters, as SageMaker's ``Estimator.set_hyperparameters``."""
        self.hyperparameters.update(kwargs)

    def __repr__(self) -> str:
        what = self.algorithm or self._default_algorithm or self.entry_point
        return f"{type(self).__name__}({what!r}, instance_count={self.instance_count})"

    # -- verbs -----------------------------------------------------------------------------
    def fit(
        self,
        inputs: str | dict[str, Any] | TrainingInput | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
        experiment_config: dict | None = None,
        *,
        resume: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Run the training job. With ``wait``, raises JobFailed (with the script's own
        traceback) when it fails; ``resume=True`` continues an interrupted job of
        ``job_name`` from its last checkpoint. ``experiment_config`` (``ExperimentName``,
        ``TrialName``, ``RunName``) names the job's MLflow experiment and run; inside
        ``with Run(...)`` the job's run nests in that one. Under a PipelineSession, returns
        the TrainingStep's arguments and runs nothing."""
        spec = self.training_job_spec(inputs, job_name, experiment_config=experiment_config)
        if getattr(spec, "kind", None) and not hasattr(spec, "model_fields"):
            return spec  # a pipeline step's arguments
        handle = self._session().jobs.submit(spec, name=job_name or spec.name, resume=resume)
        self.latest_training_job = handle
        if wait:
            handle.wait(timeout=timeout, logs=logs)

    def training_job_spec(self, inputs=None, job_name: str | None = None, *,
                          experiment_config: dict | None = None):  # fmt: skip
        """The ``TrainingJob`` spec ``fit`` would submit. Raises SpecError."""
        from raymaker.sagemaker.experiments.run import experiment_config_for

        algorithm = self.algorithm or (None if self.entry_point else self._default_algorithm)
        body = {
            "kind": "TrainingJob",
            "name": job_name or name_from_base(self.base_job_name),
            "algorithm": algorithm,
            "entry_point": self.entry_point,
            "source_dir": self.source_dir,
            "framework": self._framework,
            "hyperparameters": self.hyperparameters,
            "inputs": _channels(inputs),
            "label": self.label,
            "recipe": self.recipe,
            "environment": self.environment,
            "metric_definitions": self.metric_definitions,
            "output_path": self.output_path,
            "checkpoint_uri": self.checkpoint_s3_uri,
            "max_run": self.max_run,
            "max_retry_attempts": self.max_retry_attempts,
            "instance_count": self.instance_count,
            "instance_type": self.instance_type,
            "use_gpu": self.use_gpu,
            "execution": self.execution,
            "checkpoint_interval_s": self.checkpoint_interval_s,
            "experiment_config": experiment_config_for(experiment_config),
        }
        return self._spec(body)

    @classmethod
    def attach(cls, training_job_name: str, sagemaker_session=None, *, session=None) -> Estimator:
        """An estimator for an existing job (its spec), with ``latest_training_job`` set;
        ``Estimator.attach`` gives the job's framework's estimator (``XGBoost``, ``PyTorch``...),
        so its ``deploy`` returns that framework's predictor."""
        import importlib

        sess = session or sagemaker_session or default_session()
        handle = sess.jobs.get(training_job_name)
        spec = handle.describe().spec
        if cls is Estimator and spec.get("framework") in FRAMEWORK_ESTIMATORS:
            module, _, attr = FRAMEWORK_ESTIMATORS[spec["framework"]].partition(":")
            cls = getattr(importlib.import_module(module), attr)
        est = cls.from_spec(spec, session=sess)
        est.latest_training_job = handle
        return est

    @classmethod
    def from_spec(cls, spec: dict, *, session=None) -> Estimator:
        """An estimator for a ``TrainingJob`` spec (as JSON): what ``fit`` would submit again."""
        return cls(
            entry_point=spec.get("entry_point"),
            source_dir=spec.get("source_dir"),
            hyperparameters=spec.get("hyperparameters"),
            instance_count=spec.get("instance_count", 1),
            instance_type=spec.get("instance_type", "cpu.1"),
            environment=spec.get("environment"),
            metric_definitions=spec.get("metric_definitions"),
            checkpoint_s3_uri=spec.get("checkpoint_uri"),
            max_run=spec.get("max_run"),
            max_retry_attempts=spec.get("max_retry_attempts", 0),
            output_path=spec.get("output_path"),
            algorithm=spec.get("algorithm"),
            label=spec.get("label"),
            recipe=spec.get("recipe"),
            execution=spec.get("execution", "auto"),
            session=session,
        )

    # -- results ---------------------------------------------------------------------------
    @property
    def model_data(self) -> str:
        """URI of the last job's ``model.tar.gz``. Raises SpecError before a successful fit."""
        return self._result()["model_data"]

    @property
    def model_dir(self) -> str:
        """URI of the last job's unpacked model folder."""
        return self._result()["model_dir"]

    def metrics(self) -> list[dict]:
        """The last job's metric points (``name``, ``value``, ``step``, ``time``)."""
        from raymaker.storage import layout
        from raymaker.train.metrics import read_series

        job = self._job()
        return read_series(self._session().store, layout.job_metrics(job.name))

    def describe(self):
        """The last job's record."""
        return self._job().describe()

    def logs(self) -> None:
        """Print the last job's logs (SageMaker's ``estimator.logs()``)."""
        print(self._job().logs(), end="")

    @property
    def training_job_analytics(self):
        """The last job's metrics as SageMaker's ``TrainingJobAnalytics``: ``dataframe()``
        has ``timestamp``, ``metric_name``, ``value`` (and raymaker's ``step``)."""
        return TrainingJobAnalytics(self.metrics())

    def create_model(
        self, entry_point: str | None = None, source_dir: str | None = None, **kwargs: Any
    ):
        """A ``Model`` of the last job's artifact. A script-mode job's own script (in its staged
        source folder) is the handler unless ``entry_point`` names another."""
        import importlib

        from raymaker.sagemaker.model import Model

        spec = self._job().describe().spec
        if self.entry_point and entry_point is None and self._script_serves:
            entry_point = spec.get("entry_point") or self.entry_point
            source_dir = source_dir or spec.get("source_dir")
        cls = Model
        if self.entry_point and self._script_model:  # a framework script: its predictor
            module, _, attr = self._script_model.partition(":")
            cls = getattr(importlib.import_module(module), attr)
        return cls(
            model_data=self.model_data,
            entry_point=entry_point,
            source_dir=source_dir,
            session=self._session(),
            **kwargs,
        )

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "cpu.1",
        serializer=None,
        deserializer=None,
        endpoint_name: str | None = None,
        *,
        entry_point: str | None = None,
        source_dir: str | None = None,
        **kwargs: Any,
    ):
        """Host the last job's model on an endpoint; returns its ``Predictor``.

        Takes ``Model.deploy``'s arguments (autoscaling, serverless_inference_config,
        data_capture_config, ...). Raises SpecError before a successful fit.
        """
        model = self.create_model(entry_point=entry_point, source_dir=source_dir)
        return model.deploy(
            initial_instance_count,
            instance_type,
            serializer,
            deserializer,
            endpoint_name or self._job().name,
            **kwargs,
        )

    def register(
        self,
        content_types: list[str] | None = None,
        response_types: list[str] | None = None,
        inference_instances: list[str] | None = None,
        transform_instances: list[str] | None = None,
        model_package_group_name: str | None = None,
        *,
        approval_status: str | None = None,
        description: str | None = None,
        customer_metadata_properties: dict | None = None,
        customer_metadata: dict | None = None,
        **kwargs: Any,
    ):
        """Register the last job's model as the next version of ``model_package_group_name``,
        with its metrics and lineage (SageMaker's ``estimator.register``)."""
        model = self.create_model()
        return model.register(
            content_types, response_types, inference_instances, transform_instances,
            model_package_group_name, approval_status=approval_status, description=description,
            customer_metadata_properties=customer_metadata_properties,
            customer_metadata=customer_metadata, **kwargs,
        )  # fmt: skip

    def transformer(
        self,
        instance_count: int = 1,
        instance_type: str = "cpu.1",
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        *,
        entry_point: str | None = None,
        source_dir: str | None = None,
        **kwargs: Any,
    ):
        """A ``Transformer`` for the last job's model (a script-mode job's own script is its
        handler). Takes ``Model.transformer``'s arguments. Raises SpecError before a fit."""
        model = self.create_model(entry_point=entry_point, source_dir=source_dir)
        return model.transformer(
            instance_count, instance_type, strategy, assemble_with, output_path, **kwargs
        )

    def _job(self):
        if self.latest_training_job is None:
            raise SpecError("this estimator has not been fit (or attached) yet")
        return self.latest_training_job

    def _result(self) -> dict:
        record = self._job().describe()
        if record.status.value != "SUCCEEDED":
            raise SpecError(f"training job {record.name} is {record.status.value}: no model yet")
        return record.result


# SageMaker arguments that have no meaning here and are accepted so scripts run unchanged.
# SDK v1's names and framework-only arguments, taken silently (the surface table holds the
# v2 arguments that are accepted and ignored, each with a notice)
_LEGACY_ARGS = frozenset(
    {"image_name", "train_instance_count", "train_instance_type", "script_mode", "distribution"}
)


class TrainingJobAnalytics:
    """A training job's metric points, as SageMaker's ``TrainingJobAnalytics`` shows them."""

    def __init__(self, points: list[dict]):
        self.points = points

    def dataframe(self, force_refresh: bool = False):
        import pandas as pd

        rows = [
            {"timestamp": p.get("time"), "metric_name": p["name"], "value": p["value"],
             "step": p.get("step")}
            for p in self.points
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["timestamp", "metric_name", "value", "step"])


def _channels(inputs) -> dict[str, str]:
    if inputs is None:
        return {}
    if isinstance(inputs, str | TrainingInput):
        inputs = {"train": inputs}
    out = {}
    for name, value in dict(inputs).items():
        uri = getattr(value, "s3_data", value)
        if not isinstance(uri, str) and not hasattr(uri, "expr"):  # a URI or a pipeline variable
            raise SpecError(f"inputs.{name}: expected a URI or TrainingInput, got {value!r}")
        out[name] = uri
    return out


surface.install(Estimator, "Estimator")
