"""Built-in models: framework -> "module:loader". Each loader returns a ``Model``.

A model takes a DataFrame of raw input columns, applies the fitted recipe the training used
(the same pandas code as training, so online and offline predictions agree) and returns one
score a row (binary: the positive class's probability; multiclass: a probability a class;
regression: the value). Files are the framework's own formats, never a pickle, except a
script-mode scikit-learn model: that ``model.joblib`` was written by the user's own training
job, and its hash was checked against the manifest before it is loaded.
"""

from __future__ import annotations

import importlib
import os
import sys

from raymaker.errors import SpecError

LOADERS = {
    "xgboost": "raymaker.inference.builtin:XGBoostModel",
    "lightgbm": "raymaker.inference.builtin:LightGBMModel",
    "torch": "raymaker.inference.builtin:TorchModel",
    "sklearn": "raymaker.inference.builtin:SKLearnModel",
    "automl": "raymaker.automl.serving:AutoMLModel",  # Autopilot's ensembles (a room above)
}


def load_builtin(model_dir: str, manifest: dict):
    """The ``Model`` for a verified artifact. Raises SpecError when none fits (say ``model_fn``)."""
    module, _, attr = check_builtin(manifest).partition(":")
    return getattr(importlib.import_module(module), attr)(model_dir, manifest)


def container_serves(manifest: dict) -> bool:
    """Whether its framework container's defaults serve this artifact
    (``inference.frameworks``), not a raymaker built-in: a model made elsewhere (no manifest:
    ``foreign``), or a script's model that no built-in loads whole."""
    if manifest.get("foreign"):
        return True
    if "entry_point" not in manifest:  # one of raymaker's algorithms: a built-in or an error
        return False
    try:
        check_builtin(manifest)
    except SpecError:
        return True
    return False


def check_builtin(manifest: dict) -> str:
    """The loader of a manifest's model ("module:attr"), from the manifest alone, so a deploy
    fails before any replica starts. Raises SpecError when no built-in serves it."""
    framework = manifest.get("framework")
    target = LOADERS.get(framework)
    if target is None or (framework != "sklearn" and not manifest.get("features")):
        raise SpecError(
            f"a {framework!r} model has no built-in handler (built-ins: "
            f"{', '.join(sorted(LOADERS))} from raymaker's algorithms); give an entry_point "
            "with model_fn (and input_fn / predict_fn / output_fn as needed)"
        )
    if manifest.get("output", {}).get("type") == "quantiles":
        raise SpecError(
            "a forecast model predicts whole series, not rows: its forecast is forecast.parquet "
            "in the model folder; endpoints and batch transforms serve row models"
        )
    return target


class Model:
    """A loaded built-in: ``predict(frame) -> (scores, rows)``; ``score_frame(frame)`` gives the
    scores alone (batch transform builds rows only for the formats that show them)."""

    def __init__(self, model_dir: str, manifest: dict):
        from raymaker.data.recipe import FittedRecipe

        self.manifest = manifest
        self.columns = list(manifest.get("input_schema") or {})
        self.features = list(manifest.get("features") or [])
        self.output = manifest.get("output") or {"type": "value"}
        recipe = manifest.get("recipe")
        self.recipe = None
        if recipe:
            with open(os.path.join(model_dir, recipe), encoding="utf-8") as f:
                self.recipe = FittedRecipe.from_json(f.read())
        schema = manifest.get("input_schema") or {}
        # Numeric inputs used as they are: a CSV body parses straight into the feature matrix.
        self.direct = (
            self.recipe is None
            and self.features == self.columns
            and all(_numeric(t) for t in schema.values())
        )

    def parse_matrix(self, body: bytes):
        """The feature matrix of a numeric CSV body, or None (take the DataFrame path)."""
        import io

        import numpy as np

        if not self.direct or body.lstrip()[:1].isalpha():
            return None  # a header row, or inputs the recipe must see
        try:
            X = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError:
            return None
        return X if X.shape[1] == len(self.features) else None

    def predict_matrix(self, X):
        """``(scores, rows)`` of a feature matrix."""
        scores = self.scores(X)
        return scores, self.rows(scores)

    def set_threads(self, n: int) -> None:
        """Threads one prediction may use (endpoints: 1, replicas scale out instead)."""

    def matrix(self, frame):
        import numpy as np

        if self.recipe is not None:
            frame = self.recipe.transform_frame(frame, inference=True)
        try:
            # Row-major: XGBoost predicts a column-major matrix ~1.7x slower.
            return np.ascontiguousarray(
                frame[self.features].to_numpy(dtype=np.float32, na_value=np.nan)
            )
        except (ValueError, TypeError) as e:
            raise SpecError(f"features must be numeric after the recipe: {e}") from None
        except KeyError as e:
            raise SpecError(f"the request lacks the feature columns {e}") from None

    def scores(self, X):  # pragma: no cover - each framework overrides
        raise NotImplementedError

    def score_frame(self, frame):
        """The raw scores of a DataFrame of input columns (the recipe applied)."""
        return self.scores(self.matrix(frame))

    def predict(self, frame):
        """``(scores, rows)``: the raw scores and one JSON-able dict a row."""
        scores = self.score_frame(frame)
        return scores, self.rows(scores)

    def csv_texts(self, scores) -> list[str]:
        """One CSV line a prediction (no newline): the score, or a row's scores."""
        from raymaker.inference import codecs

        return codecs.csv_texts(scores)

    def encode(self, rows: list[dict], scores, accept: str) -> bytes:
        """An answer's body in ``accept``: rows as JSON, scores as CSV (a model that answers
        CSV otherwise overrides this and ``csv_texts``)."""
        from raymaker.inference import codecs

        return codecs.encode_predictions(rows, scores, accept)

    def rows(self, scores) -> list[dict]:
        """One JSON-able dict a prediction: ``score`` (and ``predicted_label``) or ``scores``."""
        import numpy as np

        scores = np.asarray(scores)
        kind, classes = self.output.get("type"), self.output.get("classes")
        if kind == "probability":
            rows = [
                {"score": float(p), "predicted_label": _plain(classes[int(p > 0.5)])}
                for p in scores.tolist()
            ]
        elif kind == "probabilities":
            rows = [
                {"scores": [float(v) for v in row], "predicted_label": _plain(classes[int(k)])}
                for row, k in zip(scores.tolist(), scores.argmax(axis=1).tolist(), strict=True)
            ]
        else:
            rows = [{"score": float(v)} for v in scores.reshape(-1).tolist()]
        return rows


def import_xgboost():
    """``xgboost``, imported without scikit-learn when nothing has imported either yet.

    xgboost imports scikit-learn (~0.9 s here) only for its sklearn-style wrappers, which a
    built-in model never uses; a replica's cold start is a request's latency.
    """
    if "xgboost" in sys.modules or "sklearn" in sys.modules:
        import xgboost

        return xgboost
    sys.modules["sklearn"] = None  # makes `import sklearn` raise ImportError meanwhile
    try:
        import xgboost
    finally:
        del sys.modules["sklearn"]
    return xgboost


class XGBoostModel(Model):
    def __init__(self, model_dir: str, manifest: dict):
        xgb = import_xgboost()
        super().__init__(model_dir, manifest)
        self.booster = xgb.Booster(model_file=os.path.join(model_dir, "model.ubj"))
        self.booster.set_param({"nthread": 1})

    def set_threads(self, n: int) -> None:
        self.booster.set_param({"nthread": max(1, int(n))})

    def scores(self, X):
        return self.booster.inplace_predict(X)


class LightGBMModel(Model):
    def __init__(self, model_dir: str, manifest: dict):
        import lightgbm as lgb

        super().__init__(model_dir, manifest)
        self.booster = lgb.Booster(model_file=os.path.join(model_dir, "model.txt"))
        self.threads = 1

    def set_threads(self, n: int) -> None:
        self.threads = max(1, int(n))

    def scores(self, X):
        return self.booster.predict(X, num_threads=self.threads)


class TorchModel(Model):
    def __init__(self, model_dir: str, manifest: dict):
        import torch

        from raymaker.inference.networks import build_network

        super().__init__(model_dir, manifest)
        self.arch = manifest["architecture"]
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        state = torch.load(
            os.path.join(model_dir, "model.pt"), weights_only=True, map_location=self.device
        )
        self.net = build_network(self.arch)
        self.net.load_state_dict(state)
        self.net.to(self.device).eval()
        self.task = manifest.get("task")

    def matrix(self, frame):
        if self.arch["kind"] != "embedding_bag":
            return super().matrix(frame)
        if self.recipe is not None:
            frame = self.recipe.transform_frame(frame, inference=True)
        return frame[self.features[0]].tolist()

    def scores(self, X):
        import torch

        from raymaker.inference.networks import text_ids

        with torch.no_grad():
            if self.arch["kind"] == "embedding_bag":
                ids, offsets = text_ids(X, self.arch["ngrams"], self.arch["buckets"])
                xb = (
                    torch.tensor(ids, device=self.device),
                    torch.tensor(offsets, device=self.device),
                )
            else:
                xb = torch.tensor(X, device=self.device)  # a copy: X may be read-only
            out = self.net(xb)
            if self.task == "binary":
                out = torch.sigmoid(out.squeeze(1))
            elif self.task == "multiclass":
                out = torch.softmax(out, dim=1)
            else:
                out = out.squeeze(1)
            return out.cpu().numpy()


class SKLearnModel(Model):
    """A script-mode scikit-learn model (``model.joblib``) on numeric rows."""

    def __init__(self, model_dir: str, manifest: dict):
        import joblib

        path = os.path.join(model_dir, "model.joblib")
        if not os.path.exists(path):
            raise SpecError(
                "a scikit-learn artifact needs model.joblib, or an entry_point with model_fn"
            )
        super().__init__(model_dir, manifest)
        self.estimator = joblib.load(path)
        self.columns = [f"f{i}" for i in range(int(getattr(self.estimator, "n_features_in_", 0)))]

    def matrix(self, frame):
        import numpy as np

        return frame.to_numpy(dtype=np.float32)

    def scores(self, X):
        return self.estimator.predict(X)

    def rows(self, scores) -> list[dict]:
        return [{"score": _plain(v)} for v in scores.tolist()]


def _numeric(arrow_type: str) -> bool:
    return arrow_type.startswith(("int", "uint", "float", "double", "halffloat", "bool", "decimal"))


def _plain(value):
    return value.item() if hasattr(value, "item") else value
