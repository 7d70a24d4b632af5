"""A session's endpoints: the ``serve`` engine's control plane plus ``invoke`` over HTTP.

``session.endpoints`` is what the CLI and notebooks call; deploying, updating and deleting are
the engine's (``raymaker.serve.endpoints``), invoking is the SDK's ``Predictor``.
"""

from __future__ import annotations

from raymaker.serve.endpoints import Endpoints as _Endpoints


class Endpoints(_Endpoints):
    """Deploy, update, describe, list, invoke and delete endpoints of one session."""

    def __init__(self, session):
        self.session = session
        super().__init__(session.settings, session.store)

    def invoke(
        self,
        name: str,
        body: bytes,
        *,
        content_type: str = "text/csv",
        accept: str | None = None,
        variant: str | None = None,
        target_model: str | None = None,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> tuple[dict, bytes]:
        """POST ``body`` to the endpoint over HTTP; ``(response headers, body)``.

        Raises SpecError (4xx), NotFound, AuthError, RaymakerError (5xx), ClusterError (the
        gateway does not answer).
        """
        from raymaker.sagemaker.predictor import Predictor, request_headers

        headers = request_headers(
            content_type, accept, variant=variant, target_model=target_model,
            custom_attributes=custom_attributes, inference_id=inference_id,
        )  # fmt: skip
        _, reply_headers, data = Predictor(name, session=self.session).invoke(body, headers)
        return reply_headers, data
