"""``Session().sagemaker_runtime_client``: boto3's ``sagemaker-runtime`` client, for notebooks
that call ``invoke_endpoint`` directly instead of through a ``Predictor``.

    runtime = sess.sagemaker_runtime_client
    reply = runtime.invoke_endpoint(EndpointName="churn", ContentType="text/csv", Body="1,2,3")
    reply["Body"].read()
"""

from __future__ import annotations

import io

from raymaker.sagemaker.predictor import Predictor, request_headers


class RuntimeClient:
    """``invoke_endpoint`` with boto3's argument and reply shapes, over the endpoint's HTTP."""

    def __init__(self, session):
        self._session = session
        self._predictors: dict[str, Predictor] = {}

    def invoke_endpoint(self, *, EndpointName: str, Body, ContentType: str = "text/csv",  # noqa: N803 - boto3's names
                        Accept: str | None = None, CustomAttributes: str | None = None,
                        TargetModel: str | None = None, TargetVariant: str | None = None,
                        InferenceId: str | None = None, **_aws_only) -> dict:  # fmt: skip
        """A dict like boto3's: ``Body`` (a stream: ``.read()``), ``ContentType``,
        ``InvokedProductionVariant``, ``CustomAttributes``. Raises what ``Predictor.predict``
        raises (SpecError for a 4xx, NotFound for an unknown endpoint)."""
        predictor = self._predictors.get(EndpointName)
        if predictor is None:
            predictor = Predictor(EndpointName, session=self._session)
            self._predictors[EndpointName] = predictor
        if hasattr(Body, "read"):  # a file object, as boto3 takes
            Body = Body.read()  # noqa: N806
        body = Body.encode() if isinstance(Body, str) else bytes(Body)
        headers = request_headers(ContentType, Accept, variant=TargetVariant,
                                  target_model=TargetModel, custom_attributes=CustomAttributes,
                                  inference_id=InferenceId)  # fmt: skip
        _, reply, data = predictor.invoke(body, headers)
        return {
            "Body": io.BytesIO(data),
            "ContentType": reply.get("content-type", ""),
            "InvokedProductionVariant": reply.get("x-amzn-invoked-production-variant", ""),
            "CustomAttributes": reply.get("x-amzn-sagemaker-custom-attributes", ""),
        }
