"""An Autopilot model as one raymaker artifact, and its built-in loader.

The folder holds the fitted recipe (``recipe.json``), ``ensemble.json`` (the members and
their weights, the problem type, the labels) and each member's bagged fold models
(``members/<member>.joblib``). A single candidate is an ensemble of one. A member of a
stacking layer above the first (``layer`` 2, ``inputs``) predicts from the features plus its
inputs' predictions, so those members travel with it (weight 0 when the blend does not use
them). The joblib files are
the user's own AutoML job's output and are opened only after the manifest's hashes match
(``artifacts.verify``), as a script-mode scikit-learn model is.

Answers follow SageMaker's Autopilot inference containers: ``SAGEMAKER_INFERENCE_OUTPUT``
(what ``inference_response_keys`` sets) picks and orders ``predicted_label``, ``probability``
(of the predicted label), ``probabilities`` and ``labels``; the default is ``predicted_label``
alone. A binary model's label is positive from its decision threshold (tuned on out-of-fold
predictions for F1, Accuracy and BalancedAccuracy; 0.5 otherwise). CSV answers are those
values in that order, lists quoted as SageMaker writes them.
Regression answers the value.
"""

from __future__ import annotations

import csv
import io
import json
import os

from raymaker.automl.objectives import REGRESSION
from raymaker.errors import SpecError
from raymaker.inference.builtin import Model

FORMAT = "raymaker-automl/1"
ENSEMBLE = "ensemble.json"
RESPONSE_KEYS = ("predicted_label", "probability", "probabilities", "labels")
OUTPUT_ENV = "SAGEMAKER_INFERENCE_OUTPUT"


def check_response_keys(keys, problem_type: str) -> list[str]:
    """The keys, checked: SageMaker's four for classification, none for regression."""
    keys = [k.strip() for k in (keys.split(",") if isinstance(keys, str) else keys or [])]
    keys = [k for k in keys if k]
    if problem_type == REGRESSION:
        if keys:
            raise SpecError(
                "inference_response_keys are for classification; a Regression model answers "
                "its value"
            )
        return []
    bad = [k for k in keys if k not in RESPONSE_KEYS]
    if bad:
        from raymaker.specs.base import did_you_mean

        raise SpecError(
            f"inference_response_keys: {bad[0]!r} is not one; allowed: "
            f"{', '.join(RESPONSE_KEYS)}{did_you_mean(bad[0], RESPONSE_KEYS)}"
        )
    return keys or ["predicted_label"]


def write_model(model_dir: str, members: list[dict], *, problem_type: str,
                classes: list | None, recipe_json: str | None,
                threshold: float = 0.5) -> dict:  # fmt: skip
    """Write ``members`` (``learner``, ``file``: its saved bagged models here, ``weight``;
    optional ``member``, its name, ``layer`` and ``inputs``; lower layers first) and the
    recipe into ``model_dir``; the manifest's fields for them."""
    import shutil

    os.makedirs(os.path.join(model_dir, "members"), exist_ok=True)
    entries = []
    for m in members:
        key = m.get("member", m["learner"])
        path = f"members/{key}.joblib"
        shutil.copyfile(m["file"], os.path.join(model_dir, path))
        entries.append({"member": key, "learner": m["learner"], "file": path,
                        "weight": float(m["weight"]), "layer": int(m.get("layer", 1)),
                        "inputs": list(m.get("inputs", []))})  # fmt: skip
    with open(os.path.join(model_dir, ENSEMBLE), "w", encoding="utf-8") as f:
        json.dump({"format": FORMAT, "problem_type": problem_type, "classes": classes,
                   "threshold": threshold, "members": entries}, f, indent=1)  # fmt: skip
    if recipe_json is not None:
        with open(os.path.join(model_dir, "recipe.json"), "w", encoding="utf-8") as f:
            f.write(recipe_json)
    return {"recipe": "recipe.json" if recipe_json is not None else None, "ensemble": ENSEMBLE}


class AutoMLModel(Model):
    """The built-in for ``framework: automl`` artifacts (loaded after ``artifacts.verify``)."""

    def __init__(self, model_dir: str, manifest: dict):
        import joblib

        super().__init__(model_dir, manifest)
        with open(os.path.join(model_dir, ENSEMBLE), encoding="utf-8") as f:
            spec = json.load(f)
        if spec.get("format") != FORMAT:
            raise SpecError(f"{ENSEMBLE}: format {spec.get('format')!r} is not {FORMAT}")
        self.problem_type = spec["problem_type"]
        self.labels = [str(c) for c in spec.get("classes") or []]
        self.threshold = float(spec.get("threshold", 0.5))  # binary: the tuned decision
        self.members = [  # (name, bagged models, weight, inputs), lower layers first
            (m.get("member", m["learner"]), joblib.load(os.path.join(model_dir, m["file"])),
             float(m["weight"]), list(m.get("inputs", [])))
            for m in spec["members"]
        ]  # fmt: skip
        self.keys = check_response_keys(os.environ.get(OUTPUT_ENV), self.problem_type)
        self.set_threads(1)

    def set_threads(self, n: int) -> None:
        """Threads a prediction may use: one on an endpoint (a forest's thread pool costs a
        single row tens of milliseconds); replicas scale out instead."""
        for _, bagged, _, _ in self.members:
            for fitted in bagged.models:
                _set_jobs(fitted.model, max(1, int(n)))

    def matrix(self, frame):
        import numpy as np

        return np.asarray(super().matrix(frame), dtype=np.float64)

    def scores(self, X):
        import numpy as np

        from raymaker.automl.zoo import stack_features

        predicted, out = {}, None
        for name, bagged, weight, inputs in self.members:  # lower layers first
            rows = X if not inputs else stack_features(X, [predicted[i] for i in inputs],
                                                       self.problem_type)  # fmt: skip
            predicted[name] = np.asarray(bagged.predict(rows), dtype=np.float64)
            if weight:
                out = weight * predicted[name] if out is None else out + weight * predicted[name]
        return out

    def rows(self, scores) -> list[dict]:
        import numpy as np

        scores = np.asarray(scores)
        if self.problem_type == REGRESSION:
            return [{"score": float(v)} for v in scores.reshape(-1).tolist()]
        if scores.shape[1] == 2:  # binary: the decision threshold tuned for the objective
            picks = (scores[:, 1] >= self.threshold).astype(int).tolist()
        else:
            picks = scores.argmax(axis=1).tolist()
        values = {  # each key's value from a row's probabilities and its pick
            "predicted_label": lambda row, k: self.labels[k],
            "probability": lambda row, k: row[k],
            "probabilities": lambda row, k: row,
            "labels": lambda row, k: self.labels,
        }
        wanted = [(key, values[key]) for key in self.keys]
        return [{key: value(row, k) for key, value in wanted}
                for row, k in zip(scores.tolist(), picks, strict=True)]  # fmt: skip

    def encode(self, rows: list[dict], scores, accept: str) -> bytes:
        from raymaker.inference import codecs

        if accept != codecs.CSV or self.problem_type == REGRESSION:
            return super().encode(rows, scores, accept)
        return "".join(t + "\n" for t in self.csv_texts(scores)).encode()

    def csv_texts(self, scores) -> list[str]:
        if self.problem_type == REGRESSION:
            return super().csv_texts(scores)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for row in self.rows(scores):
            writer.writerow([_csv_value(row[k]) for k in self.keys])
        return buf.getvalue().splitlines()


def _set_jobs(estimator, n: int) -> None:
    for _, step in getattr(estimator, "steps", []):  # a scikit-learn Pipeline
        _set_jobs(step, n)
    if hasattr(estimator, "n_jobs"):
        estimator.n_jobs = n
    elif hasattr(estimator, "threads"):  # the zoo's torch MLP
        estimator.threads = n


def _csv_value(value):
    if isinstance(value, list):
        return str(value)  # SageMaker's "[0.9, 0.1]" and "['1', '0']"
    return value
