"""SageMaker SDK v2's hosting surface: ``Model``, ``Predictor`` and the deploy configs."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from typing import Any

from raymaker.errors import AuthError, NotFound, RaymakerError, SpecError
from raymaker.serve.serializers import CSVSerializer, JSONDeserializer


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


class ServerlessInferenceConfig:
    """Serverless: scale to zero after ``idle_timeout_s``, at most ``max_concurrency`` in flight."""

    def __init__(
        self,
        memory_size_in_mb: int = 2048,
        max_concurrency: int = 5,
        idle_timeout_s: float = 300.0,
        **_ignored: Any,
    ):
        self.memory_size_in_mb = memory_size_in_mb
        self.max_concurrency = max_concurrency
        self.idle_timeout_s = idle_timeout_s

    def to_spec(self) -> dict:
        return dict(vars(self))


class DataCaptureConfig:
    """Capture ``sampling_percentage`` of requests and responses under ``destination_uri``."""

    def __init__(
        self,
        enable_capture: bool = True,
        sampling_percentage: float = 20,
        destination_s3_uri: str | None = None,
        *,
        destination_uri: str | None = None,
        **_ignored: Any,
    ):
        self.enable_capture = enable_capture
        self.sampling_percentage = sampling_percentage
        self.destination_uri = destination_uri or destination_s3_uri

    def to_spec(self) -> dict | None:
        if not self.enable_capture:
            return None
        return {
            "sampling_percentage": self.sampling_percentage,
            "destination_uri": self.destination_uri,
        }


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


class Model:
    """A model artifact to host: ``model_data`` (a URI) and optionally the handler code."""

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
        **_ignored: Any,
    ):
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
        return Predictor(
            spec.name, session=session, serializer=serializer, deserializer=deserializer
        )

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
        from raymaker.registry.registry import ModelRegistry

        if not model_package_group_name:
            raise SpecError("model_package_group_name: the model group to register into")
        if not self.model_data:
            raise SpecError("model_data: the model's URI is required")
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
        from raymaker.batch.transformer import Transformer

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
            session=self.session,
            **kwargs,
        )

    def _session(self):
        if self.session is None:
            from raymaker.session import Session

            self.session = Session()
        return self.session


class Predictor:
    """Call an endpoint over HTTP, as SageMaker's ``Predictor`` does."""

    def __init__(
        self,
        endpoint_name: str,
        sagemaker_session=None,
        serializer=None,
        deserializer=None,
        *,
        session=None,
    ):
        self.endpoint_name = endpoint_name
        self.session = session or sagemaker_session
        self.serializer = serializer or CSVSerializer()
        self.deserializer = deserializer or JSONDeserializer()
        self._conn = None
        self._url = None

    def __repr__(self) -> str:
        return f"Predictor(endpoint_name={self.endpoint_name!r})"

    @property
    def content_type(self) -> str:
        return self.serializer.CONTENT_TYPE

    @property
    def accept(self) -> tuple[str, ...]:
        return tuple(self.deserializer.ACCEPT)

    def predict(
        self,
        data,
        initial_args: dict | None = None,
        target_model: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
        custom_attributes: str | None = None,
    ):
        """The deserialized answer. Raises SpecError (4xx), RaymakerError (5xx), NotFound."""
        headers = request_headers(
            self.content_type, ", ".join(self.accept), variant=target_variant,
            target_model=target_model, custom_attributes=custom_attributes,
            inference_id=inference_id,
        )  # fmt: skip
        for key, value in (initial_args or {}).items():
            if key == "ContentType":
                headers["Content-Type"] = value
            elif key == "Accept":
                headers["Accept"] = value
        status, reply_headers, body = self.invoke(self.serializer.serialize(data), headers)
        return self.deserializer.deserialize(body, reply_headers.get("content-type", ""))

    def invoke(self, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
        """POST ``body``; ``(status, headers, body)`` of a 200. Raises on an error status."""
        session = self._session()
        if self._url is None:
            self._url = urllib.parse.urlsplit(session.endpoints.url(self.endpoint_name))
        token = session.settings.serve_token
        if token:
            headers = {**headers, "Authorization": f"Bearer {token}"}
        for attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(
                        self._url.hostname, self._url.port, timeout=300
                    )
                self._conn.request("POST", self._url.path, body=body, headers=headers)
                reply = self._conn.getresponse()
                data = reply.read()
                break
            except (http.client.HTTPException, OSError):
                self._conn = None
                if attempt:
                    raise
        reply_headers = {k.lower(): v for k, v in reply.getheaders()}
        if reply.status != 200:
            raise _error(reply.status, data)
        return reply.status, reply_headers, data

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        self._session().endpoints.delete(self.endpoint_name)

    def describe(self) -> dict:
        return self._session().endpoints.describe(self.endpoint_name)

    def update_endpoint(
        self, model=None, initial_instance_count: int | None = None, **_ignored: Any
    ) -> None:
        """Roll the endpoint to another model (a ``Model`` or a URI) or replica count; no
        request fails meanwhile."""
        spec = {}
        if model is not None:
            m = model if isinstance(model, Model) else Model(model_data=model)
            spec = {
                k: v
                for k, v in m.variant_spec().items()
                if k in ("model_data", "entry_point", "source_dir")
            }
        self._session().endpoints.roll(
            self.endpoint_name, instance_count=initial_instance_count, **spec
        )

    def _session(self):
        if self.session is None:
            from raymaker.session import Session

            self.session = Session()
        return self.session


def request_headers(content_type: str, accept: str | None = None, *, variant: str | None = None,
                    target_model: str | None = None, custom_attributes: str | None = None,
                    inference_id: str | None = None) -> dict[str, str]:  # fmt: skip
    """InvokeEndpoint's request headers, the unset ones left out."""
    headers = {"Content-Type": content_type}
    for header, value in (
        ("Accept", accept),
        ("X-Amzn-SageMaker-Target-Variant", variant),
        ("X-Amzn-SageMaker-Target-Model", target_model),
        ("X-Amzn-SageMaker-Custom-Attributes", custom_attributes),
        ("X-Amzn-SageMaker-Inference-Id", inference_id),
    ):
        if value:
            headers[header] = value
    return headers


def _error(status: int, body: bytes) -> RaymakerError:
    import json

    try:
        message = json.loads(body).get("message") or body.decode()
    except ValueError:
        message = body.decode("utf-8", errors="replace")
    cls = {401: AuthError, 404: NotFound}.get(
        status, SpecError if 400 <= status < 500 else RaymakerError
    )
    err = cls(f"HTTP {status}: {message}")
    err.http_status = status
    return err


def _default_name() -> str:
    return time.strftime("endpoint-%Y%m%d-%H%M%S")
