"""Bias metrics, computed by AWS's own Clarify library (``smclarify``, Apache 2.0): the
numbers and their names are SageMaker Clarify's.

Pre-training (labels only): CI, DPL, KL, JS, LP, TVD, KS, CDDL. Post-training (predicted
labels too): DPPL, DI, DCA (SageMaker's DCAcc), DCR, RD, DAR, DRR, AD, CDDPL, TE, FT.
``report`` returns Clarify's ``analysis.json`` section for one stage:
``{"label", "label_value_or_threshold", "facets": {name: [{"value_or_threshold",
"metrics": [{"name", "description", "value"}]}]}}``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from raymaker.errors import DataError, SpecError

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = ("DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT")
ALIASES = {"DCACC": "DCA"}  # the SDK's docs name it DCAcc; smclarify's registry, DCA
FEW = 20  # a label or facet column of at most this many values is categorical


def methods_for(stage: str, methods) -> list[str]:
    """The metric names to run: ``"all"`` or a list (case-insensitive). Raises SpecError."""
    allowed = PRE_TRAINING if stage == "pre" else POST_TRAINING
    if methods in (None, "all"):
        return list(allowed)
    chosen = [ALIASES.get(str(m).upper(), str(m).upper()) for m in methods]
    unknown = [m for m in chosen if m not in allowed]
    if unknown:
        raise SpecError(f"methods {unknown} are not {stage}-training bias metrics; allowed: "
                        f"{', '.join(allowed)}")  # fmt: skip
    return chosen


def report(frame: pd.DataFrame, *, label: str, label_values: list, facet: str,
           facet_values: list | None, group: str | None = None, stage: str = "pre",
           predicted: str | None = None, methods="all") -> dict:  # fmt: skip
    """One stage's bias metrics for one facet. ``facet_values``: the sensitive values (or
    one threshold for a numeric facet; None: every value in turn). Raises DataError naming
    a missing column."""
    from smclarify.bias import report as clarify

    for name in (label, facet, group, predicted):
        if name is not None and name not in frame.columns:
            raise DataError(f"column {name!r} is not in the data; columns: "
                            f"{', '.join(map(str, frame.columns))}")  # fmt: skip
    data = _plain(_codes(frame, {facet, label, predicted}) if stage == "post" else frame)
    # few distinct values are categories, compared as text (smclarify would otherwise read a
    # small numeric column as continuous, its values as a threshold)
    label_values = _as_categories(data, [label, predicted], label_values)
    facet_values = _as_categories(data, [facet], facet_values)
    label_col = clarify.LabelColumn(label, data[label], list(label_values))
    predicted_col = (
        clarify.LabelColumn(predicted, data[predicted], list(label_values)) if predicted else None
    )
    if group is None and methods in (None, "all"):
        methods = [m for m in methods_for(stage, methods) if m not in ("CDDL", "CDDPL")]
    stage_type = (
        clarify.StageType.PRE_TRAINING if stage == "pre" else clarify.StageType.POST_TRAINING
    )
    facet_col = clarify.FacetColumn(facet, list(facet_values) if facet_values else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = clarify.bias_report(
            data, facet_col, label_col, stage_type, predicted_col,
            metrics=methods_for(stage, methods),
            group_variable=data[group] if group else None,
        )  # fmt: skip
    return {
        "label": label,
        "label_value_or_threshold": ",".join(map(str, label_values)),
        "facets": {facet: [_clean(entry) for entry in found]},
    }


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """smclarify predates pandas' string dtype: text columns as objects; for the flip test's
    neighbours, other non-numeric feature columns as category codes."""
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col].dtype):
            out[col] = out[col].astype(object)
    return out


def _as_categories(data: pd.DataFrame, columns: list, values: list | None):
    """Turn ``columns`` of at most ``FEW`` values into text (in place), and ``values`` with
    them; a column of more values stays numeric, its one value a threshold."""
    cols = [c for c in columns if c is not None]
    if any(data[c].nunique() > FEW for c in cols):
        return values
    for c in cols:
        data[c] = data[c].map(_text).astype("category")  # smclarify: categorical, always
    return None if values is None else [_text(v) for v in values]


def _text(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _codes(frame: pd.DataFrame, keep: set) -> pd.DataFrame:
    """Non-numeric columns outside ``keep`` as category codes (the flip test's neighbours
    are found on numbers)."""
    out = frame.copy()
    for col in out.columns:
        if col not in keep and not pd.api.types.is_numeric_dtype(out[col].dtype):
            out[col] = pd.Categorical(out[col].astype(str)).codes
    return out


def _clean(entry: dict) -> dict:
    """Clarify's entry with JSON-safe numbers (NaN and infinity as None, as its JSON has)."""
    metrics = []
    for m in entry.get("metrics", []):
        value = m.get("value")
        if isinstance(value, float | np.floating) and not np.isfinite(value):
            value = None
        metrics.append({**m, "value": None if value is None else float(value)})
    return {"value_or_threshold": str(entry.get("value_or_threshold")), "metrics": metrics}


def check_drift(baseline: dict, current: dict, tolerance: float = 0.1,
                overrides: dict | None = None) -> list[dict]:  # fmt: skip
    """``bias_drift_check`` violations: a metric that moved more than ``tolerance`` (or its
    override) from the baseline's value, per facet value."""
    overrides = overrides or {}
    base = _values(baseline)
    out = []
    for (facet, value, metric), now in _values(current).items():
        before = base.get((facet, value, metric))
        if before is None or now is None:
            continue
        limit = float(overrides.get(metric, tolerance))
        if abs(now - before) > limit:
            out.append({
                "constraint_check_type": "bias_drift_check",
                "metric_name": metric,
                "facet": facet,
                "facet_value": value,
                "description": f"Value {now:.4g} of {metric} for {facet}={value} moved more "
                f"than {limit:g} from the baseline's {before:.4g}",
            })  # fmt: skip
    return out


def _values(section: dict) -> dict:
    out = {}
    for facet, entries in (section or {}).get("facets", {}).items():
        for entry in entries:
            for m in entry["metrics"]:
                out[(facet, entry["value_or_threshold"], m["name"])] = m.get("value")
    return out
