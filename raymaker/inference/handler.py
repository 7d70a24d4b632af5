"""The one inference handler behind endpoints and batch transform.

``Handler.load(model_dir, code_dir, entry_point)`` verifies the artifact and picks:

- **hooks** from the user's module (SageMaker's inference-toolkit contract): ``model_fn``,
  ``input_fn``, ``predict_fn``, ``output_fn`` or ``transform_fn``, each missing one replaced
  by a default. A hook that takes one parameter more than the contract gets a ``Context``:
  the request's headers, the endpoint, the variant and the target model.
- **built-in** otherwise: raymaker's own artifacts (XGBoost, LightGBM, torch, scikit-learn)
  with the fitted recipe applied. Requests handled together are predicted as one matrix.

``invoke(requests)`` answers each request on its own: a bad body is a 4xx for that request
only, a model error a 500 naming the cause, and the handler keeps serving.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
import traceback
from dataclasses import dataclass, field

from raymaker.errors import DataError, RaymakerError, SpecError
from raymaker.inference import codecs, frameworks

log = logging.getLogger(__name__)
HOOKS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


@dataclass
class Request:
    body: bytes
    content_type: str = codecs.CSV
    accept: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = codecs.JSON

    @classmethod
    def error(cls, status: int, message: str, kind: str = "ModelError") -> Response:
        import json

        return cls(status, json.dumps({"error": kind, "message": message}).encode())


@dataclass
class Context:
    """What a hook may want beyond the body: SageMaker's toolkit hides the headers."""

    headers: dict[str, str]
    endpoint: str | None = None
    variant: str | None = None
    target_model: str | None = None

    @property
    def custom_attributes(self) -> str | None:
        return self.headers.get("x-amzn-sagemaker-custom-attributes")


class Handler:
    """Serve one model. Build with ``Handler.load``."""

    def __init__(
        self,
        model_dir: str,
        manifest: dict,
        hooks: dict | None,
        model,
        *,
        endpoint: str | None = None,
        variant: str | None = None,
    ):
        self.model_dir = model_dir
        self.manifest = manifest
        self.hooks = hooks
        self.model = model
        self.endpoint = endpoint
        self.variant = variant
        self.default_accept = None  # a framework container's answer type when Accept is */*
        self.fused = frameworks.fused(hooks) if hooks else None

    @classmethod
    def load(
        cls,
        model_dir: str,
        code_dir: str | None = None,
        entry_point: str | None = None,
        *,
        framework: str | None = None,
        endpoint: str | None = None,
        variant: str | None = None,
    ) -> Handler:
        """Verify ``model_dir`` and load the model. A folder with no raymaker manifest is a
        model made elsewhere (already checked against its pin): ``framework``'s container
        defaults stand in for the hooks its ``entry_point`` does not define.
        Raises SpecError, DataError, NotFound."""
        from raymaker.inference.builtin import container_serves
        from raymaker.storage.artifacts import MANIFEST, verify

        if os.path.exists(os.path.join(model_dir, MANIFEST)):
            manifest = verify(model_dir)
        else:
            manifest = {"framework": framework, "foreign": True}
        framework = manifest.get("framework") or framework
        container = container_serves(manifest)
        # A framework script with no hooks (its training script) is served by the defaults.
        optional = container and frameworks.has_model_fn(framework)
        hooks = _load_hooks(code_dir, entry_point, optional) if entry_point else None
        if container:  # the framework container's defaults fill what the module leaves out
            hooks = {**frameworks.defaults(framework), **(hooks or {})}
            if "model_fn" not in hooks:
                raise SpecError(
                    f"a {framework or 'custom'} model raymaker did not train needs an "
                    "entry_point with model_fn (SageMaker's container has no default for it)"
                )
        if hooks and "model_fn" in hooks:
            model = _call(hooks["model_fn"], 1, model_dir, ctx=None)
        else:
            from raymaker.inference.builtin import load_builtin

            model = load_builtin(model_dir, manifest)
        handler = cls(model_dir, manifest, hooks, model, endpoint=endpoint, variant=variant)
        if container:
            handler.default_accept = frameworks.DEFAULT_ACCEPT.get(framework or "", codecs.JSON)
        return handler

    @property
    def columns(self) -> list[str]:
        return list(getattr(self.model, "columns", []) or [])

    def invoke(self, requests: list[Request]) -> list[Response]:
        """One response per request, in order; never raises."""
        try:
            if self.hooks:
                return [self._custom(r) for r in requests]
            return self._builtin(requests)
        except Exception as e:  # noqa: BLE001 - last resort: the replica must keep serving
            log.error("the handler failed\n%s", traceback.format_exc())
            return [Response.error(500, f"the handler failed: {type(e).__name__}")] * len(requests)

    # -- built-in ----------------------------------------------------------------------------
    def _builtin(self, requests: list[Request]) -> list[Response]:
        out: list[Response | None] = [None] * len(requests)
        frames, accepts, index = [], [], []
        parse = getattr(self.model, "parse_matrix", None)
        columns = self.model.columns
        schema = self.manifest.get("input_schema") or {}
        for i, r in enumerate(requests):
            try:
                kind = codecs.media_type(r.content_type, default=codecs.CSV)
                accept = codecs.negotiate(r.accept, kind)
                codecs.check_shape(r.body, kind, columns)
                matrix = parse(r.body) if parse is not None and kind == codecs.CSV else None
                if matrix is None:
                    matrix = codecs.decode_rows(r.body, r.content_type, columns)
                    codecs.check_frame(matrix, schema, kind)
                frames.append(matrix)
                accepts.append(accept)
                index.append(i)
            except RaymakerError as e:
                out[i] = Response.error(e.http_status, str(e), type(e).__name__)
            except Exception as e:  # noqa: BLE001 - whatever a body does to a parser is a 400
                out[i] = Response.error(
                    400,
                    f"{r.content_type}: the body could not be read ({type(e).__name__})",
                    "SpecError",
                )
        if not index:
            return out
        try:
            both = self._predict_all(frames)
            parts = _split(both, [len(f) for f in frames])
        except Exception:  # noqa: BLE001 - isolate the request that broke the batch
            parts = [self._predict_one(f) for f in frames]
        for i, accept, part in zip(index, accepts, parts, strict=True):
            if isinstance(part, Response):
                out[i] = part
                continue
            try:
                out[i] = Response(200, self.model.encode(part[1], part[0], accept), accept)
            except RaymakerError as e:
                out[i] = Response.error(e.http_status, str(e), type(e).__name__)
        return out

    def _predict_all(self, frames: list):
        import numpy as np
        import pandas as pd

        if all(isinstance(f, np.ndarray) for f in frames):
            return self.model.predict_matrix(
                np.concatenate(frames) if len(frames) > 1 else frames[0]
            )
        frames = [self._frame(f) for f in frames]
        return self.model.predict(
            pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        )

    def _frame(self, part):
        import numpy as np
        import pandas as pd

        return (
            pd.DataFrame(part, columns=self.model.columns) if isinstance(part, np.ndarray) else part
        )

    def _predict_one(self, frame):
        try:
            return self._predict_all([frame])
        except RaymakerError as e:
            return Response.error(e.http_status, str(e), type(e).__name__)
        except Exception as e:  # noqa: BLE001 - a model error answers, never crashes the replica
            return _model_error(e)

    # -- hooks -------------------------------------------------------------------------------
    def _custom(self, r: Request) -> Response:
        hooks = self.hooks
        ctx = Context(
            headers=r.headers,
            endpoint=self.endpoint,
            variant=self.variant,
            target_model=r.headers.get("x-amzn-sagemaker-target-model"),
        )
        content_type = codecs.media_type(r.content_type, default=codecs.CSV)
        try:
            accept = _accept(r.accept, content_type, self.default_accept)
            body = _as_hooks_get_it(r.body, (r.content_type or codecs.CSV).split(";")[0])
            if "transform_fn" in hooks:
                result = _call(
                    hooks["transform_fn"], 4, self.model, body, content_type, accept, ctx=ctx
                )
            else:
                prediction = self._predict(hooks, body, content_type, r.body, ctx)
                result = (
                    _call(hooks["output_fn"], 2, prediction, accept, ctx=ctx)
                    if "output_fn" in hooks
                    else codecs.encode_value(prediction, accept)
                )
        except RaymakerError as e:
            return Response.error(e.http_status, str(e), type(e).__name__)
        except Exception as e:  # noqa: BLE001 - the user's code failed: answer, keep serving
            return _model_error(e)
        if isinstance(result, tuple) and len(result) == 2:
            result, accept = result
        if isinstance(result, str):
            result = result.encode()
        if not isinstance(result, (bytes, bytearray)):
            result = codecs.encode_value(result, accept)
        return Response(200, bytes(result), accept)

    def _predict(self, hooks: dict, body, content_type: str, raw: bytes, ctx):
        if self.fused is not None:  # the framework's default input_fn and predict_fn, fused
            return self.fused(body, content_type, self.model)
        data = (
            _call(hooks["input_fn"], 2, body, content_type, ctx=ctx)
            if "input_fn" in hooks
            else codecs.decode_array(raw, content_type)
        )
        return (
            _call(hooks["predict_fn"], 2, data, self.model, ctx=ctx)
            if "predict_fn" in hooks
            else _default_predict(data, self.model)
        )


def _accept(accept: str | None, content_type: str, default: str | None = None) -> str:
    """The answer's type: ``Accept``'s; with none (or ``*/*``), a framework container's
    default, else the request's own type."""
    if not accept or accept.strip() == "*/*":
        return default or content_type
    try:
        return codecs.negotiate(accept, content_type)
    except SpecError:
        return (
            codecs.media_type(accept.split(",")[0]) or content_type
        )  # the user's output_fn decides


def _split(both, sizes: list[int]) -> list:
    scores, rows = both
    parts, start = [], 0
    for n in sizes:
        parts.append((scores[start : start + n], rows[start : start + n]))
        start += n
    return parts


def _model_error(e: Exception) -> Response:
    log.error("model error\n%s", traceback.format_exc())
    return Response.error(500, f"the model failed: {type(e).__name__}: {e}")


def _default_predict(data, model):
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):  # a torch module
        import numpy as np

        try:
            import torch
        except ImportError:  # pragma: no cover - no torch, not a torch model
            return model(data)
        with torch.no_grad():
            tensor = torch.as_tensor(np.asarray(data, dtype=np.float32))
            return model(tensor).cpu().numpy()
    raise SpecError("the model has no predict method: give predict_fn")


UTF8_TYPES = (codecs.CSV, codecs.JSON)  # what SageMaker's inference toolkit decodes to str


def _as_hooks_get_it(body: bytes, content_type: str):
    """The request body as SageMaker's inference toolkit hands it to ``input_fn`` and
    ``transform_fn``: ``str`` for CSV and JSON, ``bytes`` for everything else. Raises DataError
    (a 4xx answer) for a CSV or JSON body that is not UTF-8."""
    if content_type.strip().lower() not in UTF8_TYPES:  # as sent: text/plain stays bytes
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as e:
        where = f"{e.reason} at byte {e.start}"
        raise DataError(f"the {content_type} body is not UTF-8: {where}") from None


def _call(fn, arity: int, *args, ctx):
    """Call a hook with ``ctx`` appended when it takes one parameter more than ``arity``."""
    try:
        params = inspect.signature(fn).parameters.values()
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        takes_ctx = len(positional) > arity or any(p.kind == p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):
        takes_ctx = False
    return fn(*args, ctx) if takes_ctx else fn(*args)


def _load_hooks(code_dir: str | None, entry_point: str, optional: bool = False) -> dict:
    """The SageMaker hooks in the user's module. Raises SpecError when there are none, unless
    ``optional`` (a framework container's defaults stand in for them)."""
    from raymaker.storage.staging import inside

    folder = code_dir or "."
    path = os.path.join(folder, entry_point)
    if not inside(folder, path):
        raise SpecError(
            f"entry_point {entry_point!r} is outside its code folder: it must be a relative "
            "path inside source_dir (its hash covers only that folder)"
        )
    if not os.path.isfile(path):
        raise SpecError(f"entry_point {entry_point!r} is not in the code folder")
    if code_dir and code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    name = "raymaker_user_inference_" + os.path.splitext(os.path.basename(entry_point))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hooks = {h: getattr(module, h) for h in HOOKS if callable(getattr(module, h, None))}
    if not hooks and not optional:
        raise SpecError(f"entry_point {entry_point!r} defines none of {', '.join(HOOKS)}")
    return hooks
