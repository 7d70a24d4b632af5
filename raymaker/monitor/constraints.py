"""``constraints.json`` suggested from a baseline, and ``constraint_violations.json`` from a
window's statistics checked against it, with SageMaker's check types:

=========================  ==============================================================
check                      violated when
=========================  ==============================================================
``missing_column_check``   a baseline feature is not in the window
``extra_column_check``     the window has a feature the baseline has not
``data_type_check``        the share of present values of the baseline's type (a number
                           counts as Fractional; a String column takes anything) is below
                           ``datatype_check_threshold``
``completeness_check``     the share of present values is below the feature's
                           ``completeness`` (the baseline's)
``non_negative_check``     ``is_non_negative`` and a value below 0
``categorical_values_check``  the share of values in ``string_constraints.domains`` is below
                           ``domain_content_threshold``
``baseline_drift_check``   the feature's drift method says so (SageMaker's distance by
                           default, ``comparison_threshold``; ``comparison_method`` Robust
                           or Simple)
=========================  ==============================================================

Thresholds and methods are set for all features in ``monitoring_config`` and per feature in
its ``monitoringConfigOverrides`` (any of ``raymaker.specs.monitor.OVERRIDES``; raymaker's
own: ``drift_method``, a name in ``raymaker.monitor.drift.METHODS`` or ``auto``, and
``drift_threshold`` for it).
"""

from __future__ import annotations

from raymaker.monitor import drift
from raymaker.monitor.stats import FRACTIONAL, INTEGRAL, STRING, UNKNOWN, common

MAX_DOMAIN = 20  # string_constraints.domains only for columns of up to this many values
DEFAULT_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}


def suggest(statistics: dict) -> dict:
    """The constraints SageMaker's analyzer suggests for a baseline's statistics."""
    features = []
    for f in statistics["features"]:
        c = common(f)
        total = c["num_present"] + c["num_missing"]
        entry: dict = {
            "name": f["name"],
            "inferred_type": f["inferred_type"],
            "completeness": round(c["num_present"] / total, 6) if total else 0.0,
        }
        if "numerical_statistics" in f:
            entry["num_constraints"] = {"is_non_negative": f["numerical_statistics"]["min"] >= 0}
        elif "string_statistics" in f:
            values = [b["value"] for b in _buckets(f)]
            if 0 < len(values) <= MAX_DOMAIN and not f.get("value_counts"):
                entry["string_constraints"] = {"domains": sorted(values)}
        features.append(entry)
    return {"version": 0.0, "features": features, "monitoring_config": DEFAULT_CONFIG}


def check(baseline: dict, constraints: dict, current: dict) -> tuple[list[dict], dict]:
    """``(violations, drift)``: the violations of ``current`` (a window's statistics.json)
    against the baseline's statistics and constraints, SageMaker's ``{"feature_name",
    "constraint_check_type", "description"}`` each, and every compared feature's drift
    figures (method, statistic, threshold, verdict) by name."""
    config = {**DEFAULT_CONFIG, **(constraints.get("monitoring_config") or {})}
    dist = {**DEFAULT_CONFIG["distribution_constraints"], **config["distribution_constraints"]}
    base_features = {f["name"]: f for f in baseline.get("features", [])}
    rules = {f["name"]: f for f in constraints.get("features", [])}
    now = {f["name"]: f for f in current.get("features", [])}
    out: list[dict] = []
    drifts: dict[str, dict] = {}

    def violation(name: str, check_type: str, description: str, **extra) -> None:
        out.append(
            {
                "feature_name": name,
                "constraint_check_type": check_type,
                "description": description,
                **extra,
            }
        )

    for name in [*rules, *(n for n in base_features if n not in rules)]:
        if name not in now:
            violation(
                name,
                "missing_column_check",
                f"Baseline feature {name!r} is missing from the analysed data.",
            )
    for name in now:
        if name not in rules and name not in base_features:
            violation(
                name,
                "extra_column_check",
                f"Feature {name!r} is in the analysed data but not in the baseline.",
            )
    if config.get("evaluate_constraints", "Enabled") != "Enabled":
        return out, drifts
    for name, rule in rules.items():
        feature = now.get(name)
        if feature is None:
            continue
        over = {**config, **dist, **(rule.get("monitoringConfigOverrides") or {})}
        present, missing = common(feature)["num_present"], common(feature)["num_missing"]
        _type_check(violation, name, rule.get("inferred_type"), feature, present, over)
        completeness = present / (present + missing) if present + missing else 1.0
        if rule.get("completeness") is not None and completeness < rule["completeness"] - 1e-9:
            violation(
                name,
                "completeness_check",
                f"Data completeness {completeness:.4g} is below the baseline's "
                f"{rule['completeness']:.4g}.",
                value=completeness,
            )
        if (rule.get("num_constraints") or {}).get("is_non_negative"):
            low = feature.get("numerical_statistics", {}).get("min", 0.0)
            if present and low < 0:
                violation(
                    name,
                    "non_negative_check",
                    f"Minimum {low:.6g} is negative; the baseline has none.",
                )
        domain = (rule.get("string_constraints") or {}).get("domains")
        if domain:
            _domain_check(violation, name, domain, feature, over)
        if over.get("perform_comparison", "Enabled") == "Enabled" and name in base_features:
            found = _drift_check(violation, name, base_features[name], feature, over)
            if found:
                drifts[name] = found
    return out, drifts


def _type_check(violation, name, expected, feature, present, over) -> None:
    if not present or expected in (None, STRING, UNKNOWN):
        return
    types = feature.get("type_counts") or {}
    good = types.get(INTEGRAL, 0) + (types.get(FRACTIONAL, 0) if expected == FRACTIONAL else 0)
    share = good / present
    threshold = float(over["datatype_check_threshold"])
    if share < threshold - 1e-9:
        seen = ", ".join(f"{k} {v}" for k, v in types.items() if v)
        violation(
            name,
            "data_type_check",
            f"{share:.4g} of values are {expected} (threshold {threshold:g}); seen: {seen}.",
            value=share,
        )


def _domain_check(violation, name, domain, feature, over) -> None:
    from raymaker.monitor.stats import category_counts

    counts = category_counts(feature)
    total = sum(counts.values())
    if not total:
        return
    allowed = {str(v) for v in domain}
    unknown = {v: n for v, n in counts.items() if v not in allowed}
    share = 1 - sum(unknown.values()) / total
    threshold = float(over["domain_content_threshold"])
    if share < threshold - 1e-9:
        shown = ", ".join(repr(v) for v in sorted(unknown, key=lambda v: -unknown[v])[:5])
        violation(
            name,
            "categorical_values_check",
            f"{share:.4g} of values are in the baseline's domain (threshold "
            f"{threshold:g}); new values: {shown}.",
            value=share,
        )


def _drift_check(violation, name, base, feature, over) -> dict | None:
    string = "string_statistics" in base
    method = over.get("drift_method")
    if not method:
        chi = string and over.get("categorical_drift_method") == "ChiSquared"
        method = "chisquare" if chi else "linf"
    if method == "linf":
        threshold = over["categorical_comparison_threshold" if string else "comparison_threshold"]
    else:
        threshold = over.get("drift_threshold")  # None: the method's own default
    robust = over.get("comparison_method") == "Robust"
    result = drift.compare(method, base, feature, threshold, robust=robust)
    if result is None:
        return None
    if result.drifted:
        what = "p-value" if result.method in drift.P_VALUE_METHODS else "distance"
        violation(
            name,
            "baseline_drift_check",
            f"Baseline drift {what} ({result.method}): {result.statistic:.4g} "
            f"{'is below' if what == 'p-value' else 'exceeds'} the threshold "
            f"{result.threshold:g}.",
            drift=result.to_dict(),
        )
    return result.to_dict()


def _buckets(feature: dict) -> list[dict]:
    return (
        feature.get("string_statistics", {})
        .get("distribution", {})
        .get("categorical", {})
        .get("buckets", [])
    )
