"""MLflow's ``python_function`` loader for raymaker's built-in models.

A built-in model logged to a job's MLflow run (``raymaker.tracking.models``) names this module
as its ``loader_module``; ``mlflow.pyfunc.load_model(uri)`` calls ``_load_pyfunc(data_path)``
with the model's own folder. Its files are checked against the manifest's hashes, then the
model loads as an endpoint loads it, and ``predict(frame)`` answers a DataFrame of the
endpoint's JSON rows (``score``, ``predicted_label`` or ``scores``), the recipe applied.
"""

from __future__ import annotations


class PyFuncModel:
    """A built-in model behind MLflow's ``predict(model_input, params=None)``."""

    def __init__(self, model):
        self.model = model

    def predict(self, model_input, params=None):
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        _, rows = self.model.predict(frame)
        return pd.DataFrame(rows)


def _load_pyfunc(data_path: str) -> PyFuncModel:
    from raymaker.inference.builtin import load_builtin
    from raymaker.storage.artifacts import verify

    return PyFuncModel(load_builtin(data_path, verify(data_path)))
