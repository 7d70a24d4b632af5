"""Recipes: ordered steps fitted on training data, then applied identically anywhere.

``Recipe`` is the declared form (YAML or Python); ``Recipe.fit(frame_or_dataset)`` returns a
``FittedRecipe`` whose JSON (no pickle) travels with a model. Fitting on a Ray Dataset streams:
one pass per group of independent learned steps, each pass reducing small per-batch partials.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pandas as pd
from pydantic import Field, ValidationError

from raymaker.data.stats import canonical
from raymaker.data.steps import STEPS, Dedupe, Impute, Scale, Step
from raymaker.errors import DataError, NotFound, SpecError
from raymaker.specs.base import SpecModel, format_validation_error

FORMAT = "raymaker-recipe/1"
FUSABLE_IMPUTES = ("mean", "median", "constant")


def _union():
    from functools import reduce
    from operator import or_

    return Annotated[reduce(or_, STEPS.values()), Field(discriminator="op")]


class Recipe(SpecModel):
    """An ordered list of steps (see ``raymaker.data.steps.STEPS`` for the ``op`` names)."""

    steps: list[_union()] = Field(min_length=1, description="The steps, in order.")  # type: ignore[valid-type]

    @classmethod
    def parse(cls, data: Any, source: str = "recipe") -> Recipe:
        """Validate a mapping (``{"steps": [...]}``) or a list of steps. Raises SpecError."""
        if isinstance(data, Recipe):
            return data
        if isinstance(data, list):
            data = {"steps": data}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            message = format_validation_error(exc, model=cls, source=source, tags=frozenset(STEPS))
            raise SpecError(message) from None

    def fit(self, data) -> FittedRecipe:
        """Fit on a pandas DataFrame or a Ray Dataset. Raises SpecError, DataError."""
        if isinstance(data, pd.DataFrame):
            return _fit_frame(self.steps, data)
        return _fit_dataset(self.steps, data)


class FittedRecipe:
    """Steps with their learned state. ``transform`` works on pandas and on Ray Datasets."""

    def __init__(self, steps: list[Step], states: list[dict], input_columns: list[str],
                 output_columns: list[str]):  # fmt: skip
        self.steps = list(steps)
        self.states = list(states)
        self.input_columns = list(input_columns)
        self.output_columns = list(output_columns)

    def __repr__(self) -> str:
        ops = ", ".join(s.op for s in self.steps)
        shape = f"{len(self.input_columns)} -> {len(self.output_columns)} columns"
        return f"FittedRecipe([{ops}], {shape})"

    def __eq__(self, other) -> bool:
        return isinstance(other, FittedRecipe) and self.to_json() == other.to_json()

    def transform(self, data, *, inference: bool = False):
        """Apply to a DataFrame (returns one) or a Ray Dataset (returns a lazy one).

        ``inference=True`` skips training-only steps (filter, dedupe): a request keeps its rows.
        """
        if isinstance(data, pd.DataFrame):
            return self.transform_frame(data, inference=inference)
        return self._transform_dataset(data, inference=inference)

    def transform_frame(self, df: pd.DataFrame, *, inference: bool = False) -> pd.DataFrame:
        df = canonical(df)
        for index, (step, state) in enumerate(zip(self.steps, self.states, strict=True)):
            if inference and step.training_only:
                continue
            step.check(df, index)
            df = step.apply(df, state)
        return df

    def _transform_dataset(self, ds, *, inference: bool):
        # Global steps (dedupe) split the pipeline; everything else streams batch by batch.
        start = 0
        for index, step in enumerate(self.steps):
            if isinstance(step, Dedupe) and not inference:
                ds = self._segment(start, index).map_over(ds)
                ds = _dedupe_dataset(ds, step.columns)
                start = index + 1
        return self._segment(start, len(self.steps)).map_over(ds, inference=inference)

    def _segment(self, start: int, stop: int) -> FittedRecipe:
        return FittedRecipe(self.steps[start:stop], self.states[start:stop], [], [])

    def map_over(self, ds, *, inference: bool = False):
        if not self.steps:
            return ds
        return ds.map_batches(
            _Apply(self.to_json(), inference),
            batch_format="pandas",
            batch_size=None,
            zero_copy_batch=True,
        )

    # -- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "input_columns": self.input_columns,
            "output_columns": self.output_columns,
            "steps": [
                {"step": s.model_dump(mode="json"), "state": st}
                for s, st in zip(self.steps, self.states, strict=True)
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=True)

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> FittedRecipe:
        """Rebuild from ``to_json`` output. Raises SpecError for anything else."""
        data = text if isinstance(text, dict) else json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SpecError(f"not a fitted recipe (expected format {FORMAT!r})")
        recipe = Recipe.parse([item["step"] for item in data["steps"]], source="fitted recipe")
        states = [item["state"] for item in data["steps"]]
        return cls(recipe.steps, states, data["input_columns"], data["output_columns"])

    def save(self, store, key: str) -> str:
        return store.write_text(key, self.to_json())

    @classmethod
    def load(cls, store, key: str) -> FittedRecipe:
        return cls.from_json(store.read_bytes(store.key(key)))


class _Apply:
    """A picklable batch function holding the recipe as JSON (rebuilt once per worker)."""

    def __init__(self, recipe_json: str, inference: bool):
        self.recipe_json, self.inference, self._recipe = recipe_json, inference, None

    def __call__(self, batch):
        import pyarrow as pa

        if self._recipe is None:
            self._recipe = FittedRecipe.from_json(self.recipe_json)
        # Arrow in and out: one plain to_pandas, no Arrow-backed pandas columns to undo.
        frame = batch.to_pandas() if isinstance(batch, pa.Table) else batch
        frame = self._recipe.transform_frame(frame, inference=self.inference)
        return pa.Table.from_pandas(frame, preserve_index=False)


def _dedupe_dataset(ds, columns):
    keys = columns or ds.columns()
    return ds.groupby(keys).map_groups(_first_row, batch_format="pandas")


def _first_row(group: pd.DataFrame) -> pd.DataFrame:
    return group.head(1)


def _fit_frame(steps: list[Step], df: pd.DataFrame) -> FittedRecipe:
    if len(df) == 0:
        raise DataError("cannot fit a recipe on 0 rows")
    df = canonical(df)
    inputs, states = list(df.columns), []
    for index, step in enumerate(steps):
        step.check(df, index)
        state = step.finish(step.partial(df)) if step.fits else {}
        states.append(state)
        df = step.apply(df, state)
    return FittedRecipe(steps, states, inputs, list(df.columns))


def _dry_run(steps: list[Step], df: pd.DataFrame) -> None:
    """Walk the steps over an empty frame of the data's schema, so a wrong column name fails
    at once, before any pass over the data. Stops quietly at what only real rows can tell."""
    for index, step in enumerate(steps):
        step.check(df, index)
        if step.op == "custom":
            return
        try:
            df = step.apply(df, step.finish(step.partial(df)) if step.fits else {})
        except SpecError:
            raise
        except Exception:  # noqa: BLE001 - an empty frame is no fair test of every step
            return


def _empty_frame(schema) -> pd.DataFrame:
    """A 0-row frame with the dataset's columns and types (Arrow- or pandas-typed blocks)."""
    import pyarrow as pa

    pairs = list(zip(schema.names, schema.types, strict=True))
    if all(isinstance(t, pa.DataType) for _, t in pairs):
        return canonical(pa.schema(pairs).empty_table().to_pandas())
    return pd.DataFrame({name: pd.Series(dtype=t) for name, t in pairs})


def _fit_dataset(steps: list[Step], ds) -> FittedRecipe:
    schema = ds.schema()
    if schema is None:
        raise DataError("cannot fit a recipe on an empty dataset")

    def run_stage(known: FittedRecipe, step_dicts: list[dict]) -> list[dict]:
        return (
            known._transform_dataset(ds, inference=False)
            .map_batches(_Partials(step_dicts), batch_format="pyarrow", batch_size=None)
            .take_all()
        )

    fitted = fit_stages(steps, _empty_frame(schema), run_stage)
    fitted.output_columns = _output_columns(fitted, _empty_frame(schema), ds)
    return fitted


def fit_stages(steps: list[Step], empty: pd.DataFrame, run_stage) -> FittedRecipe:
    """Fit ``steps`` in as few passes as possible. ``run_stage(known, step_dicts)`` makes one
    pass: the data through the fitted prefix ``known``, then each step's partial per batch;
    it returns rows ``{"partials": json list, "rows": n}`` (Ray Data or per-file tasks)."""
    _dry_run(steps, empty)
    states: list[dict | None] = [None] * len(steps)
    index, rows_seen = 0, 0
    while index < len(steps):
        step = steps[index]
        if not step.fits or step.op == "custom":
            states[index] = step.finish(None) if step.op == "custom" else {}
            index += 1
            continue
        stage, fused = _stage(steps, index)
        known = FittedRecipe(steps[:index], states[:index], [], [])
        partials = run_stage(known, [steps[k].model_dump(mode="json") for k in stage])
        rows_seen += sum(int(row["rows"]) for row in partials)
        for pos, k in enumerate(stage):
            merged = None
            for row in partials:
                part = json.loads(row["partials"])[pos]
                merged = part if merged is None else steps[k].merge(merged, part)
            if k in fused:
                fills = {col: states[i]["fill"][col] for col, i in fused[k].items()}
                states[k] = steps[k].finish(merged, fills=fills)
            else:
                states[k] = steps[k].finish(merged)
        index = stage[-1] + 1
    if not rows_seen:
        raise DataError("cannot fit a recipe on an empty dataset")
    return FittedRecipe(steps, states, list(empty.columns), [])


def _output_columns(fitted: FittedRecipe, empty: pd.DataFrame, ds) -> list[str]:
    try:
        return list(fitted.transform_frame(empty).columns)
    except Exception:  # noqa: BLE001 - e.g. a custom step that needs rows: use a few real ones
        return list(fitted.transform_frame(ds.take_batch(10, batch_format="pandas")).columns)


def _stage(steps: list[Step], start: int) -> tuple[list[int], dict[int, dict[str, int]]]:
    """Consecutive learned steps from ``start`` that one pass over the data can fit.

    Steps join while they touch columns no earlier step of the stage touched. The exception is
    scale (standard/minmax) right after impute (mean/median/constant) of the same columns: its
    moments on the raw data, corrected by the fill values, are exactly those after imputing.
    Returns the stage and, per fused scale step, ``{column: index of its impute step}``.
    """
    stage, touched, fused = [start], set(steps[start].inputs()), {}
    imputed: dict[str, int] = {}
    if isinstance(steps[start], Impute) and steps[start].strategy in FUSABLE_IMPUTES:
        imputed = dict.fromkeys(steps[start].columns, start)
    for k in range(start + 1, len(steps)):
        step = steps[k]
        cols = set(step.inputs())
        if not step.fits or step.op == "custom" or not cols:
            break
        overlap = cols & touched
        if overlap:
            fusable = (
                isinstance(step, Scale)
                and step.method in ("standard", "minmax")
                and overlap <= set(imputed)
            )
            if not fusable:
                break
            fused[k] = {col: imputed.pop(col) for col in overlap}
        elif isinstance(step, Impute) and step.strategy in FUSABLE_IMPUTES:
            imputed.update(dict.fromkeys(step.columns, k))
        stage.append(k)
        touched |= cols
    return stage, fused


class _Partials:
    def __init__(self, step_dicts: list[dict]):
        self.step_dicts = step_dicts
        self._steps = None

    def __call__(self, batch) -> pd.DataFrame:
        if self._steps is None:
            self._steps = Recipe.parse(self.step_dicts).steps
        batch = canonical(batch) if isinstance(batch, pd.DataFrame) else batch.to_pandas()
        parts = [step.partial(batch) for step in self._steps]
        return pd.DataFrame({"partials": [json.dumps(parts)], "rows": [len(batch)]})


def load_recipe(source, store=None) -> Recipe:
    """A Recipe from a dict/list, a YAML file or a store URI. Raises SpecError, NotFound."""
    if isinstance(source, Recipe | dict | list):
        return Recipe.parse(source)
    import yaml

    from raymaker.storage.staging import is_uri, local_path

    if is_uri(source):
        text = store.read_text(store.key(source))
    else:
        try:
            with open(local_path(source), encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise NotFound(f"no recipe file at {source!r}") from None
    return Recipe.parse(yaml.safe_load(text), source=str(source))
