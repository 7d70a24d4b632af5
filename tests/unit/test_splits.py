"""Splits on pandas: proportions, determinism, stratification, time order."""

import numpy as np
import pandas as pd
import pytest

from raymaker.data.splits import split_frame
from raymaker.errors import SpecError
from raymaker.specs.jobs import SplitSpec


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    n = 2000
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "label": (rng.random(n) < 0.1).astype(int),
            "when": pd.date_range("2025-01-01", periods=n, freq="h").astype(str),
        }
    )


def test_random_split_is_deterministic_and_near_the_fraction(frame):
    a = split_frame(frame, SplitSpec(test_fraction=0.25, seed=1))
    b = split_frame(frame, SplitSpec(test_fraction=0.25, seed=1))
    c = split_frame(frame, SplitSpec(test_fraction=0.25, seed=2))
    assert a["test"].index.equals(b["test"].index)
    assert not a["test"].index.equals(c["test"].index)
    assert abs(len(a["test"]) - 500) < 60
    assert len(a["train"]) + len(a["test"]) == len(frame)


def test_duplicates_land_on_the_same_side(frame):
    doubled = pd.concat([frame, frame], ignore_index=True)
    parts = split_frame(doubled, SplitSpec(test_fraction=0.3))
    train_rows = {tuple(r) for r in parts["train"].itertuples(index=False)}
    assert not any(tuple(r) in train_rows for r in parts["test"].itertuples(index=False))


def test_stratified_split_keeps_the_label_rate_in_every_part(frame):
    spec = SplitSpec(method="stratified", label="label", test_fraction=0.2, validation_fraction=0.1)
    parts = split_frame(frame, spec)
    positives = int(frame["label"].sum())
    assert sum(len(p) for p in parts.values()) == len(frame)
    assert int(parts["test"]["label"].sum()) == round(0.2 * positives)
    assert int(parts["validation"]["label"].sum()) == round(0.1 * positives)


def test_time_split_puts_the_latest_rows_in_test(frame):
    parts = split_frame(frame, SplitSpec(method="time", time_column="when", test_fraction=0.1))
    assert parts["train"]["when"].max() < parts["test"]["when"].min()
    assert len(parts["test"]) == 200


def test_split_spec_errors():
    with pytest.raises(ValueError, match="method stratified needs label"):
        SplitSpec(method="stratified")
    with pytest.raises(SpecError, match="split column 'nope' not found"):
        split_frame(pd.DataFrame({"a": [1, 2]}), SplitSpec(method="stratified", label="nope"))
