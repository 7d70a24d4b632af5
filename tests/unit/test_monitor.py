"""Model Monitor without Ray: statistics, constraints, violations, drift methods, capture
windows, schedules' due runs and the specs' errors."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from raymaker.errors import SpecError
from raymaker.monitor import capture, drift, schedules
from raymaker.monitor.constraints import check, suggest
from raymaker.monitor.stats import Statistics
from raymaker.serve.capture import capture_key, record
from raymaker.specs import parse_spec
from raymaker.specs.cron import parse_schedule
from raymaker.specs.monitor import MonitoringSchedule, offset_seconds


def frame(n, seed=0, shift=0.0, new_value=False, drop=None):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50, 10, n) + shift,
        "city": rng.choice(["a", "b", "c"], n),
    })  # fmt: skip
    if new_value:
        df.loc[: n // 4, "city"] = "zz"
    return df.drop(columns=[drop]) if drop else df


def current(base, df):
    types = {f["name"]: f["inferred_type"] for f in base["features"]}
    return Statistics().add(df).to_json(types)


@pytest.fixture(scope="module")
def baseline():
    return Statistics().add(frame(4000)).to_json()


def test_statistics_have_sagemakers_shape(baseline):
    by = {f["name"]: f for f in baseline["features"]}
    assert baseline["dataset"]["item_count"] == 4000
    assert by["age"]["inferred_type"] == "Integral"
    assert by["income"]["inferred_type"] == "Fractional"
    assert by["city"]["inferred_type"] == "String"
    num = by["income"]["numerical_statistics"]
    assert num["common"] == {"num_present": 4000, "num_missing": 0}
    kll = num["distribution"]["kll"]
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    # the sketch's levels weigh 2**level each: together they count every row
    assert sum(len(level) * 2**i for i, level in enumerate(kll["sketch"]["data"])) == 4000
    assert sum(b["count"] for b in kll["buckets"]) == pytest.approx(4000)
    assert num["mean"] == pytest.approx(50, abs=1)
    cats = by["city"]["string_statistics"]
    assert cats["distinct_count"] == 3
    assert {b["value"] for b in cats["distribution"]["categorical"]["buckets"]} == {"a", "b", "c"}


def test_batches_merge_to_the_whole():
    df = frame(3000, seed=3)
    whole = Statistics().add(df).to_json()
    parts = Statistics().add(df.iloc[:1000])
    parts.merge(Statistics().add(df.iloc[1000:]))
    merged = parts.to_json()
    for a, b in zip(whole["features"], merged["features"], strict=True):
        assert a["inferred_type"] == b["inferred_type"]
        if "numerical_statistics" in a:
            for key in ("mean", "sum", "min", "max"):
                assert a["numerical_statistics"][key] == pytest.approx(
                    b["numerical_statistics"][key]
                )


def test_missing_values_and_types_are_counted():
    df = pd.DataFrame({"x": ["1", "2", "", None, "abc"], "y": [1.5, None, 2.0, 3.0, 4.0]})
    stats = {f["name"]: f for f in Statistics().add(df).to_json()["features"]}
    assert stats["x"]["inferred_type"] == "String"
    assert stats["x"]["string_statistics"]["common"] == {"num_present": 3, "num_missing": 2}
    assert stats["x"]["type_counts"] == {"Integral": 2, "Fractional": 0, "String": 1}
    assert stats["y"]["numerical_statistics"]["common"]["num_missing"] == 1


def test_suggested_constraints(baseline):
    rules = {f["name"]: f for f in suggest(baseline)["features"]}
    assert rules["age"]["num_constraints"] == {"is_non_negative": True}
    assert rules["income"]["completeness"] == 1.0
    assert rules["city"]["string_constraints"] == {"domains": ["a", "b", "c"]}
    config = suggest(baseline)["monitoring_config"]
    assert config["distribution_constraints"]["comparison_method"] == "Robust"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, set()),
        ({"shift": 8.0}, {("income", "baseline_drift_check")}),
        ({"new_value": True}, {("city", "categorical_values_check"),
                               ("city", "baseline_drift_check")}),
        ({"drop": "age"}, {("age", "missing_column_check")}),
    ],
)  # fmt: skip
def test_violations_name_the_feature_that_changed(baseline, change, expected):
    found, figures = check(baseline, suggest(baseline), current(baseline, frame(2000, 7, **change)))
    assert {(v["feature_name"], v["constraint_check_type"]) for v in found} == expected
    assert set(figures) <= {"age", "income", "city"}


def test_extra_column_type_completeness_and_sign_checks(baseline):
    df = frame(500, 4)
    df["extra"] = 1
    df["age"] = df["age"].astype(str)
    df.loc[:9, "age"] = "unknown"
    df.loc[10:99, "income"] = None
    df.loc[100:, "income"] = -df.loc[100:, "income"]
    found = {(v["feature_name"], v["constraint_check_type"])
             for v in check(baseline, suggest(baseline), current(baseline, df))[0]}  # fmt: skip
    assert {("extra", "extra_column_check"), ("age", "data_type_check"),
            ("income", "completeness_check"), ("income", "non_negative_check")} <= found  # fmt: skip


def test_per_feature_overrides_change_the_verdict(baseline):
    rules = suggest(baseline)
    shifted = current(baseline, frame(2000, 7, shift=8.0))
    for f in rules["features"]:
        if f["name"] == "income":
            f["monitoringConfigOverrides"] = {"comparison_threshold": 0.99}
    found = check(baseline, rules, shifted)[0]
    assert not [v for v in found if v["constraint_check_type"] == "baseline_drift_check"]
    for f in rules["features"]:
        if f["name"] == "income":
            f["monitoringConfigOverrides"] = {"drift_method": "ks"}
    found, figures = check(baseline, rules, shifted)
    assert figures["income"]["method"] == "ks" and figures["income"]["drifted"]


@pytest.mark.parametrize("method", [*drift.METHODS, "auto"])
def test_every_drift_method_sees_a_shift_and_passes_the_same_data(baseline, method):
    base = {f["name"]: f for f in baseline["features"]}
    same = {f["name"]: f for f in current(baseline, frame(3000, 11))["features"]}
    moved = {f["name"]: f for f in current(baseline, frame(3000, 11, shift=10.0))["features"]}
    assert not drift.compare(method, base["income"], same["income"]).drifted
    assert drift.compare(method, base["income"], moved["income"]).drifted


def test_auto_chooses_as_evidently_does():
    small = {f["name"]: f for f in Statistics().add(frame(300)).to_json()["features"]}
    large = {f["name"]: f for f in Statistics().add(frame(5000)).to_json()["features"]}
    assert drift.choose(small["income"]) == "ks"
    assert drift.choose(small["city"]) == "chisquare"
    assert drift.choose(large["income"]) == "wasserstein"
    assert drift.choose(large["city"]) == "jensenshannon"


def test_an_unknown_drift_method_is_named_with_a_suggestion(baseline):
    f = baseline["features"][1]
    with pytest.raises(SpecError, match="did you mean 'wasserstein'"):
        drift.compare("wasserstien", f, f)


def test_capture_window_reads_csv_and_json_bodies_by_inference_time(tmp_path):
    from raymaker.storage import open_store

    store = open_store(str(tmp_path))
    now = time.time()
    recs = [
        record("text/csv", b"30,51.5,a\n40,49.0,b", "text/csv", b"0.1\n0.2",
               inference_id="r1", now=now - 5),
        record("application/json", json.dumps({"instances": [[50, 48.0, "c"]]}).encode(),
               "application/json", b'{"predictions": [0.9]}', now=now - 5),
        record("text/csv", b"20,40,a", "text/csv", b"0.3", now=now - 7200),
    ]  # fmt: skip
    key = capture_key("capture", "ep", "AllTraffic", now - 5)
    store.write_text(key, "".join(json.dumps(r) + "\n" for r in recs))
    keys = capture.window_keys(store, "capture/ep/AllTraffic", now - 60, now)
    frames = list(capture.read_window(store, keys, now - 60, now, ["age", "income", "city"]))
    df = pd.concat(frames)
    assert list(df["age"]) == [30, 40, 50]
    assert list(df["city"]) == ["a", "b", "c"]
    assert list(df["prediction"]) == [0.1, 0.2, 0.9]
    assert list(df["inferenceId"].fillna("")) == ["r1", "r1", ""]


def test_schedule_expressions():
    assert parse_schedule("cron(0 * ? * * *)").next_after(3599.0, 0.0) == 3600.0
    assert parse_schedule("rate(30 seconds)").next_after(65.0, 5.0) == 95.0
    assert parse_schedule("NOW").next_after(0.0, 10.0) == 10.0
    for bad in ("hourly", "cron(0 * *)", "rate(0 minutes)"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
    assert offset_seconds("-PT1H") == -3600 and offset_seconds("PT30M") == 1800


def test_a_missed_run_is_due_once(tmp_path):
    from raymaker.storage import open_store

    store = open_store(str(tmp_path))
    spec = MonitoringSchedule(name="m", endpoint="ep", baseline_statistics="s.json",
                              schedule_cron_expression="rate(60 seconds)")  # fmt: skip
    state = schedules.apply(store, spec, now=1000.0)
    assert schedules.due(state, 1030.0) == 1000.0  # a rate's first run is at its creation
    state.last_scheduled = 1000.0
    assert schedules.due(state, 1030.0) is None
    assert schedules.due(state, 1060.0) == 1060.0
    state.last_scheduled = 1060.0
    # the head was down for ten intervals: one run, the latest
    assert schedules.due(state, 1700.0) == 1660.0
    name, execution = schedules.execution_spec(state, 1660.0)
    assert (execution.start, execution.end) == (1600.0, 1660.0)
    assert name.startswith("m-19700101-")
    state.status = schedules.STOPPED
    assert schedules.due(state, 5000.0) is None


def test_schedule_specs_name_their_errors():
    base = {"kind": "MonitoringSchedule", "name": "m", "baseline_statistics": "s.json"}
    with pytest.raises(SpecError, match="exactly one of endpoint"):
        parse_spec(base)
    with pytest.raises(SpecError, match="schedule_cron_expression"):
        parse_spec({**base, "endpoint": "e", "schedule_cron_expression": "hourly"})
    with pytest.raises(SpecError, match="did you mean 'comparison_threshold'"):
        parse_spec({**base, "endpoint": "e", "overrides": {"x": {"comparison_treshold": 1}}})
    with pytest.raises(SpecError, match="baseline_statistics and/or baseline_constraints"):
        parse_spec({"kind": "MonitoringSchedule", "name": "m", "endpoint": "e"})


def test_model_quality_specs_name_what_they_lack():
    base = {"kind": "MonitoringSchedule", "name": "m", "endpoint": "e",
            "baseline_constraints": "c.json", "monitor_type": "ModelQuality"}  # fmt: skip
    with pytest.raises(SpecError, match="needs problem_type"):
        parse_spec(base)
    with pytest.raises(SpecError, match="needs ground_truth_uri"):
        parse_spec({**base, "problem_type": "Regression"})
    with pytest.raises(SpecError, match="webhook"):
        parse_spec({**base, "problem_type": "Regression", "ground_truth_uri": "gt",
                    "webhook": "ftp://x"})  # fmt: skip
    with pytest.raises(SpecError, match="ground_truth_attribute"):
        parse_spec({"kind": "BaselineJob", "monitor_type": "ModelQuality",
                    "problem_type": "Regression", "dataset": {"uri": "d.csv"}})  # fmt: skip


def test_the_example_alert_rules_name_the_gauges_the_scheduler_sets():
    import os
    import re

    import yaml

    from raymaker.monitor.gauges import GAUGES

    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    with open(os.path.join(root, "cluster", "prometheus", "monitor-alerts.yaml")) as f:
        rules = yaml.safe_load(f)["groups"][0]["rules"]
    for rule in rules:
        (metric,) = re.findall(r"ray_(raymaker_monitor_\w+)", rule["expr"])
        assert metric in GAUGES, rule["alert"]
