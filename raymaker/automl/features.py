"""Autopilot's automatic preprocessing: a raymaker recipe chosen from the data's columns.

The recipe travels inside every candidate's model (``recipe.json``, no pickle), so endpoints
and batch transforms take the raw rows. Numeric and boolean columns pass as they are (the
learners handle missing values); text-like columns become:

- dates (a datetime type, or strings that nearly all parse as dates): their parts;
- categoricals (few distinct values): one-hot columns, unseen values all zero;
- free text (several words a value, many distinct): hashed token counts;
- other strings with many distinct values (codes, ids): ordinal codes, unseen values -1;
- a string column with a different value on every row (an id) is dropped.
"""

from __future__ import annotations

import pandas as pd

ONEHOT_MAX = 64  # distinct values one-hot encoded; more are ordinal codes or text
TEXT_MIN_WORDS = 3.0  # mean words a value above which a column is free text
DATE_SHARE = 0.9  # share of values that must parse as dates


def plan_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Column -> treatment (numeric, datetime, onehot, text, ordinal, drop)."""
    plan = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            plan[name] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(col):
            plan[name] = "datetime"
        else:
            plan[name] = _text_kind(col.dropna().astype(str), len(col))
    return plan


def _text_kind(values: pd.Series, rows: int) -> str:
    if values.empty:
        return "drop"
    distinct = values.nunique()
    if distinct <= ONEHOT_MAX:
        return "onehot"
    sample = values.head(1000)
    if _dates(sample):
        return "datetime"
    if sample.str.split().str.len().mean() >= TEXT_MIN_WORDS:
        return "text"
    if distinct >= 0.98 * rows:
        return "drop"  # an identifier: it cannot generalize
    return "ordinal"


def _dates(sample: pd.Series) -> bool:
    if not sample.str.contains(r"\d[-/:]\d|\d{4}", regex=True).mean() >= DATE_SHARE:
        return False
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": the share says enough
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return parsed.notna().mean() >= DATE_SHARE


def auto_recipe(frame: pd.DataFrame):
    """``(Recipe or None, plan)`` for the feature columns of ``frame`` (no target in it)."""
    from raymaker.data.recipe import Recipe

    plan = plan_columns(frame)
    by = {kind: [c for c, k in plan.items() if k == kind] for kind in set(plan.values())}
    steps: list[dict] = []
    if by.get("drop"):
        steps.append({"op": "drop", "columns": by["drop"]})
    if by.get("datetime"):
        steps.append({"op": "datetime_parts", "columns": by["datetime"],
                      "parts": ["year", "month", "day", "dayofweek", "hour"]})  # fmt: skip
    if by.get("onehot"):
        steps.append({"op": "onehot", "columns": by["onehot"], "max_categories": ONEHOT_MAX})
    if by.get("ordinal"):
        steps.append({"op": "ordinal", "columns": by["ordinal"]})
    if by.get("text"):
        steps.append({"op": "hash_text", "columns": by["text"], "n_features": 64})
    return (Recipe.parse(steps) if steps else None), plan
