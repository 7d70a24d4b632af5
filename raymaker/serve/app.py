"""One model as a plain Serve application, for deployments that Serve's own config manages:
KubeRay's ``RayService`` (``serveConfigV2``) or ``serve run``.

    applications:
      - name: churn
        import_path: raymaker.serve.app:build
        args: {model_data: "registry://churn/approved"}

It answers SageMaker's ``POST /invocations`` and ``GET /ping`` under the application's route
prefix through Serve's HTTP proxy, with the endpoints' handler (built-in with its recipe, or
``entry_point`` hooks). raymaker's own endpoints (``raymaker deploy``) are faster: their
gateway beats Serve's proxy ~30x here; this is the path for clusters whose serving is
declared in Kubernetes.
"""

from __future__ import annotations

import tempfile

from ray import serve

from raymaker.errors import SpecError


class ModelServer:
    """The deployment: the handler loaded once a replica."""

    def __init__(self, model_data: str, entry_point: str | None = None,
                 source_dir: str | None = None):  # fmt: skip
        from raymaker.inference.reference import load, resolve
        from raymaker.settings import Settings
        from raymaker.storage.store import store_for_settings

        settings = Settings.from_env()
        ref = resolve(store_for_settings(settings), model_data, entry_point=entry_point,
                      code_uri=source_dir, store_env=settings.job_env())  # fmt: skip
        self.handler = load(ref, tempfile.mkdtemp(prefix="raymaker-app-"))

    async def __call__(self, request):
        from starlette.responses import Response as HTTPResponse

        from raymaker.inference.handler import Request

        path = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if request.method == "GET" and path in ("ping", ""):
            return HTTPResponse(b"", status_code=200)
        if request.method != "POST" or path != "invocations":
            return HTTPResponse(b'{"error": "NotFound", "message": "POST /invocations"}',
                                status_code=404, media_type="application/json")  # fmt: skip
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer = self.handler.invoke([Request(
            await request.body(), headers.get("content-type", "text/csv"),
            headers.get("accept"), headers,
        )])[0]  # fmt: skip
        return HTTPResponse(answer.body, status_code=answer.status, media_type=answer.content_type)


def build(args: dict):
    """Serve's application builder: ``args`` are ``model_data`` (a URI or registry
    reference), and optionally ``entry_point``, ``source_dir``, ``num_replicas``."""
    if not args.get("model_data"):
        raise SpecError("args.model_data: the model's URI or registry reference is required")
    options = {"num_replicas": int(args.get("num_replicas", 1))}
    deployment = serve.deployment(ModelServer).options(name="model", **options)
    return deployment.bind(args["model_data"], args.get("entry_point"), args.get("source_dir"))
