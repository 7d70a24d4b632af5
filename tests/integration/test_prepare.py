"""Data preparation on Ray Data: readers, recipe fit/transform, recipe processing jobs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from raymaker.data.readers import read_dataset, read_frame, resolve, skipped_rows
from raymaker.data.recipe import FittedRecipe, Recipe
from raymaker.errors import DataError
from raymaker.jobs.records import JobStatus
from raymaker.specs import parse_spec


@pytest.fixture(scope="module")
def ray_connected(ray_head):
    import ray

    from raymaker.sagemaker.session import Session

    Session().connect()
    yield
    ray.shutdown()


def blocks(frame, n):
    """A Dataset of ``n`` blocks (from_pandas's own splitting breaks on pandas 3)."""
    import ray

    size = -(-len(frame) // n)
    return ray.data.from_pandas([frame.iloc[i : i + size] for i in range(0, len(frame), size)])


def churn(n=400, seed=3):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, n).astype(float),
            "charges": rng.normal(60, 20, n).round(2),
            "contract": rng.choice(["monthly", "yearly", "two-year"], n),
            "churn": rng.integers(0, 2, n),
        }
    )
    frame.loc[::7, "charges"] = np.nan
    return frame


STEPS = [
    {"op": "impute", "columns": ["charges"], "strategy": "median"},
    {"op": "scale", "columns": ["tenure", "charges"]},
    {"op": "onehot", "columns": ["contract"]},
]


def test_read_dataset_on_file_and_s3_matches_read_frame(ray_connected, store):
    store.write_text("data/r/a.csv", "x,y\n1,a\n2,b\n")
    store.write_text("data/r/b.csv", "x,y\n3,c\n")
    source = resolve(store, "data/r")
    from raymaker.data.stats import canonical

    ds = canonical(read_dataset(source).to_pandas()).sort_values("x", ignore_index=True)
    pd.testing.assert_frame_equal(ds, read_frame(resolve(store, "data/r")))


def test_skipped_rows_are_counted_across_workers(ray_connected, local_settings):
    from raymaker.storage import store_for_settings

    store = store_for_settings(local_settings)
    store.write_text("data/bad/a.csv", "x,y\n1,2\n3\n4,5\n")
    store.write_text("data/bad/b.csv", "x,y\n1,2,3\n")
    source = resolve(store, "data/bad", on_bad_lines="skip")
    assert read_dataset(source).count() == 2
    counts = skipped_rows(source)
    assert sorted(len(v) for v in counts.values()) == [1, 1]
    strict = resolve(store, "data/bad")
    with pytest.raises(DataError, match=r"a.csv: line 3"):
        read_dataset(strict).materialize()


def test_fit_on_a_dataset_equals_fit_on_pandas(ray_connected):
    frame = churn()
    on_pandas = Recipe.parse(STEPS).fit(frame)
    on_ray = Recipe.parse(STEPS).fit(blocks(frame, 4))
    assert on_ray.states[0] == on_pandas.states[0]  # exact median: small batches keep all values
    assert on_ray.states[2] == on_pandas.states[2]
    for key in ("center", "scale"):
        for col, value in on_pandas.states[1][key].items():
            assert on_ray.states[1][key][col] == pytest.approx(value, rel=1e-12)
    from raymaker.data.stats import canonical

    out_ray = canonical(on_pandas.transform(blocks(frame, 3)).to_pandas())
    pd.testing.assert_frame_equal(out_ray, on_pandas.transform(frame), check_exact=True)


def test_dedupe_on_a_dataset_is_global(ray_connected):
    frame = pd.DataFrame({"a": [1, 1, 2, 2, 3], "b": ["x", "x", "y", "y", "z"]})
    fitted = Recipe.parse([{"op": "dedupe"}]).fit(frame)
    out = fitted.transform(blocks(frame, 5)).to_pandas()
    assert sorted(out["a"].tolist()) == [1, 2, 3]


def test_recipe_job_writes_parquet_to_s3_with_a_split(ray_head, s3_root, tmp_path):
    from raymaker.sagemaker.session import Session

    session = Session(store=s3_root)
    buf = io.StringIO()
    churn(600).to_csv(buf, index=False)
    session.store.write_text("data/churn/raw.csv", buf.getvalue() + "1,2\n")  # one bad row
    (tmp_path / "feat.py").write_text(
        "def ratio(df):\n    df['ratio'] = df['charges'] * 2\n    return df\n"
    )
    (tmp_path / "recipe.yaml").write_text(
        "steps:\n"
        "  - {op: impute, columns: [charges], strategy: median}\n"
        "  - {op: onehot, columns: [contract]}\n"
        "  - {op: custom, function: 'feat.py:ratio'}\n"
    )
    (tmp_path / "job.yaml").write_text(
        "kind: ProcessingJob\nrecipe: recipe.yaml\n"
        "inputs: [{name: raw, source: data/churn, on_bad_lines: skip}]\n"
        "split: {method: stratified, label: churn, test_fraction: 0.25, seed: 1}\n"
    )
    from raymaker.specs import load_spec

    handle = session.jobs.submit(
        load_spec(tmp_path / "job.yaml"), name="prep-s3", base_dir=str(tmp_path), wait=True,
        timeout=300,
    )  # fmt: skip
    record = handle.describe()
    assert record.status == JobStatus.SUCCEEDED
    result = record.result
    assert result["rows"] == {"train": 450, "test": 150}
    assert result["bad_rows"] == 1 and result["bad_row_samples"][0].endswith("raw.csv:602")
    assert result["outputs"]["train"] == f"{s3_root}/jobs/prep-s3/output/train"
    train = session.store.list("jobs/prep-s3/output/train", recursive=True)
    assert train and all(k.endswith(".parquet") for k in train)
    assert session.store.list("jobs/prep-s3/_tmp") == []
    fitted = FittedRecipe.load(session.store, result["recipe"])
    assert fitted.output_columns[-1] == "ratio"
    assert "contract_monthly" in fitted.output_columns

    # apply the fitted recipe to new data in a second job: same columns, no refit
    session.store.write_text("data/churn-new/raw.csv", buf.getvalue())
    apply = parse_spec(
        {
            "kind": "ProcessingJob",
            "fitted_recipe": result["recipe"],
            "inputs": [{"name": "raw", "source": "data/churn-new"}],
            "outputs": [{"name": "prepared"}],
        }
    )
    applied = session.jobs.submit(apply, name="apply-s3", wait=True, timeout=300).describe()
    assert applied.result["rows"] == {"prepared": 600}
    assert "recipe" not in applied.result["outputs"]


def test_a_recipe_job_on_a_missing_column_fails_with_the_available_ones(ray_head, local_session):
    local_session.store.write_text("data/x/a.csv", "a,b\n1,2\n")
    spec = parse_spec(
        {
            "kind": "ProcessingJob",
            "recipe": [{"op": "scale", "columns": ["c"]}],
            "inputs": [{"name": "raw", "source": "data/x"}],
        }
    )
    from raymaker.errors import JobFailed

    with pytest.raises(JobFailed, match="column\\(s\\) 'c' not found; available columns: a, b"):
        local_session.jobs.submit(spec, name="missing-col", wait=True, timeout=300)
    assert local_session.store.list("jobs/missing-col/output") == []


def test_profile_on_a_dataset_agrees_with_pandas(ray_connected):
    from raymaker.data.profile import profile

    frame = churn(600)
    frame["leak"] = frame["churn"] * 5.0
    on_pandas = profile(frame, target="churn")
    on_ray = profile(blocks(frame, 4), target="churn")
    assert on_ray["rows"] == on_pandas["rows"] == 600
    assert on_ray["columns"]["charges"]["missing"] == on_pandas["columns"]["charges"]["missing"]
    assert on_ray["columns"]["charges"]["mean"] == pytest.approx(
        on_pandas["columns"]["charges"]["mean"]
    )
    assert on_ray["columns"]["contract"]["distinct"] == 3
    assert ("target_leakage", "leak") in {(w["kind"], w["column"]) for w in on_ray["warnings"]}


def test_per_file_tasks_fit_and_write_what_ray_data_does(ray_connected, local_settings, tmp_path):
    from raymaker.data import filetasks
    from raymaker.storage import open_store

    store = open_store(local_settings.store)
    for i in range(3):
        frame = churn(300, seed=10 + i)
        frame.loc[frame.index[:2], "contract"] = None
        buf = io.StringIO()
        frame.to_csv(buf, index=False)
        store.write_text(f"data/pf/part-{i}.csv", buf.getvalue() + ("1,2\n" if i == 1 else ""))
    steps = [
        {"op": "impute", "columns": ["charges"], "strategy": "mean"},
        {"op": "scale", "columns": ["charges", "tenure"]},
        {"op": "onehot", "columns": ["contract"]},
    ]
    source = resolve(store, "data/pf", on_bad_lines="skip")
    assert filetasks.supported(Recipe.parse(steps).steps, source)
    per_file, skipped = filetasks.fit_files(Recipe.parse(steps), source)
    assert sum(len(v) for v in skipped.values()) == 1
    by_data = Recipe.parse(steps).fit(read_dataset(resolve(store, "data/pf", on_bad_lines="skip")))
    assert per_file.output_columns == by_data.output_columns
    assert per_file.states[2] == by_data.states[2]  # categories: exact
    for key in ("fill",):
        for col, value in per_file.states[0][key].items():
            assert value == pytest.approx(by_data.states[0][key][col], rel=1e-12)

    out = tmp_path / "out"
    out.mkdir()
    import pyarrow.fs

    rows, skipped = filetasks.write_files(
        per_file, source, pyarrow.fs.LocalFileSystem(), {"data": str(out)}
    )
    assert rows == {"data": 900} and sum(len(v) for v in skipped.values()) == 1
    written = pd.read_parquet(out).sort_values(["tenure", "charges"]).reset_index(drop=True)
    expected = per_file.transform_frame(read_frame(resolve(store, "data/pf", on_bad_lines="skip")))
    expected = expected.sort_values(["tenure", "charges"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
