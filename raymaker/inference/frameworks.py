"""SageMaker's framework containers' default handlers, for models raymaker did not make.

A model with no raymaker manifest (a ``model.tar.gz`` from elsewhere), or a script-mode model
whose script gives no ``model_fn``, is served as its framework's SageMaker container serves it:
each hook the user's module does not define is the framework's default.

- **xgboost**: the booster file in the model folder (``xgboost-model``, or the one file
  XGBoost can load; never a pickle), ``text/csv`` and ``text/libsvm`` requests read into a
  ``DMatrix``, ``booster.predict``, the answer in the ``Accept`` type (CSV by default).
- **pytorch**: the TorchScript ``model.pt`` / ``model.pth`` (``torch.jit.load``, never a
  pickled module), NumPy, JSON or CSV requests as a tensor, ``model(tensor)`` without
  gradients, the answer in the ``Accept`` type.
- **tensorflow**: the SavedModel (its highest numeric version folder), served as TensorFlow
  Serving's REST API serves it: ``{"instances": ...}`` in, ``{"predictions": ...}`` out
  (``{"inputs"}`` / ``{"outputs"}`` for the columnar form; CSV rows are instances).
- **sklearn**: SageMaker's scikit-learn container has no default ``model_fn`` (its models
  are pickles only the user's code may open); the other three defaults are NumPy's.

Each function takes what the hook it stands for takes, so the handler calls them alike.
"""

from __future__ import annotations

import os
import warnings

from raymaker.errors import SpecError
from raymaker.inference import codecs

LIBSVM = "text/libsvm"
LIBSVM_TYPES = (LIBSVM, "text/x-libsvm")
XGBOOST_FILES = ("xgboost-model", "model.ubj", "model.json", "model.bst", "model.bin", "model")
TORCH_FILES = ("model.pt", "model.pth")
PICKLE_MAGIC = b"\x80"  # protocol 2+ pickles (and joblib files) start here
# The answer's type when a request's Accept is missing or */*: XGBoost's container answers
# CSV; the others use the inference toolkit's default, JSON.
DEFAULT_ACCEPT = {"xgboost": codecs.CSV, "pytorch": codecs.JSON, "sklearn": codecs.JSON,
                  "tensorflow": codecs.JSON}  # fmt: skip


FRAMEWORKS = ("pytorch", "sklearn", "tensorflow", "xgboost")


def fused(hooks: dict):
    """``fn(body, content_type, model)`` standing for the framework's own default input_fn and
    predict_fn when both are in use (what a user's own hook sees is never changed), or None."""
    for (input_fn, predict_fn), fn in _FUSED.items():
        if hooks.get("input_fn") is input_fn and hooks.get("predict_fn") is predict_fn:
            return fn
    return None


def defaults(framework: str | None) -> dict:
    """The default hooks of ``framework``'s container ({} for one raymaker does not know)."""
    return dict(_DEFAULTS.get(framework or "", {}))


def has_model_fn(framework: str | None) -> bool:
    """Whether the framework's container loads a model with no ``model_fn``."""
    return "model_fn" in _DEFAULTS.get(framework or "", {})


def _raw(body) -> bytes:
    """A body as the hooks get it (``str`` for CSV and JSON, else bytes), as bytes again."""
    return body.encode() if isinstance(body, str) else bytes(body)


# -- xgboost ---------------------------------------------------------------------------------
def xgboost_model_fn(model_dir: str):
    from raymaker.inference.builtin import import_xgboost

    xgb = import_xgboost()
    files = sorted(
        n for n in os.listdir(model_dir)
        if not n.startswith(".") and os.path.isfile(os.path.join(model_dir, n))
    )  # fmt: skip
    ordered = [n for n in XGBOOST_FILES if n in files] + [
        n for n in files if n not in XGBOOST_FILES
    ]
    pickles = []
    for name in ordered:
        path = os.path.join(model_dir, name)
        with open(path, "rb") as f:
            if f.read(1) == PICKLE_MAGIC:
                pickles.append(name)
                continue
        try:
            with warnings.catch_warnings():  # "unknown file format": xgboost-model has none
                warnings.simplefilter("ignore")
                booster = xgb.Booster(model_file=path)
        except xgb.core.XGBoostError:
            continue
        booster.set_param({"nthread": 1})
        return booster
    found = ", ".join(files) or "no files"
    hint = (
        f" ({', '.join(pickles)} is a pickle, which raymaker never opens for you: save the "
        "booster with booster.save_model('xgboost-model.ubj'), or load it in your own model_fn)"
        if pickles
        else ""
    )
    raise SpecError(f"the model folder holds no XGBoost booster file ({found}){hint}")


def xgboost_input_fn(body, content_type: str):
    """A ``DMatrix`` of a CSV (empty fields are missing values) or LIBSVM body."""
    from raymaker.inference.builtin import import_xgboost

    return import_xgboost().DMatrix(xgboost_matrix(body, content_type))


def xgboost_matrix(body, content_type: str):
    """The request's rows: a float32 array (CSV) or a SciPy CSR matrix (LIBSVM)."""
    import io

    import numpy as np

    kind = codecs.media_type(content_type, default=codecs.CSV)
    raw = _raw(body)
    if kind == codecs.CSV:
        try:
            matrix = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError:  # empty fields: missing values, as the container reads them
            rows = [line for line in raw.decode("utf-8").splitlines() if line.strip()]
            try:
                matrix = np.array(
                    [[float(v) if v.strip() else np.nan for v in line.split(",")]
                     for line in rows], dtype=np.float32,
                )  # fmt: skip
            except ValueError as e:
                raise SpecError(f"{codecs.CSV}: {e}") from None
        if matrix.ndim != 2 or not matrix.size:
            raise SpecError(f"{codecs.CSV}: every row must have the same number of values")
        return matrix
    if kind in LIBSVM_TYPES:
        return libsvm_matrix(raw)
    raise codecs.UnsupportedType(
        f"Content-Type {content_type!r} is not supported by the XGBoost container; use "
        f"{codecs.CSV} or {LIBSVM}"
    )


def xgboost_fused(body, content_type: str, model):
    """Default input_fn then default predict_fn in one step: the same rows and the same
    scores, without a ``DMatrix`` a request (``inplace_predict``; ~1.7x less time here)."""
    return model.inplace_predict(xgboost_matrix(body, content_type), validate_features=False)


def libsvm_matrix(raw: bytes):
    """A LIBSVM body (``label index:value ...`` a line; the label may be left out) as a SciPy
    CSR matrix, read by scikit-learn's svmlight reader with indices taken as XGBoost takes
    them. Raises SpecError."""
    import io

    from sklearn.datasets import load_svmlight_file

    lines = []
    for line in raw.splitlines():
        parts = line.split()
        if parts and b":" in parts[0]:  # no label: SageMaker's LibSVMSerializer sends none
            parts.insert(0, b"0")
        if parts:
            lines.append(b" ".join(parts))
    try:
        matrix, _ = load_svmlight_file(io.BytesIO(b"\n".join(lines)), zero_based=True)
    except ValueError as e:
        raise SpecError(f"{LIBSVM}: {e}") from None
    return matrix


def xgboost_predict_fn(data, model):
    return model.predict(data, validate_features=False)


def output_fn(prediction, accept: str) -> bytes:
    if hasattr(prediction, "detach"):  # a torch tensor
        prediction = prediction.detach().cpu().numpy()
    return codecs.encode_value(prediction, accept)


# -- pytorch ---------------------------------------------------------------------------------
def pytorch_model_fn(model_dir: str):
    import torch

    names = [n for n in TORCH_FILES if os.path.isfile(os.path.join(model_dir, n))]
    if not names:
        names = sorted(n for n in os.listdir(model_dir) if n.endswith((".pt", ".pth")))
    if len(names) != 1:
        raise SpecError(
            "a PyTorch model with no model_fn needs one TorchScript file, model.pt or "
            f"model.pth (found {', '.join(names) or 'none'}); save it with "
            "torch.jit.save(torch.jit.script(model), ...) or give an entry_point with model_fn"
        )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        model = torch.jit.load(os.path.join(model_dir, names[0]), map_location=device)
    except (RuntimeError, ValueError) as e:
        raise SpecError(
            f"{names[0]} is not a TorchScript model ({str(e).splitlines()[0][:160]}); save "
            "it with torch.jit.save(torch.jit.script(model), ...) or give an entry_point with "
            "model_fn"
        ) from None
    return model.eval()


def pytorch_input_fn(body, content_type: str):
    import numpy as np
    import torch

    raw = _raw(body)
    array = codecs.decode_array(raw, content_type)
    kind = codecs.media_type(content_type, default=codecs.CSV)
    if kind == codecs.NPY:
        return torch.from_numpy(np.ascontiguousarray(array))
    return torch.as_tensor(np.asarray(array, dtype=np.float32))  # text: float, as SageMaker


def pytorch_predict_fn(data, model):
    """``model(data)`` without gradients, on the model's device; real-valued data takes the
    model's dtype (NumPy's float64 rows meet float32 weights, where SageMaker's container
    raises a dtype error)."""
    import torch

    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    if param is not None and data.is_floating_point() and param.is_floating_point():
        data = data.to(dtype=param.dtype)
    with torch.no_grad():
        return model(data.to(device))


# -- tensorflow ------------------------------------------------------------------------------
class SavedModel:
    """A SavedModel's ``serving_default`` signature, called as TensorFlow Serving's REST API
    calls it: ``{"instances": rows}`` (row format) or ``{"inputs": columns}`` (columnar)."""

    def __init__(self, path: str):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no absl/oneDNN banners per replica
        import tensorflow as tf

        self.path = path
        self.loaded = tf.saved_model.load(path)
        self.signature = self.loaded.signatures.get("serving_default")
        if self.signature is None:
            raise SpecError(
                f"the SavedModel at {os.path.basename(path) or path} has no serving_default "
                "signature (export it with model.export(path) or tf.saved_model.save(model, "
                "path, signatures=...))"
            )
        self.inputs = self.signature.structured_input_signature[1]  # name -> TensorSpec

    def predict(self, request: dict) -> dict:
        import tensorflow as tf

        rows = "instances" in request
        data = request["instances"] if rows else request["inputs"]
        names = list(self.inputs)
        if len(names) == 1 and not (isinstance(data, dict) and names[0] in data):
            feeds = {names[0]: data}
        elif rows and isinstance(data, list) and all(isinstance(r, dict) for r in data):
            feeds = {n: [r[n] for r in data] for n in names}
        elif isinstance(data, dict):
            feeds = data
        else:
            raise SpecError(f"the model takes the named inputs {', '.join(names)}: send them")
        missing = [n for n in names if n not in feeds]
        if missing:
            raise SpecError(f"the request lacks the model's input(s) {', '.join(missing)}")
        try:
            tensors = {n: tf.constant(feeds[n], dtype=self.inputs[n].dtype) for n in names}
            outputs = {k: v.numpy() for k, v in self.signature(**tensors).items()}
        except (TypeError, ValueError, tf.errors.InvalidArgumentError) as e:
            first = str(e).strip().splitlines()[0][:200]
            raise SpecError(f"the inputs do not fit the model's signature: {first}") from None
        if len(outputs) == 1:
            (value,) = outputs.values()
            value = value.tolist()
        elif rows:  # one object per instance, as TensorFlow Serving's row format answers
            n = len(next(iter(outputs.values())))
            value = [{k: v[i].tolist() for k, v in outputs.items()} for i in range(n)]
        else:
            value = {k: v.tolist() for k, v in outputs.items()}
        return {"predictions": value} if rows else {"outputs": value}


def tensorflow_model_fn(model_dir: str):
    """The SavedModel in ``model_dir``: the folder itself, or its highest numeric version
    folder (``<version>/`` or ``<name>/<version>/``, as TensorFlow Serving lays models out)."""
    found = []
    for dirpath, _, files in os.walk(model_dir):
        if "saved_model.pb" in files:
            found.append(dirpath)
    if not found:
        raise SpecError(
            "the model holds no SavedModel (saved_model.pb); save one under SM_MODEL_DIR, e.g. "
            "model.export(os.path.join(os.environ['SM_MODEL_DIR'], '1'))"
        )
    versions = [p for p in found if os.path.basename(p).isdigit()]
    path = max(versions, key=lambda p: int(os.path.basename(p))) if versions else found[0]
    return SavedModel(path)


def tensorflow_input_fn(body, content_type: str) -> dict:
    """A TensorFlow Serving request: JSON (``{"instances"}``, ``{"inputs"}`` or a bare list,
    which SageMaker's container wraps as instances), CSV rows or JSON Lines, as instances."""
    kind = codecs.media_type(content_type, default=codecs.JSON)
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    if kind == codecs.JSON:
        data = codecs.load_json(text)
        if isinstance(data, dict) and ("instances" in data or "inputs" in data):
            return data
        if isinstance(data, list):
            return {"instances": data}
        raise SpecError(
            'a TensorFlow Serving request is {"instances": [...]} or {"inputs": ...} (or a list)'
        )
    if kind == codecs.CSV:
        array = codecs.decode_array(text.encode(), codecs.CSV)
        return {"instances": array.tolist()}
    if kind == codecs.JSONLINES:
        return {"instances": codecs.load_json_lines(text)}
    raise codecs.UnsupportedType(
        f"Content-Type {content_type!r} is not supported by the TensorFlow Serving container; "
        f"use {codecs.JSON}, {codecs.CSV} or {codecs.JSONLINES}"
    )


def tensorflow_predict_fn(data: dict, model: SavedModel) -> dict:
    return model.predict(data)


def tensorflow_output_fn(prediction, accept: str) -> bytes:
    if isinstance(prediction, dict) and accept in (codecs.CSV, codecs.JSONLINES, codecs.NPY):
        import numpy as np

        value = prediction.get("predictions", prediction.get("outputs"))
        return codecs.encode_value(np.asarray(value) if accept != codecs.JSONLINES else value,
                                   accept)  # fmt: skip
    return codecs.encode_value(prediction, codecs.JSON if accept != codecs.JSON else accept)


# -- scikit-learn ----------------------------------------------------------------------------
def sklearn_input_fn(body, content_type: str):
    raw = _raw(body)
    return codecs.decode_array(raw, content_type)


def sklearn_predict_fn(data, model):
    return model.predict(data)


_DEFAULTS = {
    "xgboost": {
        "model_fn": xgboost_model_fn,
        "input_fn": xgboost_input_fn,
        "predict_fn": xgboost_predict_fn,
        "output_fn": output_fn,
    },
    "pytorch": {
        "model_fn": pytorch_model_fn,
        "input_fn": pytorch_input_fn,
        "predict_fn": pytorch_predict_fn,
        "output_fn": output_fn,
    },
    "tensorflow": {
        "model_fn": tensorflow_model_fn,
        "input_fn": tensorflow_input_fn,
        "predict_fn": tensorflow_predict_fn,
        "output_fn": tensorflow_output_fn,
    },
    "sklearn": {
        "input_fn": sklearn_input_fn,
        "predict_fn": sklearn_predict_fn,
        "output_fn": output_fn,
    },
}

_FUSED = {(xgboost_input_fn, xgboost_predict_fn): xgboost_fused}
