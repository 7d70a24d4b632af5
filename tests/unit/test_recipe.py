"""Recipes on pandas: every step, JSON round trip identity, bad input."""

import numpy as np
import pandas as pd
import pytest

from raymaker.data.recipe import FittedRecipe, Recipe, load_recipe
from raymaker.errors import DataError, SpecError


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [20.0, None, 40.0, 30.0, 30.0, 50.0],
            "income": [1.0, 2.0, None, 4.0, 4.0, 100.0],
            "city": ["Oslo", "Rome", "Oslo", None, None, "Lima"],
            "signup": ["2024-01-02", "2024-03-04 10:00", None, "2024-05-06", "2024-05-06", "bad"],
            "note": ["Hello world", "world peace", "", None, None, "HELLO again"],
            "label": [0, 1, 0, 1, 1, 0],
        }
    )


def fit_apply(steps, frame):
    fitted = Recipe.parse(steps).fit(frame)
    return fitted, fitted.transform(frame)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("mean", 34.0), ("median", 30.0), ("most_frequent", 30.0), ("constant", -1.0)],
)
def test_impute(frame, strategy, expected):
    step = {"op": "impute", "columns": ["age"], "strategy": strategy}
    if strategy == "constant":
        step["value"] = -1
    _, out = fit_apply([step], frame)
    assert out["age"].iloc[1] == expected
    assert out["age"].isna().sum() == 0


def test_impute_categories_most_frequent(frame):
    fitted, out = fit_apply(
        [{"op": "impute", "columns": ["city"], "strategy": "most_frequent"}], frame
    )
    assert fitted.states[0]["fill"]["city"] == "Oslo"
    assert out["city"].tolist() == ["Oslo", "Rome", "Oslo", "Oslo", "Oslo", "Lima"]


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_scale(frame, method):
    steps = [
        {"op": "impute", "columns": ["income"]},
        {"op": "scale", "columns": ["income"], "method": method},
    ]
    _, out = fit_apply(steps, frame)
    x = out["income"].to_numpy()
    if method == "standard":
        assert abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    elif method == "minmax":
        assert x.min() == 0 and x.max() == 1
    else:
        assert np.median(x) == 0


def test_constant_column_scales_to_zero_not_nan():
    frame = pd.DataFrame({"c": [3.0, 3.0, 3.0]})
    _, out = fit_apply([{"op": "scale", "columns": ["c"]}], frame)
    assert out["c"].tolist() == [0.0, 0.0, 0.0]


def test_onehot_and_ordinal_handle_unseen_categories(frame):
    fitted = Recipe.parse([{"op": "onehot", "columns": ["city"]}]).fit(frame)
    new = pd.DataFrame({"city": ["Rome", "Paris", None]})
    out = fitted.transform(new)
    assert list(out.columns) == ["city_Lima", "city_Oslo", "city_Rome"]
    assert out.to_numpy().tolist() == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]
    ordinal = Recipe.parse([{"op": "ordinal", "columns": ["city"]}]).fit(frame)
    assert ordinal.transform(new)["city"].tolist() == [2, -1, -1]


def test_onehot_max_categories_keeps_the_most_frequent(frame):
    fitted = Recipe.parse([{"op": "onehot", "columns": ["city"], "max_categories": 1}]).fit(frame)
    assert fitted.states[0]["categories"]["city"] == ["Oslo"]


def test_datetime_parts(frame):
    _, out = fit_apply(
        [{"op": "datetime_parts", "columns": ["signup"], "parts": ["year", "month", "hour"]}], frame
    )
    assert "signup" not in out
    assert out["signup_month"].tolist()[:2] == [1, 3]
    assert out["signup_hour"].iloc[1] == 10
    assert out["signup_year"].isna().tolist() == [False, False, True, False, False, True]


def test_text_hashing_and_counting(frame):
    _, out = fit_apply([{"op": "hash_text", "columns": ["note"], "n_features": 8}], frame)
    assert [c for c in out if c.startswith("note_h")] == [f"note_h{i}" for i in range(8)]
    assert out.filter(like="note_h").sum(axis=1).tolist() == [2, 2, 0, 0, 0, 2]
    fitted, out = fit_apply([{"op": "count_text", "columns": ["note"], "max_features": 2}], frame)
    assert fitted.states[0]["vocabulary"]["note"] == ["hello", "world"]
    assert out["note_hello"].tolist() == [1, 0, 0, 0, 0, 1]


def test_column_plumbing(frame):
    steps = [
        {"op": "select", "columns": ["age", "city", "label"]},
        {"op": "rename", "mapping": {"city": "town"}},
        {"op": "cast", "types": {"age": "int", "label": "bool"}},
        {"op": "drop", "columns": ["label"]},
    ]
    _, out = fit_apply(steps, frame)
    assert list(out.columns) == ["age", "town"]
    assert str(out["age"].dtype) == "Int64"


def test_filter_and_dedupe_are_training_only(frame):
    steps = [{"op": "filter", "expr": "label == 1"}, {"op": "dedupe", "columns": ["age", "city"]}]
    fitted, out = fit_apply(steps, frame)
    assert len(out) == 2
    assert len(fitted.transform(frame, inference=True)) == len(frame)


def test_custom_python_step_from_a_file_travels_as_source(tmp_path, frame):
    code = tmp_path / "features.py"
    code.write_text(
        "def add_ratio(df):\n    df['ratio'] = df['income'] / df['age']\n    return df\n"
    )
    fitted = Recipe.parse([{"op": "custom", "function": f"{code}:add_ratio"}]).fit(frame)
    code.unlink()  # the fitted recipe no longer needs the file
    again = FittedRecipe.from_json(fitted.to_json())
    assert again.transform(frame)["ratio"].iloc[0] == 1.0 / 20.0


def test_custom_step_by_import_path(frame):
    fitted = Recipe.parse([{"op": "custom", "function": "pandas:DataFrame"}]).fit(frame)
    assert fitted.transform(frame).shape == frame.shape
    with pytest.raises(SpecError, match="cannot import"):
        Recipe.parse([{"op": "custom", "function": "no_such_module_xyz:fn"}]).fit(frame)


def test_json_round_trip_gives_bit_identical_frames(frame):
    steps = [
        {"op": "impute", "columns": ["age"], "strategy": "median"},
        {"op": "impute", "columns": ["income"]},
        {"op": "scale", "columns": ["age", "income"]},
        {"op": "onehot", "columns": ["city"]},
        {"op": "datetime_parts", "columns": ["signup"]},
        {"op": "count_text", "columns": ["note"]},
    ]
    fitted, out = fit_apply(steps, frame)
    reloaded = FittedRecipe.from_json(fitted.to_json())
    assert reloaded == fitted
    again = reloaded.transform(frame)
    pd.testing.assert_frame_equal(again, out, check_exact=True)
    for col in out.select_dtypes("float").columns:  # bit for bit, not just close
        assert again[col].to_numpy().tobytes() == out[col].to_numpy().tobytes()


def test_missing_column_lists_the_available_ones(frame):
    with pytest.raises(
        SpecError,
        match=r"step 1 \(scale\): column\(s\) 'salary' not found; available columns: age, income",
    ):
        Recipe.parse(
            [{"op": "drop", "columns": ["note"]}, {"op": "scale", "columns": ["salary"]}]
        ).fit(frame)


def test_bad_steps_name_the_field():
    with pytest.raises(SpecError, match="does not match any of the expected tags: 'select'"):
        Recipe.parse([{"op": "normalize", "columns": ["a"]}])
    with pytest.raises(
        SpecError,
        match=r"recipe.steps\[0\].method: Input should be 'standard', 'minmax' or 'robust'",
    ):
        Recipe.parse([{"op": "scale", "columns": ["a"], "method": "zscore"}])
    with pytest.raises(SpecError, match="steps: List should have at least 1 item"):
        Recipe.parse([])


def test_empty_input_is_a_clear_error():
    with pytest.raises(DataError, match="0 rows"):
        Recipe.parse([{"op": "scale", "columns": ["a"]}]).fit(pd.DataFrame({"a": []}))


def test_not_a_fitted_recipe():
    with pytest.raises(SpecError, match="not a fitted recipe"):
        FittedRecipe.from_json('{"steps": []}')


def test_load_recipe_from_yaml(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("steps:\n  - op: impute\n    columns: [a]\n")
    assert load_recipe(str(path)).steps[0].op == "impute"
