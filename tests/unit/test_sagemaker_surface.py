"""The SDK v2 name-status table (``raymaker.sagemaker.surface``) against the classes, row by
row: a name that works exists, an ignored argument is taken with a notice, a refused name
raises NotSupported with its reason; and the README shows exactly this table."""

from __future__ import annotations

import inspect
import os
import warnings

import pytest

from raymaker.errors import NotSupported, RaymakerNotice
from raymaker.sagemaker import surface
from raymaker.sagemaker.automl import AutoML
from raymaker.sagemaker.estimator import Estimator
from raymaker.sagemaker.model import Model
from raymaker.sagemaker.predictor import Predictor
from raymaker.sagemaker.session import Session
from raymaker.sagemaker.transformer import Transformer
from raymaker.sagemaker.tuner import ContinuousParameter, HyperparameterTuner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASSES = {"Session": Session, "Estimator": Estimator, "Model": Model, "Predictor": Predictor,
           "Transformer": Transformer, "HyperparameterTuner": HyperparameterTuner,
           "AutoML": AutoML}  # fmt: skip


def make(name: str, **extra):
    session = Session(store="/tmp/raymaker-surface-test-store")
    if name == "Session":
        return Session(store="/tmp/raymaker-surface-test-store", **extra)
    if name == "Estimator":
        return Estimator(algorithm="xgboost", label="y", session=session, **extra)
    if name == "Model":
        return Model(model_data="m/model.tar.gz", session=session, **extra)
    if name == "Predictor":
        return Predictor("ep", session=session, **extra)
    if name == "Transformer":
        return Transformer(model_data="m/model.tar.gz", session=session, **extra)
    if name == "AutoML":
        return AutoML(target_attribute_name="y", session=session, **extra)
    est = Estimator(algorithm="xgboost", label="y", session=session)
    return HyperparameterTuner(est, "validation:auc", {"eta": ContinuousParameter(0.1, 0.3)},
                               session=session, **extra)  # fmt: skip


ROWS = [(cls, entry, status, note) for cls, table in surface.SURFACE.items()
        for entry, (status, note) in table.items()]  # fmt: skip


@pytest.mark.parametrize("cls,entry,status,note", ROWS, ids=[f"{r[0]}.{r[1]}" for r in ROWS])
def test_every_name_does_what_the_table_says(cls, entry, status, note):
    klass = CLASSES[cls]
    name = entry.rstrip("()=")
    if entry.endswith("="):  # an __init__ argument
        params = inspect.signature(klass.__init__).parameters
        if status == surface.WORKS:
            assert name in params or (cls == "Session" and name == "settings"), entry
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            surface._NOTICED.discard((cls, name))
            if status == surface.UNSUPPORTED:
                with pytest.raises(NotSupported, match=f"{name}=.*not supported"):
                    make(cls, **{name: "x"})
                return
            make(cls, **{name: "x"})
        notices = [str(w.message) for w in caught if issubclass(w.category, RaymakerNotice)]
        assert any(f"{name} is accepted and ignored" in n for n in notices), notices
        return
    if status == surface.WORKS:  # a method or property of the class, or an instance's attribute
        assert hasattr(klass, name) or name in vars(make(cls)), entry
        return
    method = klass.__dict__.get(name)
    assert method is not None, f"{cls}.{name} is not installed"
    with pytest.raises(NotSupported, match=f"{name} is not supported"):
        method(make(cls)) if entry.endswith("()") else getattr(make(cls), name)


def test_the_readme_shows_the_table():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert surface.markdown() in readme, "regenerate README's table: surface.markdown()"


def test_the_table_holds_every_name_of_the_sdk_classes():
    counts = {cls: len(table) for cls, table in surface.SURFACE.items()}
    # SDK 2.257's public methods and __init__ arguments, per class (Estimator: EstimatorBase,
    # Estimator and Framework together, less the names they share)
    assert counts == {"Session": 135, "Estimator": 78, "Model": 34, "Predictor": 21,
                      "Transformer": 21, "HyperparameterTuner": 37, "AutoML": 33}  # fmt: skip
