"""``sagemaker.predictor``: ``Predictor`` calls an endpoint over HTTP, as SageMaker's does."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Any

from raymaker.errors import AuthError, ClusterError, NotFound, RaymakerError, SpecError
from raymaker.sagemaker import surface
from raymaker.sagemaker.deserializers import JSONDeserializer, NumpyDeserializer
from raymaker.sagemaker.serializers import CSVSerializer, NumpySerializer
from raymaker.sagemaker.session import UsesSession


class Predictor(UsesSession):
    """Call an endpoint over HTTP, as SageMaker's ``Predictor`` does. A framework's predictor
    (``SKLearnPredictor``, ``PyTorchPredictor``) only changes the two defaults."""

    default_serializer = CSVSerializer
    default_deserializer = JSONDeserializer

    def __init__(
        self,
        endpoint_name: str,
        sagemaker_session=None,
        serializer=None,
        deserializer=None,
        component_name: str | None = None,
        *,
        session=None,
    ):
        surface.ignored("Predictor", {"component_name": component_name})
        self.endpoint_name = endpoint_name
        self.session = session or sagemaker_session
        self.serializer = serializer or self.default_serializer()
        self.deserializer = deserializer or self.default_deserializer()
        self._conn = None
        self._url = None

    def __repr__(self) -> str:
        return f"Predictor(endpoint_name={self.endpoint_name!r})"

    @property
    def endpoint(self) -> str:
        """SageMaker's older name of ``endpoint_name``."""
        return self.endpoint_name

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
        """POST ``body``; ``(status, headers, body)`` of a 200. Raises on an error status, and
        ClusterError when the gateway does not answer."""
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
            except (http.client.HTTPException, OSError) as e:
                self._conn = None
                if attempt:
                    where = f"{self._url.hostname}:{self._url.port}"
                    raise ClusterError(
                        f"endpoint {self.endpoint_name!r}: the endpoints' gateway at {where} "
                        f"does not answer ({type(e).__name__}: {e}); is the cluster up?"
                    ) from e
        reply_headers = {k.lower(): v for k, v in reply.getheaders()}
        if reply.status != 200:
            raise _error(reply.status, data)
        return reply.status, reply_headers, data

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        self._session().endpoints.delete(self.endpoint_name)

    def delete_model(self) -> None:
        """SageMaker deletes the endpoint's Model resource; raymaker has none apart from the
        artifact in the store (which stays, as SageMaker's S3 artifact does): nothing to do."""

    def list_monitors(self) -> list:
        """The monitors of this endpoint's schedules (``DefaultModelMonitor``,
        ``ModelQualityMonitor``, ``ModelBiasMonitor``, ``ModelExplainabilityMonitor``)."""
        from raymaker.sagemaker import model_monitor

        kinds = {"DataQuality": model_monitor.DefaultModelMonitor,
                 "ModelQuality": model_monitor.ModelQualityMonitor,
                 "ModelBias": model_monitor.ModelBiasMonitor,
                 "ModelExplainability": model_monitor.ModelExplainabilityMonitor}  # fmt: skip
        sess = self._session()
        return [
            kinds[s["MonitoringType"]].attach(s["MonitoringScheduleName"], sagemaker_session=sess)
            for s in sess.monitors.list()
            if s["EndpointName"] == self.endpoint_name
        ]

    def describe(self) -> dict:
        return self._session().endpoints.describe(self.endpoint_name)

    def update_endpoint(
        self, model=None, initial_instance_count: int | None = None, **_ignored: Any
    ) -> None:
        """Roll the endpoint to another model (a ``Model`` or a URI) or replica count; no
        request fails meanwhile."""
        spec = {}
        if model is not None:
            from raymaker.sagemaker.model import Model

            m = model if isinstance(model, Model) else Model(model_data=model)
            spec = {
                k: v
                for k, v in m.variant_spec().items()
                if k in ("model_data", "entry_point", "source_dir", "framework")
            }
        self._session().endpoints.roll(
            self.endpoint_name, instance_count=initial_instance_count, **spec
        )


surface.install(Predictor, "Predictor")


class NumpyPredictor(Predictor):
    """NumPy in, NumPy out (``application/x-npy``): the defaults of SageMaker's scikit-learn
    and PyTorch predictors, so ``predict(ndarray)`` gets an ndarray back."""

    default_serializer = NumpySerializer
    default_deserializer = NumpyDeserializer


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
