"""The data profile (SageMaker's "Data Quality and Insights" report).

One streaming pass computes mergeable per-batch partials (counts, moments, sketches,
category counts, row hashes, target cross-moments); a quick model on a bounded sample gives
feature importance. ``profile(data, target)`` works on a pandas frame or a Ray Dataset and
returns a JSON-able dict; ``render_html`` turns it into one self-contained page.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pandas as pd

from raymaker.data.stats import canonical, collect, counts, merge_counts, quantile, sketch
from raymaker.errors import DataError, SpecError

TOP_CATEGORIES = 20
MAX_TRACKED_CATEGORIES = 5000  # per column; beyond that the distinct count is a lower bound
SAMPLE_ROWS = 20_000
HIST_BINS = 20


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    sample = series.dropna().astype(str).head(200)
    if len(sample) and sample.str.len().mean() > 30 and sample.str.contains(" ").mean() > 0.5:
        return "text"
    return "categorical"


def _partial(df: pd.DataFrame, target: str | None) -> dict:
    df = canonical(df)
    cols = {}
    y = None
    if target is not None and pd.api.types.is_numeric_dtype(df[target]):
        y = pd.to_numeric(df[target], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    for name in df.columns:
        s = df[name]
        kind = _kind(s)
        entry = {"kind": kind, "n": int(len(s)), "missing": int(s.isna().sum())}
        if kind == "numeric":
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            ok = x[~np.isnan(x)]
            entry.update(
                sum=float(ok.sum()),
                sumsq=float((ok * ok).sum()),
                min=float(ok.min()) if len(ok) else None,
                max=float(ok.max()) if len(ok) else None,
                sketch=sketch(x),
                zeros=int((ok == 0).sum()),
                integer=bool(len(ok) and np.all(np.mod(ok, 1) == 0)),
            )
            if y is not None and name != target:
                both = ~np.isnan(x) & ~np.isnan(y)
                xb, yb = x[both], y[both]
                entry["xy"] = [
                    int(both.sum()),
                    float(xb.sum()),
                    float(yb.sum()),
                    float((xb * xb).sum()),
                    float((yb * yb).sum()),
                    float((xb * yb).sum()),
                ]
        found = counts(s) if kind != "numeric" else counts(s.round(6))
        entry["counts"] = sorted(found, key=lambda kv: -kv[1])[:MAX_TRACKED_CATEGORIES]
        entry["truncated"] = len(found) > MAX_TRACKED_CATEGORIES
        if target is not None and name != target and kind != "numeric":
            joint: dict[str, int] = {}
            for value, t in zip(
                s.astype(str).where(s.notna(), "<missing>"), df[target].astype(str), strict=True
            ):
                key = f"{value}\x1f{t}"
                joint[key] = joint.get(key, 0) + 1
            entry["joint"] = [[k, v] for k, v in joint.items()][: MAX_TRACKED_CATEGORIES * 4]
        cols[name] = entry
    hashes = np.unique(pd.util.hash_pandas_object(df, index=False).to_numpy())
    return {
        "rows": int(len(df)),
        "columns": cols,
        "hashes": base64.b64encode(hashes.tobytes()).decode(),
    }


def _merge(a: dict, b: dict) -> dict:
    out = {
        "rows": a["rows"] + b["rows"],
        "columns": {},
        "hashes": a["hashes_list"] + b["hashes_list"],
    }
    for name, x in a["columns"].items():
        y = b["columns"].get(name)
        if y is None:
            out["columns"][name] = x
            continue
        m = {
            "kind": x["kind"] if x["kind"] == y["kind"] else "categorical",
            "n": x["n"] + y["n"],
            "missing": x["missing"] + y["missing"],
        }
        if "sum" in x and "sum" in y:
            m.update(
                sum=x["sum"] + y["sum"],
                sumsq=x["sumsq"] + y["sumsq"],
                min=_opt(min, x["min"], y["min"]),
                max=_opt(max, x["max"], y["max"]),
                sketch=x["sketch"] + y["sketch"],
                zeros=x["zeros"] + y["zeros"],
                integer=x["integer"] and y["integer"],
            )
        if "xy" in x and "xy" in y:
            m["xy"] = [u + v for u, v in zip(x["xy"], y["xy"], strict=True)]
        merged = sorted(merge_counts(x["counts"], y["counts"]), key=lambda kv: -kv[1])
        m["counts"] = merged[:MAX_TRACKED_CATEGORIES]
        m["truncated"] = x["truncated"] or y["truncated"] or len(merged) > MAX_TRACKED_CATEGORIES
        if "joint" in x and "joint" in y:
            m["joint"] = merge_counts(x["joint"], y["joint"])
        out["columns"][name] = m
    out["hashes_list"] = out.pop("hashes")
    return out


def _opt(fn, u, v):
    present = [x for x in (u, v) if x is not None]
    return fn(present) if present else None


def _decode(part: dict) -> dict:
    part = dict(part)
    part["hashes_list"] = [part.pop("hashes")]
    return part


def profile(data, target: str | None = None) -> dict:
    """Profile a pandas DataFrame or a Ray Dataset. Raises DataError (empty), SpecError (target)."""
    local = isinstance(data, pd.DataFrame)
    columns = list(data.columns) if local else data.columns()
    if target is not None and target not in columns:
        available = ", ".join(map(str, columns))
        raise SpecError(f"target {target!r} not found; available columns: {available}")
    if local:
        parts = [_partial(data, target)] if len(data) else []
        sample = data.sample(min(len(data), SAMPLE_ROWS), random_state=0) if len(data) else data
    else:
        parts = collect(data, lambda b: _partial(b, target))
        sample = data.limit(SAMPLE_ROWS).to_pandas()
    parts = [p for p in parts if p["rows"]]
    if not parts:
        raise DataError("cannot profile an empty data set (0 rows)")
    merged = _decode(parts[0])
    for part in parts[1:]:
        merged = _merge(merged, _decode(part))
    return _finish(merged, target, canonical(sample))


def _finish(merged: dict, target: str | None, sample: pd.DataFrame) -> dict:
    rows = merged["rows"]
    hashes = np.concatenate(
        [np.frombuffer(base64.b64decode(h), dtype="uint64") for h in merged["hashes_list"]]
    )
    report = {
        "rows": rows,
        "columns": {},
        "duplicate_rows": int(rows - len(np.unique(hashes))) if len(hashes) else 0,
        "target": target,
        "warnings": [],
    }
    report["duplicate_rows"] = max(report["duplicate_rows"], 0)
    for name, c in merged["columns"].items():
        present = c["n"] - c["missing"]
        distinct = len(c["counts"])
        col = {
            "type": c["kind"],
            "missing": c["missing"],
            "missing_pct": round(100 * c["missing"] / c["n"], 3) if c["n"] else 0.0,
            "distinct": distinct,
            "distinct_is_lower_bound": c["truncated"],
            "top": [[k, v] for k, v in c["counts"][:TOP_CATEGORIES]],
        }
        if "sum" in c and present:
            mean = c["sum"] / present
            var = max(c["sumsq"] / present - mean * mean, 0.0)
            qs = {
                f"p{int(q * 100)}": quantile(c["sketch"], q) for q in (0.01, 0.25, 0.5, 0.75, 0.99)
            }
            col.update(
                min=c["min"], max=c["max"], mean=mean, std=math.sqrt(var), zeros=c["zeros"], **qs
            )
            col["histogram"] = _histogram(c["sketch"], c["min"], c["max"])
        report["columns"][name] = col
    if target is not None:
        report["target_analysis"] = _target_analysis(merged, target, rows)
        report["feature_importance"] = _quick_importance(sample, target)
    report["warnings"] = _warnings(report, merged)
    return report


def _histogram(sketch, lo, hi) -> dict:
    if lo is None or hi is None:
        return {"edges": [], "counts": []}
    if lo == hi:
        return {"edges": [lo, hi], "counts": [sum(w for _, w in sketch)]}
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    values = np.array([v for v, _ in sketch])
    weights = np.array([w for _, w in sketch])
    counts, _ = np.histogram(values, bins=edges, weights=weights)
    return {"edges": [float(e) for e in edges], "counts": [round(float(x), 2) for x in counts]}


def _target_analysis(merged: dict, target: str, rows: int) -> dict:
    out = {}
    tcol = merged["columns"][target]
    classes = tcol["counts"]
    if tcol["kind"] != "numeric" or len(classes) <= 20:
        out["classes"] = {k: v for k, v in classes}
    corr, mi = {}, {}
    for name, c in merged["columns"].items():
        if name == target:
            continue
        if "xy" in c and c["xy"][0] > 1:
            n, sx, sy, sxx, syy, sxy = c["xy"]
            cov = sxy / n - (sx / n) * (sy / n)
            vx, vy = sxx / n - (sx / n) ** 2, syy / n - (sy / n) ** 2
            if vx > 0 and vy > 0:
                corr[name] = round(cov / math.sqrt(vx * vy), 6)
        if "joint" in c:
            mi[name] = round(_mutual_information(c["joint"]), 6)
    out["correlation"] = dict(sorted(corr.items(), key=lambda kv: -abs(kv[1])))
    out["mutual_information"] = dict(sorted(mi.items(), key=lambda kv: -kv[1]))
    return out


def _mutual_information(joint: list[list]) -> float:
    """MI (nats) between a feature and the target, normalized by the target's entropy."""
    table: dict[tuple[str, str], int] = {}
    for key, n in joint:
        value, _, t = key.partition("\x1f")
        table[(value, t)] = n
    total = sum(table.values())
    px: dict[str, float] = {}
    py: dict[str, float] = {}
    for (x, y), n in table.items():
        px[x] = px.get(x, 0) + n / total
        py[y] = py.get(y, 0) + n / total
    mi = sum(
        n / total * math.log((n / total) / (px[x] * py[y])) for (x, y), n in table.items() if n
    )
    hy = -sum(p * math.log(p) for p in py.values() if p)
    return mi / hy if hy > 0 else 0.0


def _quick_importance(sample: pd.DataFrame, target: str) -> dict:
    """Importance from a ridge model on the sample: |standardized coefficient| per column."""
    y = sample[target]
    if not pd.api.types.is_numeric_dtype(y):
        y = (y.astype(str) == y.astype(str).mode().iloc[0]).astype(float)
    y = pd.to_numeric(y, errors="coerce")
    keep = y.notna()
    features, owners = [], []
    for name in sample.columns:
        if name == target:
            continue
        s = sample.loc[keep, name]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            x = pd.to_numeric(s, errors="coerce")
            features.append(x.fillna(x.median()).to_numpy(dtype="float64"))
            owners.append(name)
        else:
            top = s.astype(str).value_counts().head(10).index
            for value in top:
                features.append((s.astype(str) == value).to_numpy(dtype="float64"))
                owners.append(name)
    if not features or keep.sum() < 10:
        return {}
    X = np.column_stack(features)
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1)
    yv = y[keep].to_numpy(dtype="float64")
    yv = (yv - yv.mean()) / (yv.std() or 1)
    coef = np.linalg.solve(X.T @ X + 1.0 * np.eye(X.shape[1]), X.T @ yv)
    scores: dict[str, float] = {}
    for owner, w in zip(owners, np.abs(coef), strict=True):
        scores[owner] = scores.get(owner, 0.0) + float(w)
    total = sum(scores.values()) or 1.0
    return dict(
        sorted(((k, round(v / total, 6)) for k, v in scores.items()), key=lambda kv: -kv[1])
    )


def _warnings(report: dict, merged: dict) -> list[dict]:
    out = []
    rows = report["rows"]
    target = report["target"]
    for name, col in report["columns"].items():
        if col["distinct"] <= 1 and not col["distinct_is_lower_bound"]:
            out.append(
                {"kind": "constant", "column": name, "message": f"{name} has a single value"}
            )
        elif (
            name != target
            and rows >= 20
            and col["distinct"] >= 0.95 * (rows - col["missing"])
            and (col["type"] in ("categorical", "text") or merged["columns"][name].get("integer"))
        ):
            out.append(
                {
                    "kind": "id_like",
                    "column": name,
                    "message": f"{name} is unique per row (an ID?): it cannot generalize",
                }
            )
        if col["missing_pct"] > 50:
            out.append(
                {
                    "kind": "mostly_missing",
                    "column": name,
                    "message": f"{name} is {col['missing_pct']:.0f}% missing",
                }
            )
    if report["duplicate_rows"]:
        pct = 100 * report["duplicate_rows"] / rows
        out.append(
            {
                "kind": "duplicates",
                "column": None,
                "message": f"{report['duplicate_rows']} duplicate rows ({pct:.1f}%)",
            }
        )
    analysis = report.get("target_analysis") or {}
    for name, r in analysis.get("correlation", {}).items():
        if abs(r) >= 0.95:
            out.append(
                {
                    "kind": "target_leakage",
                    "column": name,
                    "message": f"{name} correlates {r:+.3f} with {target}: likely leakage",
                }
            )
    for name, m in analysis.get("mutual_information", {}).items():
        id_like = any(w["kind"] == "id_like" and w["column"] == name for w in out)
        if m >= 0.9 and not id_like:
            out.append(
                {
                    "kind": "target_leakage",
                    "column": name,
                    "message": f"{name} almost determines {target} (normalized MI {m:.2f})",
                }
            )
    classes = analysis.get("classes")
    if classes and len(classes) >= 2:
        share = min(classes.values()) / sum(classes.values())
        if share < 0.1:
            out.append(
                {
                    "kind": "imbalance",
                    "column": target,
                    "message": f"{target}: the rarest class is {100 * share:.1f}% of rows",
                }
            )
    return out


def profile_source(
    store,
    settings,
    uri: str,
    *,
    target: str | None = None,
    name: str | None = None,
    use_ray: bool = True,
    **read_options,
) -> dict:
    """Profile the data at ``uri`` and save ``profiles/<name>/profile.{json,html}`` in the store.

    Returns ``{"report": ..., "json": uri, "html": uri}``. Raises DataError, SpecError.
    """
    import time

    from raymaker.data.readers import read_dataset, read_frame, resolve
    from raymaker.data.report import render_html
    from raymaker.specs.base import check_name
    from raymaker.storage import join, layout

    source = resolve(store, uri, **read_options)
    if use_ray:
        from raymaker.cluster import connect

        connect(settings)
        report = profile(read_dataset(source), target)
    else:
        report = profile(read_frame(source), target)
    report["source"] = uri
    name = check_name(name or f"profile-{time.strftime('%Y%m%d-%H%M%S')}")
    prefix = join(layout.PROFILES, name)
    json_uri = store.write_text(join(prefix, "profile.json"), json.dumps(report, indent=2))
    page = render_html(report, title=f"Data profile: {uri}")
    html_uri = store.write_text(join(prefix, "profile.html"), page)
    return {"report": report, "json": json_uri, "html": html_uri, "name": name}
