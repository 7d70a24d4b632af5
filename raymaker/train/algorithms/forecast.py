"""Time-series forecasting: one global LightGBM model over many series, quantile outputs.

Features for the value at time t (known ``horizon`` steps ahead, so one model serves every
step 1..horizon without feeding forecasts back in): lags ``y[t - horizon - k + 1]``, rolling
means over windows ending ``horizon`` steps back, calendar parts of t, and the series id.
One LightGBM model per quantile (``objective: quantile``). The last ``validation_steps`` of
every series are held out for the validation metrics; the final models are refitted on all
rows, then forecast the next ``horizon`` steps of every series (``forecast.parquet`` in the
model folder, beside ``history.parquet``: the tail each series needs to forecast again).
"""

from __future__ import annotations

import os
import tempfile
import time

from pydantic import Field

from raymaker.errors import DataError, SpecError
from raymaker.train.algorithms.base import Algorithm, Hyperparameters
from raymaker.train.tabular import TabularData


class ForecastHyperparameters(Hyperparameters):
    time_column: str = Field(description="The timestamp column.")
    id_column: str | None = Field(None, description="The series id column (none: one series).")
    horizon: int = Field(7, ge=1, le=1000, description="Steps ahead to forecast.")
    lags: str = Field("1,2,3,7,14", description="Lags beyond the horizon, comma-separated.")
    windows: str = Field("7,28", description="Rolling-mean windows, comma-separated.")
    quantiles: str = Field("0.1,0.5,0.9", description="Quantiles to forecast.")
    validation_steps: int | None = Field(None, ge=1, description="Held out; default horizon.")
    num_boost_round: int = Field(200, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    min_data_in_leaf: int = Field(20, ge=1)
    seed: int = 0


def _ints(text: str, field: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise SpecError(f"hyperparameters.{field}: {text!r} is not comma-separated ints") from None
    if not values or values[0] < 1:
        raise SpecError(f"hyperparameters.{field}: {text!r} needs positive ints")
    return values


class ForecastAlgorithm(Algorithm):
    name = "forecast"
    framework = "lightgbm"
    backend = None
    hyperparameters = ForecastHyperparameters
    worker = "raymaker.train.algorithms.forecast:train_forecast"
    text_features = True  # the id column may be a string

    def prepare(self, spec, hps: ForecastHyperparameters, data: TabularData) -> dict:
        if spec.instance_count != 1:
            raise SpecError(
                f"instance_count ({spec.instance_count}) must be 1: the forecast built-in "
                "trains one global model on one worker"
            )
        columns = list(data.input_schema)
        for field in ("time_column", "id_column"):
            name = getattr(hps, field)
            if name is not None and name not in columns:
                raise SpecError(
                    f"hyperparameters.{field}: {name!r} is not a column; columns: "
                    f"{', '.join(columns)}"
                )
        if not data.label_type.startswith(("int", "uint", "float", "double")):
            raise SpecError(f"label {data.label!r} must be numeric to forecast ({data.label_type})")
        try:
            quantiles = sorted({float(q) for q in hps.quantiles.split(",") if q.strip()})
        except ValueError:
            quantiles = []
        if not quantiles or not all(0 < q < 1 for q in quantiles):
            raise SpecError(f"hyperparameters.quantiles: {hps.quantiles!r} needs values in (0, 1)")
        return {
            "task": "forecast",
            "data": data,
            "hps": hps.model_dump(),
            "lags": _ints(hps.lags, "lags"),
            "windows": _ints(hps.windows, "windows"),
            "quantiles": quantiles,
            "rounds": hps.num_boost_round,
            "manifest": {
                "output": {"type": "quantiles", "quantiles": quantiles},
                "forecast": {
                    "time_column": hps.time_column, "id_column": hps.id_column,
                    "horizon": hps.horizon, "lags": _ints(hps.lags, "lags"),
                    "windows": _ints(hps.windows, "windows"),
                    "models": {f"{q:g}": f"model-q{q:g}.txt" for q in quantiles},
                    "history": "history.parquet", "forecast": "forecast.parquet",
                },
            },
        }  # fmt: skip


def features(df, cfg: dict):
    """Add the model's feature columns to a frame sorted by (id, time); returns their names."""
    import pandas as pd

    hps = cfg["hps"]
    h, y, t = hps["horizon"], cfg["label"], hps["time_column"]
    ids = hps["id_column"]
    grouped = df.groupby(ids, sort=False)[y] if ids else None
    names = []
    for k in cfg["lags"]:
        name = f"lag_{k}"
        shift = h + k - 1
        df[name] = grouped.shift(shift) if grouped is not None else df[y].shift(shift)
        names.append(name)
    base = grouped.shift(h) if grouped is not None else df[y].shift(h)
    for w in cfg["windows"]:
        name = f"mean_{w}"
        keys = df[ids] if ids else pd.Series(0, index=df.index)
        df[name] = base.groupby(keys, sort=False).transform(
            lambda s, w=w: s.rolling(w, min_periods=1).mean()
        )
        names.append(name)
    stamp = pd.to_datetime(df[t])
    for part in ("dayofweek", "day", "month", "dayofyear", "hour"):
        df[f"t_{part}"] = getattr(stamp.dt, part)
        names.append(f"t_{part}")
    if ids:
        df["series"] = pd.Categorical(df[ids].astype(str), categories=cfg["series"]).codes
        names.append("series")
    return names


def train_forecast(config: dict, ctx) -> dict:
    """Worker function: build features, fit one model per quantile, forecast the horizon."""
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    from raymaker.train.channels import Shard, read_shard
    from raymaker.train.metrics import MetricsLog

    data: TabularData = config["data"]
    hps = config["hps"]
    t, ids, y, h = hps["time_column"], hps["id_column"], data.label, hps["horizon"]
    df = read_shard(data.sources["train"], Shard()).to_pandas()
    if data.recipe_json is not None:
        from raymaker.data.recipe import FittedRecipe

        df = FittedRecipe.from_json(data.recipe_json).transform_frame(df)
    df[t] = pd.to_datetime(df[t])
    if df[y].isna().any():
        raise DataError(f"the target {y!r} has missing values: impute them first")
    df = df.sort_values([ids, t] if ids else [t], kind="stable").reset_index(drop=True)
    cfg = {**config, "label": y, "series": sorted(df[ids].astype(str).unique()) if ids else []}
    names = features(df, cfg)
    hold = hps["validation_steps"] or h
    position = df.groupby(ids).cumcount(ascending=False) if ids else pd.Series(
        np.arange(len(df))[::-1], index=df.index
    )  # fmt: skip
    is_val = position < hold
    if is_val.all():
        raise DataError(f"every series is shorter than validation_steps ({hold})")
    params = {
        "objective": "quantile", "learning_rate": hps["learning_rate"],
        "num_leaves": hps["num_leaves"], "min_data_in_leaf": hps["min_data_in_leaf"],
        "seed": hps["seed"], "verbosity": -1, "num_threads": max(1, int(ctx.cpus)),
    }  # fmt: skip
    categorical = ["series"] if ids else []
    store = ctx.store()
    metrics = MetricsLog(store, config["metrics_key"])
    started = time.perf_counter()
    models, scores = {}, {}
    for q in config["quantiles"]:
        p = {**params, "alpha": q}
        train_set = lgb.Dataset(df.loc[~is_val, names], df.loc[~is_val, y],
                                categorical_feature=categorical, free_raw_data=False)  # fmt: skip
        held = lgb.train(p, train_set, num_boost_round=hps["num_boost_round"])
        pred = held.predict(df.loc[is_val, names])
        err = df.loc[is_val, y].to_numpy() - pred
        scores[f"validation-pinball-{q:g}"] = float(np.mean(np.maximum(q * err, (q - 1) * err)))
        if q == min(config["quantiles"], key=lambda v: abs(v - 0.5)):
            scores["validation-mae"] = float(np.mean(np.abs(err)))
        full = lgb.Dataset(df[names], df[y], categorical_feature=categorical)
        models[q] = lgb.train(p, full, num_boost_round=hps["num_boost_round"])
        print(f"quantile {q:g}: pinball {scores[f'validation-pinball-{q:g}']:.5g}", flush=True)
    for name, value in scores.items():
        metrics.add(name, value, step=1)
    metrics.save()
    forecast = _forecast(df, cfg, models, names)
    history = _history(df, cfg)
    with tempfile.TemporaryDirectory() as tmp:
        for q, model in models.items():
            model.save_model(os.path.join(tmp, f"model-q{q:g}.txt"))
        forecast.to_parquet(os.path.join(tmp, "forecast.parquet"), index=False)
        history.to_parquet(os.path.join(tmp, "history.parquet"), index=False)
        store.put_dir(tmp, config["model_staging"])
    return {
        "series": max(1, len(cfg["series"])),
        "rows": len(df),
        "forecast_rows": len(forecast),
        "train_seconds": round(time.perf_counter() - started, 3),
    }


def _step(times):
    import pandas as pd

    diffs = pd.Series(times).sort_values().diff().dropna()
    if diffs.empty:
        raise DataError("a series needs at least two timestamps to find its step")
    return diffs.mode().iloc[0]


def _history(df, cfg):
    keep = cfg["hps"]["horizon"] + max(cfg["lags"]) + max(cfg["windows"])
    hps = cfg["hps"]
    cols = [c for c in (hps["id_column"], hps["time_column"], cfg["label"]) if c]
    if hps["id_column"]:
        return df.groupby(hps["id_column"], sort=False).tail(keep)[cols]
    return df.tail(keep)[cols]


def _forecast(df, cfg, models, names):
    """The next ``horizon`` steps of every series, one column per quantile."""
    import pandas as pd

    hps = cfg["hps"]
    t, ids, y, h = hps["time_column"], hps["id_column"], cfg["label"], hps["horizon"]
    groups = df.groupby(ids, sort=False) if ids else [(None, df)]
    future = []
    for key, part in groups:
        step = _step(part[t])
        last = part[t].max()
        rows = pd.DataFrame({t: [last + step * (i + 1) for i in range(h)]})
        if ids:
            rows[ids] = key
        rows[y] = float("nan")
        future.append(pd.concat([part[[c for c in (ids, t, y) if c]], rows], ignore_index=True))
    full = pd.concat(future, ignore_index=True)
    full = full.sort_values([ids, t] if ids else [t], kind="stable").reset_index(drop=True)
    features(full, cfg)
    ahead = full[full[y].isna()].copy()
    for q, model in models.items():
        ahead[f"q{q:g}"] = model.predict(ahead[names])
    return ahead[[c for c in (ids, t) if c] + [f"q{q:g}" for q in models]].reset_index(drop=True)
