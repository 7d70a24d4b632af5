"""``sagemaker.model``: ``Model`` (deploy, register, transformer), ``ProductionVariant`` and
raymaker's ``AutoscalingConfig``. ``Predictor`` is in ``predictor``, as in SDK v2."""

from __future__ import annotations

import time
from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker import surface
from raymaker.sagemaker.predictor import Predictor
from raymaker.sagemaker.session import UsesSession


class AutoscalingConfig:
    """Replicas between ``min_replicas`` (0: scale to zero) and ``max_replicas``."""

    def __init__(
        self, min_replicas: int = 1, max_replicas: int = 1, target_concurrency: float = 2.0
    ):
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.target_concurrency = target_concurrency

    def to_spec(self) -> dict:
        return dict(vars(self))


class ProductionVariant:
    """One variant of an endpoint: a model, its share of traffic, or a shadow copy."""

    def __init__(
        self,
        model,
        variant_name: str,
        initial_weight: float = 1.0,
        initial_instance_count: int = 1,
        instance_type: str = "cpu.1",
        shadow: bool = False,
    ):
        self.model = model
        self.variant_name = variant_name
        self.initial_weight = initial_weight
        self.initial_instance_count = initial_instance_count
        self.instance_type = instance_type
        self.shadow = shadow

    def to_spec(self) -> dict:
        model = self.model if isinstance(self.model, Model) else Model(model_data=self.model)
        return {
            **model.variant_spec(),
            "name": self.variant_name,
            "weight": self.initial_weight,
            "instance_count": self.initial_instance_count,
            "instance_type": self.instance_type,
            "shadow": self.shadow,
        }


class Model(UsesSession):
    """A model artifact to host: ``model_data`` (a URI) and optionally the handler code.

    ``predictor_cls`` is what ``deploy`` returns (SageMaker's argument); each framework's
    model class sets its framework's predictor, with that framework's content types.
    """

    predictor_cls = None  # a Predictor subclass; None: Predictor (CSV in, JSON out)
    # A framework model's: a model.tar.gz made elsewhere is served as SageMaker's container of
    # this framework serves it (inference.frameworks); raymaker's own artifacts say their own.
    _framework: str | None = None

    def __init__(
        self,
        model_data: str | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        name: str | None = None,
        *,
        multi_model: bool = False,
        sagemaker_session=None,
        session=None,
        image_uri: str | None = None,
        role: str | None = None,
        framework_version: str | None = None,
        py_version: str | None = None,
        env: dict | None = None,
        predictor_cls=None,
        **kwargs: Any,
    ):
        unknown = sorted(set(kwargs) - surface.ignored_args("Model") - _FRAMEWORK_ARGS)
        if unknown:
            raise SpecError(f"{type(self).__name__}: unknown argument(s): {', '.join(unknown)}")
        surface.ignored("Model", {"role": role, "image_uri": image_uri, **kwargs})
        if predictor_cls is not None:
            self.predictor_cls = predictor_cls
        self.model_data = model_data
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.name = name
        self.multi_model = multi_model
        self.session = session or sagemaker_session
        self.image_uri = image_uri  # accepted for SageMaker scripts; there are no images
        self.role = role
        self.framework_version = framework_version
        self.py_version = py_version
        self.env = dict(env or {})
        self.endpoint_name = None

    def __repr__(self) -> str:
        return f"Model(model_data={self.model_data!r}, entry_point={self.entry_point!r})"

    def variant_spec(self) -> dict:
        if not self.model_data:
            raise SpecError("model_data: the model's URI is required")
        spec = {"model_data": self.model_data, "multi_model": self.multi_model}
        if self._framework:
            spec["framework"] = self._framework
        if self.env:
            spec["environment"] = dict(self.env)
        if self.entry_point:
            spec.update(entry_point=self.entry_point, source_dir=self.source_dir)
        return spec

    def endpoint_spec(
        self,
        endpoint_name: str | None = None,
        initial_instance_count: int = 1,
        instance_type: str = "cpu.1",
        *,
        autoscaling=None,
        serverless_inference_config=None,
        data_capture_config=None,
        variants=None,
    ):
        """The ``Endpoint`` spec ``deploy`` would create."""
        from raymaker.specs import parse_spec

        name = endpoint_name or self.name or _default_name()
        if variants:
            rows = [v.to_spec() if isinstance(v, ProductionVariant) else dict(v) for v in variants]
        else:
            rows = [
                {
                    **self.variant_spec(),
                    "name": "AllTraffic",
                    "instance_count": initial_instance_count,
                    "instance_type": instance_type,
                }
            ]
        raw = {"name": name, "variants": rows}
        if autoscaling is not None:
            raw["autoscaling"] = (
                autoscaling.to_spec() if hasattr(autoscaling, "to_spec") else autoscaling
            )
        if serverless_inference_config is not None:
            s = serverless_inference_config
            raw["serverless"] = s.to_spec() if hasattr(s, "to_spec") else s
        if data_capture_config is not None:
            d = data_capture_config
            capture = d.to_spec() if hasattr(d, "to_spec") else d
            if capture:
                raw["data_capture"] = capture
        return parse_spec({"kind": "Endpoint", **raw}, source="deploy")

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "cpu.1",
        serializer=None,
        deserializer=None,
        endpoint_name: str | None = None,
        *,
        autoscaling=None,
        serverless_inference_config=None,
        data_capture_config=None,
        variants=None,
        update_endpoint: bool = False,
        wait: bool = True,
        **_ignored: Any,
    ):
        """Create (or with ``update_endpoint``, update) the endpoint; returns its Predictor.

        Raises SpecError, NotFound, Conflict (the name is taken), ClusterError.
        """
        spec = self.endpoint_spec(
            endpoint_name,
            initial_instance_count,
            instance_type,
            autoscaling=autoscaling,
            serverless_inference_config=serverless_inference_config,
            data_capture_config=data_capture_config,
            variants=variants,
        )
        session = self._session()
        session.endpoints.deploy(spec, update=update_endpoint)
        self.endpoint_name = spec.name
        return (self.predictor_cls or Predictor)(
            spec.name, session=session, serializer=serializer, deserializer=deserializer
        )

    def create(self, instance_type: str | None = None, accelerator_type: str | None = None,
               serverless_inference_config=None, tags=None, **_ignored: Any):  # fmt: skip
        """SageMaker's ``Model.create``: under a PipelineSession, a ModelStep's arguments;
        else the model's definition is kept in the store (``models/<name>/model.json``)."""
        from raymaker.sagemaker.workflow.entities import to_expressions
        from raymaker.sagemaker.workflow.pipeline_context import StepArguments, capturing

        if self.model_data is None:
            raise SpecError("model_data: the model's URI is required")
        args = {"model_data": self.model_data, "entry_point": self.entry_point,
                "source_dir": self.source_dir, "framework": self._framework,
                "name": self.name, "environment": self.env or None}  # fmt: skip
        args = to_expressions({k: v for k, v in args.items() if v is not None})
        if capturing(self.session):
            return StepArguments("Model", args)
        from raymaker.pipelines.steps import save_model

        default = time.strftime("model-%Y%m%d-%H%M%S")
        self.name = save_model(self._session().store, args, default=default)
        return None

    def delete_model(self) -> None:
        """SageMaker deletes its Model resource; raymaker has none apart from the artifact in the
        store (which stays, as SageMaker's S3 artifact does): nothing to do."""

    def register(
        self,
        content_types: list[str] | None = None,
        response_types: list[str] | None = None,
        inference_instances: list[str] | None = None,
        transform_instances: list[str] | None = None,
        model_package_group_name: str | None = None,
        image_uri: str | None = None,
        model_metrics=None,
        metadata_properties=None,
        marketplace_cert: bool = False,
        approval_status: str | None = None,
        description: str | None = None,
        customer_metadata_properties: dict | None = None,
        *,
        customer_metadata: dict | None = None,
        metrics: dict | None = None,
        lineage: dict | None = None,
        **_ignored: Any,
    ):
        """Register this model's artifact as the next version of ``model_package_group_name``
        (SageMaker's ``Model.register``); returns the ``ModelVersion``
        (``.model_package_arn`` is its ``registry://group/<n>`` reference)."""
        from raymaker.sagemaker.model_registry import ModelRegistry
        from raymaker.sagemaker.workflow.pipeline_context import StepArguments, capturing

        if model_package_group_name is None:
            raise SpecError("model_package_group_name: the model group to register into")
        if self.model_data is None:
            raise SpecError("model_data: the model's URI is required")
        if capturing(self.session):  # a pipeline's RegisterModel step
            from raymaker.sagemaker.workflow.entities import to_expressions

            args = {"model_data": self.model_data,
                    "model_package_group_name": model_package_group_name,
                    "approval_status": approval_status, "description": description,
                    "customer_metadata_properties": {**(customer_metadata_properties or {}),
                                                     **(customer_metadata or {})} or None,
                    "metrics": metrics, "entry_point": self.entry_point,
                    "source_dir": self.source_dir}  # fmt: skip
            return StepArguments(
                "RegisterModel", to_expressions({k: v for k, v in args.items() if v is not None})
            )
        return ModelRegistry(self._session()).register(
            model_package_group_name,
            self.model_data,
            approval_status=approval_status or "PendingManualApproval",
            description=description,
            customer_metadata={**(customer_metadata_properties or {}), **(customer_metadata or {})},
            metrics=metrics,
            lineage=lineage,
            entry_point=self.entry_point,
            source_dir=self.source_dir,
        )

    def transformer(
        self,
        instance_count: int = 1,
        instance_type: str = "cpu.1",
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        output_kms_key: str | None = None,
        accept: str | None = None,
        env: dict | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        **kwargs: Any,
    ):
        """A ``Transformer`` for batch predictions with this model and its handler."""
        from raymaker.sagemaker.transformer import Transformer

        return Transformer(
            instance_count=instance_count,
            instance_type=instance_type,
            strategy=strategy,
            assemble_with=assemble_with,
            output_path=output_path,
            accept=accept,
            max_concurrent_transforms=max_concurrent_transforms,
            max_payload=max_payload,
            env={**self.env, **(env or {})},
            model_data=self.model_data,
            entry_point=self.entry_point,
            source_dir=self.source_dir,
            framework=self._framework,
            session=self.session,
            **kwargs,
        )


# framework models' own arguments (a model server's worker count), taken silently
_FRAMEWORK_ARGS = frozenset({"model_server_workers"})


def _default_name() -> str:
    return time.strftime("endpoint-%Y%m%d-%H%M%S")


surface.install(Model, "Model")
